"""Phase 2: Stack Deployment - hub container, network, volume, config location, hub settings."""
import httpx
import pytest

from acceptance.hub_config import effective_config_in_hub
from acceptance.settings import profiles
from acceptance.stack import StackError, StackRun

pytestmark = pytest.mark.p2


def test_hub_container_runs_and_publishes_port_8000_on_loopback(stack, evidence):
    """Hub container jupyterhub-hub runs, port 8000 published on 127.0.0.1 only."""
    hub = stack.hub()
    assert hub.name == stack.hub_container_name
    assert hub.status == "running", f"hub container is {hub.status}"
    bindings = hub.attrs["HostConfig"]["PortBindings"]["8000/tcp"]
    assert [(b["HostIp"], b["HostPort"]) for b in bindings] == [("127.0.0.1", str(stack.port))]
    evidence.fact("container", hub.name)
    evidence.fact("published", f"127.0.0.1:{stack.port} -> 8000")


def test_hub_and_user_servers_share_the_bridge_network(stack, evidence):
    """Network jupyterhub-net (bridge) exists and the hub answers on it as `hub`."""
    network = stack.docker.networks.get(stack.network_name)
    assert network.attrs["Driver"] == "bridge"
    hub_net = stack.hub().attrs["NetworkSettings"]["Networks"].get(stack.network_name)
    assert hub_net is not None, f"hub is not attached to {stack.network_name}"
    assert "hub" in (hub_net.get("Aliases") or []), f"hub has no DNS alias 'hub' on {stack.network_name}"
    evidence.fact("network", f"{network.name} ({network.attrs['Driver']})")


def test_hub_state_lives_in_the_data_volume_and_config_outside_it(stack, evidence):
    """/srv/jupyterhub is the named data volume (database, cookie secret); the config file is outside it."""
    mounts = {m["Destination"]: m for m in stack.hub().attrs["Mounts"]}
    data = mounts.get("/srv/jupyterhub")
    assert data and data["Type"] == "volume" and data["Name"] == stack.data_volume_name, f"/srv/jupyterhub: {data}"
    files = stack.hub_exec("ls", "/srv/jupyterhub").split()
    assert {"jupyterhub.sqlite", "jupyterhub_cookie_secret"} <= set(files), f"/srv/jupyterhub holds {files}"
    config = mounts.get("/etc/jupyterhub/jupyterhub_config.py")
    assert config and config["Type"] == "bind", f"config mount: {config}"
    evidence.fact("data volume", f"{data['Name']} at /srv/jupyterhub: {', '.join(files)}")
    evidence.fact("config", "/etc/jupyterhub/jupyterhub_config.py (bind mount, not in the volume)")


def test_hub_settings_match_the_specification(stack, evidence):
    """hub_ip 0.0.0.0, hub_connect_url http://hub:8081, default URL /lab, named servers, admin access."""
    cfg = effective_config_in_hub(stack)
    hub = cfg["JupyterHub"]
    expected = {"hub_ip": "0.0.0.0", "hub_connect_url": "http://hub:8081", "allow_named_servers": True,
                "admin_access": True, "bind_url": "http://:8000"}
    actual = {k: hub.get(k) for k in expected}
    actual_default_url = cfg["Spawner"].get("default_url")
    for k, v in actual.items():
        evidence.fact(k, v)
    evidence.fact("Spawner.default_url", actual_default_url)
    assert actual == expected
    assert actual_default_url == "/lab"


def test_hub_log_shows_spawner_and_hub_api(stack, evidence):
    """The hub log reports the ProfilesSpawner, the Hub API on :8081 and the proxy on :8000."""
    log = stack.hub_logs()
    wanted = ["Using Spawner: jhub_platform.spawner.PlatformProfilesSpawner",
              "Hub API listening on http://hub:8081/hub/",
              "JupyterHub is now running at http://:8000"]
    missing = [w for w in wanted if w not in log]
    startup = [line for line in log.splitlines() if any(k in line for k in ("Using", "listening", "running at"))]
    evidence.text("hub start-up log", "\n".join(startup)[:5000])
    assert not missing, f"hub log lacks: {missing}"
    assert httpx.get(f"{stack.hub_url}/hub/health", timeout=10).status_code == 200


def test_named_servers_run_side_by_side(servers, evidence):
    """Named servers on: a user's default server and a named one run at once, each in its own container."""
    lab = profiles()[0]
    default = servers.start("admin", "", lab)
    named = servers.start("admin", "side-by-side", lab)
    assert servers.api.server("admin", "")["ready"], "starting the named server stopped the default one"
    assert default.container.id != named.container.id
    evidence.fact("containers", f"{default.container.name}, {named.container.name}")


def test_user_servers_survive_a_hub_restart(stack, servers, evidence):
    """Restarting the hub container leaves running user servers up; the hub re-attaches to them."""
    server = servers.start("admin", "survivor", profiles()[0])
    stack.restart_hub()
    assert servers.container("admin", "survivor").id == server.container.id
    assert servers.container("admin", "survivor").status == "running"
    assert servers.api.server("admin", "survivor")["ready"], "the hub lost the server after its restart"
    response = servers.api.server_get(f"{server.url}api/status", timeout=30)
    assert response.status_code == 200, f"server API after hub restart: HTTP {response.status_code}"
    evidence.fact("after hub restart", f"{server.container.name} still running, API answers")


def test_a_hub_with_a_bad_setting_fails_fast_with_its_message(stack, evidence):
    """A hub started with a bad setting (AUTH_MODE=nonsense) is reported at once with the config's message,
    and its run is cleaned up completely."""
    bad = StackRun(extra_env={"AUTH_MODE": "nonsense"})
    try:
        with pytest.raises(StackError) as failure:
            bad.up()
    finally:
        bad.down()
    evidence.text("harness message", str(failure.value))
    assert "AUTH_MODE must be 'bootstrap' or 'production', not 'nonsense'" in str(failure.value)
    assert bad.leftovers() == []
