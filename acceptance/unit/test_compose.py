"""stack/docker-compose.yml as `docker compose config` renders it (no containers are touched)."""
from __future__ import annotations

import pytest

from acceptance import settings
from acceptance.deployments.compose import ComposeUnavailable, compose_config
from images.build import HUB_IMAGE


def render(**overrides) -> dict:
    try:
        return compose_config(**overrides)
    except ComposeUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def stack() -> dict:
    return render()


@pytest.fixture(scope="module")
def hub(stack) -> dict:
    return stack["services"]["hub"]


def mount(hub: dict, target: str) -> dict:
    found = [v for v in hub["volumes"] if v["target"] == target]
    assert len(found) == 1, f"{target} mounted {len(found)} times: {hub['volumes']}"
    return found[0]


def test_project_name_is_jhub_docker(stack):
    assert stack["name"] == "jhub-docker"


def test_services_are_the_hub_and_its_log_collector(stack):
    assert sorted(stack["services"]) == ["hub", "logs"]


def test_hub_container_name(hub):
    assert hub["container_name"] == "jupyterhub-hub"


def test_network_jupyterhub_net_bridge(stack, hub):
    assert {n["name"]: n["driver"] for n in stack["networks"].values()} == {"jupyterhub-net": "bridge"}
    assert list(hub["networks"]) == list(stack["networks"])


def test_hub_state_volume_name_and_mount(stack, hub):
    state = mount(hub, "/srv/jupyterhub")
    assert state["type"] == "volume"
    assert stack["volumes"][state["source"]]["name"] == "jhub-docker_jupyterhub_data"


def test_port_8000_published_on_localhost(hub):
    assert [(p["host_ip"], str(p["published"]), p["target"], p["protocol"]) for p in hub["ports"]] == [
        ("127.0.0.1", "8000", 8000, "tcp")]


def test_config_file_mounted_read_only(hub):
    config = mount(hub, "/etc/jupyterhub/jupyterhub_config.py")
    assert config["type"] == "bind" and config["read_only"] is True
    assert config["source"] == str(settings.STACK_DIR / "jupyterhub_config.py")


def test_profiles_file_mounted_read_only_next_to_config(hub):
    profiles = mount(hub, "/etc/jupyterhub/profiles.yaml")
    assert profiles["read_only"] is True
    assert profiles["source"] == str(settings.PROFILES_FILE)


def test_docker_socket_mounted(hub):
    assert mount(hub, "/var/run/docker.sock")["source"] == "/var/run/docker.sock"


def test_hub_image_is_the_built_one(hub):
    assert hub["image"] == HUB_IMAGE


def test_run_prefix_prefixes_every_name():
    stack = render(COMPOSE_PROJECT_NAME="jhvabc123", NAME_PREFIX="jhvabc123-")
    names = [stack["name"]]
    names += [s["container_name"] for s in stack["services"].values()]
    names += [n["name"] for n in stack["networks"].values()]
    names += [v["name"] for v in stack["volumes"].values()]
    assert all(n.startswith("jhvabc123") for n in names), names
    assert stack["services"]["hub"]["environment"]["NAME_PREFIX"] == "jhvabc123-"


def test_profiles_file_can_be_mounted_from_elsewhere(tmp_path):
    other = tmp_path / "profiles.yaml"
    hub = render(PROFILES_HOST_FILE=str(other))["services"]["hub"]
    assert mount(hub, "/etc/jupyterhub/profiles.yaml")["source"] == str(other)


@pytest.mark.parametrize("kind", ["compose", "production"])
def test_a_runs_env_file_holds_its_settings_and_follows_their_changes(kind, monkeypatch):
    """The env file docker compose reads is written from the run's `env` (no Docker needed to make a run)."""
    from acceptance.deployments import compose, own
    from acceptance.deployments.production import ProductionRun
    monkeypatch.setattr(own.docker, "from_env", lambda: None)
    run = (compose.StackRun if kind == "compose" else ProductionRun)(extra_env={"EXTRA": "1"})
    try:
        def written() -> dict:
            return dict(line.split("=", 1) for line in run.env_file.read_text().splitlines())
        assert written() == run.env and written()["EXTRA"] == "1"
        assert run.compose.env_file == [str(run.env_file)]   # testcontainers keeps a list
        assert ("HTTPS_PORT" in written()) == (kind == "production")
        run.env["EXTRA"] = "2"
        run.write_env_file()
        assert written() == run.env and written()["EXTRA"] == "2"
    finally:
        run._env_dir.cleanup()
