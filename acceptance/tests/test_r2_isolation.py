"""Security 2: Isolation - one user cannot reach another's server, files or API, a non-admin
cannot use the admin panel or API, user containers are unprivileged and cannot reach Docker or
the hub's state, and only the proxy is published, on 127.0.0.1."""
import json

import pytest
from playwright.sync_api import expect

from acceptance import probes
from acceptance.client.accounts import hub_user
from acceptance.client.pages import LoginPage
from acceptance.deployments.compose import compose_config

pytestmark = pytest.mark.r2
SECRET_FILE, SECRET = "alice-private.txt", "alice's private numbers: 4 8 15 16 23 42"
HUB_STATE_FILES = ("jupyterhub.sqlite", "jupyterhub_cookie_secret", "proxy_auth_token")


@pytest.fixture(scope="session")
def alice(stack, run_users, admin_api):
    with hub_user(stack.hub_url, run_users.name("alice"), approver=admin_api, ca_bundle=stack.ca_bundle) as user:
        yield user


@pytest.fixture(scope="session")
def bob(stack, run_users, admin_api):
    with hub_user(stack.hub_url, run_users.name("bob"), approver=admin_api, ca_bundle=stack.ca_bundle) as user:
        yield user


@pytest.fixture
def alice_server(servers, alice, expected):
    """Alice's running default server with a private file in her home."""
    server = servers.start(alice.name, "", expected.profiles[0])
    servers.write_home_file(alice.name, "", SECRET_FILE, SECRET)
    return server


def refused(status: int, asked: str, landed: str, owner: str) -> bool:
    """Whether an attempt at the owner's things was refused: 403 or 404 (JupyterHub 6.1.1's API answers 404 where
    the caller may act on some users but not this one, 403 where on none); an attempt at the owner's server
    (`asked` under /user/<owner>/) also when, redirects followed, it `landed` on a page that is not the owner's.
    Anything else, 2xx at the hub API above all, got through."""
    if status in (403, 404):
        return True
    if f"/user/{owner}/" not in asked:   # the hub API (/hub/api/users/<owner>...): only 403/404 refuses
        return False
    return status < 400 and f"/user/{owner}/" not in landed  # (a hub under a prefix too)


def test_another_user_cannot_reach_a_users_server_files_or_api(alice, bob, alice_server, servers, tally, evidence):
    """With his own token and session, Bob is refused at each of Alice's server, files, tokens and API."""
    token, cookie, a = bob.api.http, bob.session.http, alice.name
    attempts = {
        "read Alice's file (token)": lambda: token.get(f"/user/{a}/api/contents/{SECRET_FILE}"),
        "read Alice's file (session)": lambda: cookie.get(f"/user/{a}/files/{SECRET_FILE}", follow_redirects=True),
        "write into Alice's home": lambda: token.put(f"/user/{a}/api/contents/planted.txt",
                                                     json={"type": "file", "format": "text", "content": "x"}),
        "open Alice's Lab (session)": lambda: cookie.get(f"/user/{a}/lab", follow_redirects=True),
        "run code in Alice's kernels": lambda: token.post(f"/user/{a}/api/kernels", json={}),
        "read Alice's user record": lambda: token.get(f"/hub/api/users/{a}"),
        "start a server as Alice": lambda: token.post(f"/hub/api/users/{a}/servers/evil", json={}),
        "stop Alice's server": lambda: token.delete(f"/hub/api/users/{a}/server"),
        "list Alice's tokens": lambda: token.get(f"/hub/api/users/{a}/tokens"),
        "make a token for Alice": lambda: token.post(f"/hub/api/users/{a}/tokens", json={"note": "stolen"}),
    }
    let_through = {}
    for what, attempt in attempts.items():
        response = attempt()
        evidence.fact(what, f"HTTP {response.status_code} at {response.url.path}")
        asked = (response.history[0] if response.history else response).request.url.path
        if refused(response.status_code, asked, response.url.path, a) and SECRET not in response.text:
            tally("cross-user attempts refused")
        else:
            let_through[what] = response.status_code
    assert not let_through, f"Bob got through: {let_through}"
    assert servers.home_file(a, "", "planted.txt") is None, "Bob planted a file in Alice's home"
    assert servers.api.server(a, "")["ready"], "Bob's attempts stopped Alice's server"
    assert servers.api.server(a, "evil") is None


def test_another_user_in_the_browser_sees_no_server_of_anothers(stack, alice, bob, alice_server, page, tally,
                                                                evidence):
    """Bob, logged in in the browser, opening Alice's Lab URL gets an error page, not her Lab."""
    LoginPage(page).open().log_in(bob.name, bob.password)
    response = page.goto(f"user/{alice.name}/lab")
    evidence.screenshot(page, "Bob at Alice's URL")
    evidence.fact("landed on", f"{page.url} (HTTP {response.status})")
    assert response.status == 403 or f"/user/{alice.name}/" not in page.url, f"Bob reached {page.url}"
    expect(page.locator("#jp-main-dock-panel")).to_have_count(0)
    tally("cross-user attempts refused")


