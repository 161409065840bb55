"""Phase 2: Stack Deployment - hub container, network, volume, config location, and the hub's settings
as the running hub shows them (its sockets, its log, /hub/api/info, the containers it makes)."""
import socket

import httpx
import pytest

from acceptance import probes
from acceptance.client.hub_api import tls_verify
from acceptance.client.pages import HomePage
from acceptance.deployments.compose import StackError, StackRun
from acceptance.settings import Timeouts

pytestmark = pytest.mark.p2


def names(expected, stack, key: str) -> str:
    return expected.name(key, prefix=stack.prefix, project=stack.project)


def listening(stack, port: int) -> list[str]:
    """Addresses the hub container listens on for TCP `port` (from /proc/net/tcp{,6})."""
    out = stack.hub_exec("sh", "-c", probes.shell("tcp_sockets"))
    found = []
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) > 3 and parts[3] == "0A" and ":" in parts[1]:   # state 0A: LISTEN
            address, hex_port = parts[1].rsplit(":", 1)
            if int(hex_port, 16) == port:
                found.append("0.0.0.0" if set(address) == {"0"} else socket.inet_ntoa(bytes.fromhex(address)[::-1])
                             if len(address) == 8 else address)
    return found


def test_hub_container_runs_and_publishes_its_port_on_loopback(stack, expected, evidence):
    """The hub container (jupyterhub-hub) runs and publishes port 8000 on 127.0.0.1 only."""
    infra = expected.infra
    name, status = stack.found_hub()
    evidence.fact("hub", f"{name} ({status})")
    assert name == names(expected, stack, "hub_container"), f"the hub is named {name}"
    assert status == "running", f"the hub is {status}"
    publisher = stack.publisher()
    bindings = publisher.attrs["HostConfig"]["PortBindings"] or {}
    published = [(b["HostIp"], k) for k, v in bindings.items() for b in v]
    evidence.fact("published", f"{published} by {publisher.name}")
    # the container ports published: the hub's own proxy port, or those of the stack's publisher (the TLS proxy)
    ports = infra.get("published_ports") or [infra["published_port"]]
    wanted = sorted((infra["bind_address"], f"{port}/tcp") for port in ports)
    assert sorted(published) == wanted, f"published {published}, expected ports {ports} on {infra['bind_address']} only"


def test_hub_and_user_servers_share_the_bridge_network(stack, expected, evidence):
    """Network jupyterhub-net (bridge) exists and the hub answers on it as `hub`."""
    name = names(expected, stack, "network")
    found = [n.name for n in stack.require_docker("networks").networks.list() if n.name.startswith(stack.prefix)]
    assert name in found, f"no network {name}; the deployment made {found}"
    network = stack.docker.networks.get(name)
    assert network.attrs["Driver"] == expected.infra["network_driver"], f"{name} is a {network.attrs['Driver']}"
    assert name in stack.hub().attrs["NetworkSettings"]["Networks"], f"the hub is not attached to {name}"
    assert "hub" in stack.hub_aliases(name), f"the hub has no DNS alias 'hub' on {name}"
    evidence.fact("network", f"{network.name} ({network.attrs['Driver']})")


def test_hub_state_lives_in_the_data_volume_and_config_outside_it(stack, expected, evidence):
    """The data volume is mounted at /srv/jupyterhub and holds the hub's state (the SQLite database and the
    cookie secret); the config file is mounted outside it."""
    infra = expected.infra
    mounts = {m["Destination"]: m for m in stack.hub().attrs["Mounts"]}
    data = mounts.get(infra["data_mount"])
    volume = names(expected, stack, "data_volume")
    assert data and data["Type"] == "volume" and data["Name"] == volume, \
        f"{infra['data_mount']} should be the volume {volume}, is {data}"
    files = stack.hub_exec("ls", infra["data_mount"]).split()
    missing = set(infra["data_files"]) - set(files)
    assert not missing, f"{infra['data_mount']} lacks {sorted(missing)}: it holds {files}"
    config = mounts.get(infra["config_file"])
    assert config and config["Type"] == "bind", f"{infra['config_file']} is not mounted from outside: {config}"
    evidence.fact("data volume", f"{data['Name']} at {infra['data_mount']}: {', '.join(files)}")
    evidence.fact("config", f"{infra['config_file']} (bind mount, not in the volume)")


