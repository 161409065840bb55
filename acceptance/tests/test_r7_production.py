"""Production (R7): what the production stack (stack/production/, `--stack production`) does beyond the compose
one: TLS at the proxy, PostgreSQL that keeps the hub's state, the idle culler, metrics behind a token, and user
containers hardened further. Expected values: the expected state's `stacks: production: production`."""
from __future__ import annotations

import json
import re
import socket
import ssl
import time
from urllib.parse import urlparse

import httpx
import pytest

from acceptance import probes
from acceptance.client.accounts import hub_user, sign_up
from acceptance.client.hub_api import HubAPI, HubSession, tls_verify, websocket_handshake
from acceptance.client.polling import wait_for
from acceptance.client.servers import Servers, read_offered_profiles
from acceptance.deployments.production import ProductionRun
from acceptance.load.metrics import summed_by
from acceptance.settings import Timeouts
from acceptance.tests.flows import another_stack_of

pytestmark = [pytest.mark.r7, pytest.mark.production]


@pytest.fixture(scope="session")
def prod(expected) -> dict:
    return expected.data["stacks"]["production"]["production"]


@pytest.fixture(scope="session")
def production_stack(stack) -> ProductionRun:
    """The run's stack as the production stack it is, with what only that kind has (its proxy, database,
    scripts): R7 runs on no other (its `production` marker)."""
    if not isinstance(stack, ProductionRun):
        pytest.skip(f"R7 checks the production stack (--stack production), not {type(stack).__name__}")
    return stack


@pytest.fixture(scope="session")
def paula(stack, run_users, admin_api):
    """A user of the production stack (approved by the admin), with a session and a token."""
    with hub_user(stack.hub_url, run_users.name("paula7"), approver=admin_api, ca_bundle=stack.ca_bundle) as user:
        yield user