def test_a_non_admin_gets_403_on_the_admin_panel_and_admin_api(alice, bob, run_users, tally, evidence):
    """Bob (not an admin) gets 403 from the admin panel, the user list, user creation and /hub/authorize."""
    token, cookie = bob.api.http, bob.session.http
    attempts = {
        "admin panel /hub/admin": lambda: cookie.get("/hub/admin"),
        "list users": lambda: token.get("/hub/api/users"),
        "create a user": lambda: token.post("/hub/api/users", json={"usernames": [run_users.name("mallory")]}),
        "make himself admin": lambda: token.patch(f"/hub/api/users/{bob.name}", json={"admin": True}),
        "authorization area /hub/authorize": lambda: cookie.get("/hub/authorize"),
        "change Alice's password": lambda: cookie.get(f"/hub/change-password/{alice.name}"),
    }
    statuses = {what: attempt().status_code for what, attempt in attempts.items()}
    for what, status in statuses.items():
        evidence.fact(what, f"HTTP {status}")
    tally("cross-user attempts refused", sum(status == 403 for status in statuses.values()))
    assert statuses == dict.fromkeys(attempts, 403)


def test_user_containers_are_unprivileged_without_docker_or_hub_state(stack, alice_server, evidence):
    """Alice's container: non-root, no-new-privileges, no capabilities, only her home mounted, no Docker
    socket or API, no hub database or secrets."""
    stack.require_docker("Alice's container")
    container = alice_server.container
    host = container.attrs["HostConfig"]
    mounts = [m["Destination"] for m in container.attrs["Mounts"]]
    evidence.fact("docker inspect", f"User={container.attrs['Config']['User']!r} Privileged={host['Privileged']} "
                                    f"SecurityOpt={host['SecurityOpt']} CapDrop={host['CapDrop']} mounts={mounts}")
    assert host["Privileged"] is False
    assert "no-new-privileges" in (host["SecurityOpt"] or []), f"SecurityOpt {host['SecurityOpt']}"
    assert [c.upper() for c in host["CapDrop"] or []] in (["ALL"], ["CAP_ALL"]), f"CapDrop {host['CapDrop']}"
    assert mounts == ["/home/nebula"], f"mounts: {mounts}"

    [network] = container.attrs["NetworkSettings"]["Networks"].values()
    gateway = network["Gateway"]
    result = container.exec_run(["python3", "-c", probes.source("isolation"), json.dumps(HUB_STATE_FILES),
                                 gateway, "hub"])
    out = result.output.decode()
    evidence.text("inside the container", out)
    assert result.exit_code == 0, out
    facts = dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)
    assert facts["uid"] != "0", "the user's server runs as root"
    assert facts["NoNewPrivs"] == "1"
    assert int(facts["CapEff"], 16) == 0, f"effective capabilities {facts['CapEff']}"
    assert facts["docker.sock"] == "False", "the Docker socket is inside the user's container"
    assert facts["DOCKER_HOST"] == "False"
    reachable = [k for k, v in facts.items() if k.startswith("tcp ") and v == "True"]
    assert not reachable, f"a Docker API port answers from the user's container: {reachable}"
    assert facts["hub state files"] == "[]", f"hub state visible to the user: {facts['hub state files']}"


def test_only_the_proxy_is_published_on_loopback(stack, alice_server, evidence):
    """The hub publishes only port 8000, on 127.0.0.1 (also by the compose file's default); the hub API
    port 8081 and the user servers are not published."""
    bindings = stack.hub().attrs["HostConfig"]["PortBindings"] or {}
    evidence.fact("hub ports", {k: [(b["HostIp"], b["HostPort"]) for b in v] for k, v in bindings.items()})
    assert list(bindings) == ["8000/tcp"], f"the hub publishes {list(bindings)}"
    assert {b["HostIp"] for b in bindings["8000/tcp"]} == {"127.0.0.1"}
    if stack.own:   # the compose file's default is this checkout's: only for the stack started from it
        default = compose_config()["services"]["hub"]["ports"]
        evidence.fact("compose default", [(p["host_ip"], p["published"], p["target"]) for p in default])
        assert [(p["host_ip"], p["target"]) for p in default] == [("127.0.0.1", 8000)]
    published = {c.name: c.attrs["HostConfig"]["PortBindings"] for c in stack.user_containers()
                 if c.attrs["HostConfig"]["PortBindings"]}
    assert not published, f"user containers publish ports: {published}"