def test_hub_api_and_proxy_listen_where_the_specification_says(stack, expected, evidence):
    """The hub API listens on every interface (hub_ip 0.0.0.0) at the connect URL's port, the proxy on
    :8000, and the hub log says so."""
    infra = expected.infra
    api_port = httpx.URL(infra["hub_connect_url"]).port
    api, proxy = listening(stack, api_port), listening(stack, infra["published_port"])
    evidence.fact(f"listening on {api_port}", api)
    evidence.fact(f"listening on {infra['published_port']}", proxy)
    assert infra["hub_ip"] in api, f"the hub API listens on {api} for port {api_port}, not {infra['hub_ip']}"
    assert proxy, f"nothing listens on port {infra['published_port']} in the hub container"
    log = stack.hub_logs()
    wanted = [f"Hub API listening on http://{infra['hub_ip']}:{api_port}/hub/",
              f"JupyterHub is now running at {infra['proxy_url']}"]
    startup = [line for line in log.splitlines() if any(k in line for k in ("Using", "listening", "running at"))]
    evidence.text("hub start-up log", "\n".join(startup)[:5000])
    missing = [w for w in wanted if w not in log]
    assert not missing, f"the hub log lacks: {missing}"
    health = httpx.get(f"{stack.hub_url}/hub/health", timeout=Timeouts.http, verify=tls_verify(stack.ca_bundle))
    assert health.status_code == 200


def test_the_spawner_is_profiles_spawner(stack, admin_api, expected, evidence):
    """/hub/api/info names the spawner: ProfilesSpawner (or a class built on it)."""
    info = admin_api.info()
    spawner = info["spawner"]
    evidence.fact("spawner", f"{spawner['class']} {spawner.get('version', '')}")
    assert stack.is_subclass(spawner["class"], expected.infra["spawner"]), \
        f"the hub's spawner {spawner['class']} is not a {expected.infra['spawner']}"


def test_a_server_started_without_choosing_lands_on_the_default_url(user_page, checklist_user, servers, expected,
                                                                   evidence):
    """"Start My Server" with the form's preselected profile lands on the default URL (/lab)."""
    infra, user = expected.infra, checklist_user[0]
    if servers.api.server(user, ""):
        servers.stop(user, "")
    form = HomePage(user_page).open().start_my_server()
    servers.started.append((user, ""))
    path = form.start_preselected()
    evidence.fact("landed on", path)
    assert path.endswith(f"/user/{user}{infra['default_url']}"), \
        f"landed on {path}, expected {infra['default_url']}"


def test_user_servers_reach_the_hub_at_the_connect_url(profile_survey, expected, evidence):
    """The hub gives its servers the internal URL http://hub:8081 (their JUPYTERHUB_API_URL)."""
    want = f"{expected.infra['hub_connect_url']}/hub/api"
    seen = {run.profile.name: run.require().api_url for run in profile_survey.values()}
    evidence.fact("JUPYTERHUB_API_URL", sorted(set(seen.values())))
    wrong = {name: url for name, url in seen.items() if url != want}
    assert not wrong, f"servers reach the hub elsewhere than {want}: {wrong}"


def test_named_servers_run_side_by_side(servers, checklist_user, expected, evidence):
    """Named servers on: a user's default server and a named one run at once."""
    assert expected.infra["named_servers"]
    lab, user = expected.profiles[0], checklist_user[0]
    servers.start(user, "", lab)
    servers.start(user, "side-by-side", lab)
    running = {name for name, model in servers.api.user(user)["servers"].items() if model.get("ready")}
    evidence.fact("running", sorted(running))
    assert {"", "side-by-side"} <= running, "starting the named server stopped the default one"


def test_the_admin_reaches_a_users_server(stack, admin_api, servers, run_users, expected, evidence):
    """Admin access: the admin's token opens another user's running server."""
    assert expected.infra["admin_access"]
    user = run_users.name("p2-user")
    admin_api.http.post(f"/hub/api/users/{user}")
    try:
        server = servers.start(user, "", expected.profiles[0])
        response = admin_api.server_get(f"{server.url}api/status", timeout=30)
        evidence.fact("admin at the user's server", f"HTTP {response.status_code}")
        assert response.status_code == 200, f"the admin got HTTP {response.status_code} at {server.url}api/status"
    finally:
        servers.stop_all_started()
        admin_api.http.delete(f"/hub/api/users/{user}")


@pytest.mark.disruptive
def test_a_hub_with_a_bad_setting_fails_fast_with_its_message(stack, evidence):
    """A hub started with a bad setting (AUTH_MODE=nonsense) is reported at once with the config's message,
    and its run is cleaned up completely."""
    bad = (type(stack) if stack.own else StackRun)(extra_env={"AUTH_MODE": "nonsense"})   # the run's kind
    try:
        with pytest.raises(StackError) as failure:
            bad.up()
    finally:
        bad.down()
    evidence.text("harness message", str(failure.value))
    assert "AUTH_MODE must be 'bootstrap' or 'production', not 'nonsense'" in str(failure.value)
    assert bad.leftovers() == []