def metrics(stack, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return httpx.get(f"{stack.hub_url}/hub/metrics", headers=headers, verify=tls_verify(stack.ca_bundle),
                     timeout=Timeouts.http)


def samples(text: str, name: str) -> dict[str, float]:
    """{le: value} of the metric `name` (summed over reasons and statuses for the same `le`; "" without one)."""
    return summed_by(text, name, "le")


# --- TLS -------------------------------------------------------------------------------------------
def test_the_proxy_serves_the_certificate_in_its_volume_and_only_it_is_published(production_stack, expected, evidence):
    """The certificate served on the HTTPS port is the one in the proxy's TLS volume (verified with it, for
    127.0.0.1), and no other container of the stack publishes a port."""
    url = urlparse(production_stack.hub_url)
    context = ssl.create_default_context(cafile=str(production_stack.ca_bundle))
    with socket.create_connection((url.hostname, url.port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=url.hostname) as tls:
        served = ssl.DER_cert_to_PEM_cert(tls.getpeercert(binary_form=True))
    stored = production_stack.proxy().exec_run(["cat", "/etc/nginx/tls/tls.crt"]).output.decode()
    evidence.fact("certificate", f"verified for {url.hostname} with the proxy volume's certificate")
    assert served.strip() == stored.strip(), "the proxy serves a certificate other than its volume's"
    published = {c.name: c.attrs["HostConfig"]["PortBindings"] for c in production_stack.containers()
                 if c.attrs["HostConfig"].get("PortBindings")}
    evidence.fact("containers publishing ports", sorted(published))
    assert sorted(published) == [expected.name("proxy_container", prefix=production_stack.prefix)], published


def test_http_redirects_to_https_and_https_sends_hsts(production_stack, prod, evidence):
    """http:// answers with a permanent redirect to the same path over https://; the https:// pages carry
    Strict-Transport-Security with a max-age of at least the expected one."""
    r = httpx.get(f"http://127.0.0.1:{production_stack.http_port}/hub/login?x=1", timeout=Timeouts.http)
    evidence.fact("http://…/hub/login?x=1", f"HTTP {r.status_code} -> {r.headers.get('location')}")
    assert r.status_code == prod["http_redirect"]
    assert r.headers["location"] == f"{production_stack.hub_url}/hub/login?x=1"
    with HubSession(production_stack.hub_url, production_stack.ca_bundle) as session:
        hsts = session.http.get("/hub/login").headers.get("strict-transport-security", "")
    evidence.fact("Strict-Transport-Security", hsts)
    m = re.search(r"max-age=(\d+)", hsts)
    assert m and int(m.group(1)) >= prod["hsts_min_max_age"], f"HSTS {hsts!r}"


def test_login_cookies_are_secure_and_httponly(stack, paula, prod, evidence):
    """The cookies a login sets (session id, hub login) are Secure and HttpOnly: the hub knows it is
    served over https behind the proxies."""
    with HubSession(stack.hub_url, stack.ca_bundle) as session:
        response = session.post_login(paula.name, paula.password)
    cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
    for name in prod["login_cookies"]:
        evidence.fact(name, re.sub(r"=[^;]*", "=…", cookies.get(name, "not set"), count=1))
    for name in prod["login_cookies"]:
        assert name in cookies, f"the login set no {name} cookie (it set {sorted(cookies)})"
        flags = {f.strip().lower() for f in cookies[name].split(";")[1:]}
        assert {"secure", "httponly"} <= flags, f"{name} lacks Secure or HttpOnly: {cookies[name]}"


def test_websockets_of_every_app_pass_the_proxy(stack, paula, admin_api, expected, evidence):
    """Through the TLS proxy, the owner's websockets are accepted (HTTP 101) by a Lab kernel, code-server
    and marimo."""
    offered = read_offered_profiles(stack.hub_url, paula.name, paula.password, admin_api)
    servers = Servers(paula.api, stack, offered, admin_api)
    try:
        paths = {}
        for app in ("lab", "vscode", "marimo"):
            server = servers.start(paula.name, f"ws-{app}", expected.of_app(app)[0])
            paths[app] = server.url + expected.of_app(app)[0].lands_on.lstrip("/")
        lab = paths["lab"].rsplit("/", 1)[0] + "/"   # the Lab server's own URL
        r = paula.api.http.post(f"{lab}api/kernels", json={})
        assert r.status_code == 201, f"no kernel: HTTP {r.status_code} {r.text[:200]}"
        paths["lab"] = f"{lab}api/kernels/{r.json()['id']}/channels"
        answers = {app: websocket_handshake(paula.api, path).status_code for app, path in paths.items()}
        evidence.fact("websocket handshakes", answers)
        assert answers == {app: 101 for app in paths}, answers
    finally:
        servers.stop_all_started()


# --- database ----------------------------------------------------------------------------------------
def hub_state(api: HubAPI) -> dict:
    users = api.get("/users?include_stopped_servers=1")
    return {u["name"]: {"servers": sorted(u.get("servers", {})),
                        "tokens": sorted(t["id"] for t in api.get(f"/users/{u['name']}/tokens")["api_tokens"])}
            for u in users}


def test_the_hub_database_is_postgresql_in_its_own_container(production_stack, prod, evidence):
    """The hub's db_url names PostgreSQL on the db container, which is healthy."""
    url = production_stack.hub_python(probes.source("db_url_scheme")).strip().splitlines()[-1]
    health = production_stack.db().attrs["State"].get("Health", {}).get("Status")
    evidence.fact("db_url scheme", url)
    evidence.fact("db container health", health)
    assert url.startswith(prod["database"]) and health == "healthy"


def test_hub_and_database_restarts_lose_no_user_server_or_token(production_stack, paula, admin_api, expected, evidence,
                                                                 tally):
    """With a running server: after a PostgreSQL restart and a hub restart, the same users, servers and
    tokens, and the server still answers."""
    offered = read_offered_profiles(production_stack.hub_url, paula.name, paula.password, admin_api)
    servers = Servers(paula.api, production_stack, offered, admin_api)
    try:
        servers.start(paula.name, "db-restart", expected.of_app("lab")[0])
        before = hub_state(admin_api)
        production_stack.restart_db()
        production_stack.restart_hub()
        after = hub_state(admin_api)
        ready = (admin_api.server(paula.name, "db-restart") or {}).get("ready")
        tally("faults injected", 2)
        evidence.fact("users / tokens before", f"{len(before)} / {sum(len(u['tokens']) for u in before.values())}")
        assert after == before, f"changed by the restarts: before {before}, after {after}"
        assert ready, "the running server was lost by the restarts"
        r = paula.api.server_get(f"/user/{paula.name}/db-restart/api/status")
        assert r.status_code == 200, f"the server does not answer after the restarts: HTTP {r.status_code}"
    finally:
        servers.stop_all_started()


def test_a_backup_restored_into_a_fresh_database_gives_back_the_same_users(production_stack, paula, evidence, tmp_path):
    """backup.sh's dump, restored by restore.sh into a fresh database, holds the same users as the live one."""
    dump = tmp_path / "backup.sql"
    production_stack.script("backup", str(dump))
    fresh = f"restore_{int(time.time())}"
    production_stack.script("restore", str(dump), fresh)

    def users(db: str) -> list[str]:
        out = production_stack.db().exec_run(["psql", "-h", "/var/run/postgresql", "-U", "jupyterhub", "-d", db, "-tAc",
                                   "SELECT name FROM users ORDER BY name"])
        assert out.exit_code == 0, out.output.decode()[-500:]
        return out.output.decode().split()

    live, restored = users("jupyterhub"), users(fresh)
    production_stack.db().exec_run(["dropdb", "-h", "/var/run/postgresql", "-U", "jupyterhub", fresh])
    evidence.fact("backup", f"{dump.stat().st_size} bytes")
    evidence.fact("users live / restored", f"{live} / {restored}")
    assert paula.name in live and restored == live


def served_certificate(hub_url: str) -> str | None:
    """The certificate the proxy serves (PEM, not verified: a changed one must be seen, not refused); None while
    nothing answers."""
    url = urlparse(hub_url)
    try:
        return ssl.get_server_certificate((url.hostname, url.port), timeout=5)
    except OSError:
        return None


def test_every_container_recreated_keeps_the_sites_state(production_stack, paula, admin_api, evidence, tally):
    """Every container of the stack re-created (`docker compose up -d --force-recreate`, as an upgrade re-creates
    what it changes): the proxy serves the same certificate (its volume), the hub the same cookie secret (its
    volume), and PostgreSQL (its volume) the same users, servers and tokens."""
    def secret() -> str:
        return production_stack.hub_exec("sha256sum", "/srv/jupyterhub/jupyterhub_cookie_secret").split()[0]

    certificate, cookie_secret, state = served_certificate(production_stack.hub_url), secret(), hub_state(admin_api)
    assert certificate and paula.name in state
    production_stack.force_recreate_all()
    tally("faults injected", 1)
    served = wait_for(lambda: served_certificate(production_stack.hub_url), timeout=Timeouts.hub_ready,
                      what="the re-created proxy to serve a certificate")
    assert served == certificate, "the re-created proxy serves another certificate: its TLS material was not kept"
    production_stack.wait_until_ready()
    evidence.fact("kept across re-creation", f"the certificate, the cookie secret, {len(state)} users with "
                                             f"{sum(len(u['tokens']) for u in state.values())} tokens")
    assert secret() == cookie_secret, "the re-created hub has another cookie secret"
    assert hub_state(admin_api) == state, "users, servers or tokens changed by the re-creation"


# --- metrics -------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def metrics_token(stack) -> str:
    return stack.hub_exec("cat", "/srv/jupyterhub/metrics_api_token").strip()


def test_metrics_need_a_token_and_the_metrics_token_reads_only_metrics(stack, metrics_token, prod, evidence):
    """/hub/metrics without a token is refused; with the metrics service's token it answers, and that token
    has only the expected scopes (no users, no servers)."""
    anonymous, scraped = metrics(stack, None), metrics(stack, metrics_token)
    evidence.fact("scrape without / with the token", f"HTTP {anonymous.status_code} / {scraped.status_code}")
    assert anonymous.status_code in (401, 403) and scraped.status_code == 200
    with HubAPI(stack.hub_url, metrics_token, stack.ca_bundle) as api:
        scopes = sorted(api.get("/user")["scopes"])
        users = api.http.get("/hub/api/users").status_code
    evidence.fact("the metrics token's scopes", scopes)
    assert scopes == sorted(prod["metrics"]["token_scopes"]) and users == 403


def test_spawn_metrics_move_with_spawns_and_buckets_cover_the_slowest(stack, paula, admin_api, metrics_token, prod,
                                                                      expected, evidence):
    """A spawn adds one to the spawn-duration histogram's count; no spawn the hub saw is slower than its
    largest finite bucket."""
    counter, histogram = prod["metrics"]["spawn_counter"], prod["metrics"]["spawn_histogram"]
    before = sum(samples(metrics(stack, metrics_token).text, counter).values())
    offered = read_offered_profiles(stack.hub_url, paula.name, paula.password, admin_api)
    servers = Servers(paula.api, stack, offered, admin_api)
    try:
        spawn = servers.start(paula.name, "metrics", expected.of_app("marimo")[0])
    finally:
        servers.stop_all_started()
    text = metrics(stack, metrics_token).text
    after = sum(samples(text, counter).values())
    buckets = samples(text, histogram)
    finite = max((float(le) for le in buckets if le != "+Inf"), default=0.0)
    evidence.fact("spawns counted before / after", f"{before:g} / {after:g} (this spawn {spawn.spawn_seconds:.1f} s)")
    evidence.fact("largest finite bucket", f"{finite:g} s: {buckets.get(str(finite))} of {buckets.get('+Inf')}")
    assert after == before + 1, f"the spawn count went from {before} to {after}"
    assert buckets.get("+Inf") == buckets.get(str(finite)), f"spawns slower than {finite} s: {buckets}"


# --- hardening -------------------------------------------------------------------------------------------
CIS = {   # CIS Docker Benchmark v1.6 items checked on a user container: item -> (what, check(attrs))
    "5.4 not privileged": lambda a: a["HostConfig"]["Privileged"] is False,
    "5.3 capabilities dropped": lambda a: a["HostConfig"].get("CapDrop") == ["ALL"],
    "5.25 no-new-privileges": lambda a: "no-new-privileges" in (a["HostConfig"].get("SecurityOpt") or []),
    "5.10 memory limited": lambda a: a["HostConfig"]["Memory"] > 0,
    "5.11 CPU limited": lambda a: a["HostConfig"].get("CpuQuota", 0) > 0 or a["HostConfig"].get("NanoCpus", 0) > 0,
    "5.31 Docker socket not mounted": lambda a: not any("docker.sock" in m["Source"] for m in a["Mounts"]),
    "5.9 host network not shared": lambda a: a["HostConfig"]["NetworkMode"] != "host",
    "5.16 host PID namespace not shared": lambda a: a["HostConfig"].get("PidMode", "") != "host",
    "4.1 not root": lambda a: a["Config"].get("User", "") not in ("", "0", "root"),
}


def test_user_containers_pids_limit_network_reach_and_cis_items(stack, paula, admin_api, prod, expected, evidence):
    """A user container has the expected PIDs limit, cannot reach the cloud-metadata address nor the hub's
    database, and passes each CIS Docker Benchmark item listed."""
    offered = read_offered_profiles(stack.hub_url, paula.name, paula.password, admin_api)
    servers = Servers(paula.api, stack, offered, admin_api)
    try:
        container = servers.start(paula.name, "hardening", expected.of_app("lab")[0]).container
        attrs = container.attrs
        results = {item: bool(check(attrs)) for item, check in CIS.items()}
        for item, ok in results.items():
            evidence.fact(f"CIS {item}", "pass" if ok else "FAIL")
        pids = attrs["HostConfig"].get("PidsLimit")
        evidence.fact("PidsLimit", pids)
        reach = {}
        for target in prod["unreachable_from_user_servers"]:
            host, port = target.rsplit(":", 1)
            reach[target] = container.exec_run(["python3", "-c", probes.source("connect"), host, port]
                                               ).output.decode().strip()
        evidence.fact("connections from the user container", json.dumps(reach))
    finally:
        servers.stop_all_started()
    assert pids == prod["user_pids_limit"], f"PidsLimit {pids}"
    assert all(results.values()), {k: v for k, v in results.items() if not v}
    assert not [t for t, r in reach.items() if r == "connected"], f"reachable from a user container: {reach}"


# --- culler ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def culler_stack(production_stack, prod, request):
    """A second production stack whose culler has the test's short window, serving the first one's
    certificate and key as operator-supplied files."""
    culler = prod["culler"]
    with another_stack_of(ProductionRun, request, "Culler", tls_from=production_stack,
                          extra_env={"CULL_IDLE_TIMEOUT": str(culler["timeout"]),
                                     "CULL_EVERY": str(culler["every"])}) as run:
        yield run


def test_the_culler_stops_an_idle_server_keeps_an_active_one_and_files_survive(culler_stack, prod, expected,
                                                                               evidence):
    """With the test's window: an idle server is stopped within timeout + one check (+ slack), an active one
    (used every few seconds through the proxy) is kept, and the idle one's file is there after a restart."""
    culler = prod["culler"]
    hub = culler_stack.hub_url
    admin = expected.admin
    password = sign_up(hub, admin, ca_bundle=culler_stack.ca_bundle)
    with HubSession(hub, culler_stack.ca_bundle) as session:
        session.login(admin, password)
        token = session.create_token(admin, "culler test")
    with HubAPI(hub, token, culler_stack.ca_bundle) as api:
        offered = read_offered_profiles(hub, admin, password, api)
        servers = Servers(api, culler_stack, offered)
        lab = expected.of_app("lab")[0]
        try:
            servers.start(admin, "idle", lab)
            servers.start(admin, "active", lab)
            servers.write_home_file(admin, "idle", "kept.txt", "culled but kept")
            started = time.monotonic()

            def idle_culled():
                api.server_get(f"/user/{admin}/active/api/contents")   # activity, through the proxy
                return api.server(admin, "idle") is None

            deadline = culler["timeout"] + 2 * culler["every"] + 60
            wait_for(idle_culled, timeout=deadline, interval=3, what="the culler to stop the idle server")
            culled_after = time.monotonic() - started
            active = api.server(admin, "active")
            evidence.fact("idle server stopped after", f"{culled_after:.0f} s (window {culler['timeout']} s, "
                                                       f"checks every {culler['every']} s)")
            evidence.fact("active server", "running" if active else "stopped")
            assert active and active.get("ready"), "the culler stopped the active server"
            assert culled_after >= culler["timeout"] - culler["every"], f"culled after only {culled_after:.0f} s"
            servers.start(admin, "idle", lab)
            content = servers.home_file(admin, "idle", "kept.txt")
            evidence.fact("kept.txt after the cull", content)
            assert content == "culled but kept"
        finally:
            servers.stop_all_started()
