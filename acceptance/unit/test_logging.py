"""The log pipeline's configuration (docs/logs.md): the stacks' logging blocks agree, every container of a stack logs
to its collector, the bounds have their defaults in the collector only; and the collector's rotation and retention,
run in-process on a scratch folder."""
from __future__ import annotations

import importlib.util
import os
import re
import time

import pytest
import yaml

from acceptance import settings

COMPOSE_FILES = {"compose": settings.STACK_DIR / "docker-compose.yml",
                 "production": settings.STACK_DIR / "production" / "docker-compose.yml"}
SHARED = ("x-log-address", "x-logging", "x-logs-service")
BOUNDS = ("LOG_MAX_SIZE", "LOG_MAX_FILES", "LOG_RETENTION_DAYS")
# nativeauthenticator 1.3.0 on import (the hub config); not ours
pytestmark = pytest.mark.filterwarnings("ignore:'locale.getdefaultlocale' is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def stacks() -> dict[str, dict]:
    return {name: yaml.safe_load(path.read_text()) for name, path in COMPOSE_FILES.items()}


def test_the_stack_files_share_one_logging_block(stacks):
    compose, production = stacks["compose"], stacks["production"]
    for key in SHARED:
        assert compose[key] == production[key], f"{key} differs between {list(COMPOSE_FILES.values())}"
    assert compose["x-logging"]["driver"] == "syslog"
    assert compose["x-logging"]["options"]["syslog-address"] == compose["x-log-address"]
    assert compose["x-log-address"].startswith("tcp://127.0.0.1:${LOG_PORT:-"), "the host's loopback only"


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_container_of_a_stack_logs_to_its_collector_and_user_servers_too(stacks, name):
    stack = stacks[name]
    services = stack["services"]
    assert services["logs"] == stack["x-logs-service"]
    for service, spec in services.items():
        if service == "logs":
            assert spec["network_mode"] == "host" and "ports" not in spec, "the collector is on the host's loopback"
            assert spec["environment"]["LOG_ADDRESS"] == stack["x-log-address"]
            continue
        assert spec.get("logging") == stack["x-logging"], f"{name}: {service} does not log to the collector"
        assert spec["depends_on"]["logs"] == {"condition": "service_healthy"}, f"{name}: {service} may start first"
    assert services["hub"]["environment"]["USER_LOG_ADDRESS"] == stack["x-log-address"]


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_the_bounds_have_their_defaults_in_the_collector_only(stacks, name):
    text = COMPOSE_FILES[name].read_text()
    for bound in BOUNDS:
        assert f"${{{bound}:-}}" in text and not re.search(rf"\${{{bound}:-[^}}]", text), \
            f"{name}: {bound} is passed through as set (its default lives in images/logs/collector.py)"


def test_user_servers_log_like_the_stack_when_the_stack_has_a_collector(hub_config, stacks):
    assert "log_config" not in hub_config()["DockerSpawner"]["extra_host_config"]
    options = stacks["compose"]["x-logging"]["options"]
    address = "tcp://127.0.0.1:5999"
    host = hub_config(USER_LOG_ADDRESS=address)["DockerSpawner"]["extra_host_config"]
    # DockerSpawner formats the strings of extra_host_config (str.format with its template namespace)
    rendered = {key: value.format() for key, value in host["log_config"]["config"].items()}
    assert host["log_config"]["type"] == stacks["compose"]["x-logging"]["driver"]
    assert rendered == {**options, "syslog-address": address}


# --- the collector, in-process ---------------------------------------------------------------------------------
@pytest.fixture
def collector(tmp_path, monkeypatch):
    for bound in BOUNDS:
        monkeypatch.delenv(bound, raising=False)
    monkeypatch.setenv("LOG_DIR", str(tmp_path))
    spec = importlib.util.spec_from_file_location("collector", settings.IMAGES_DIR / "logs" / "collector.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def docker_line(name: str, message: str) -> bytes:
    return f"<14>1 2026-11-30T22:00:00.000001Z host {name} 123 - - {message}\n".encode()


def test_the_collector_defaults(collector):
    conf = collector.settings()
    assert (conf["max_size"], conf["max_files"], conf["retention_days"]) == (10 * 1024 ** 2, 5, 14)


def test_rotation_bounds_each_containers_files(collector, tmp_path, monkeypatch):
    monkeypatch.setenv("LOG_MAX_SIZE", "64k")
    monkeypatch.setenv("LOG_MAX_FILES", "3")
    conf = collector.settings()
    c = collector.Collector(conf)
    for i in range(2000):
        c.line(docker_line("jhvx-jupyter-alice--flood", f"line {i:05d} " + "x" * 200))
    c.line(docker_line("jhvx-jupyterhub-hub", "hub line"))
    files = sorted(tmp_path.glob("jhvx-jupyter-alice--flood.log*"))
    assert len(files) == 3 and all(f.stat().st_size <= 64 * 1024 for f in files), \
        [(f.name, f.stat().st_size) for f in files]
    assert (tmp_path / "jhvx-jupyterhub-hub.log").read_text() == "2026-11-30T22:00:00.000001Z hub line\n"
    newest = (tmp_path / "jhvx-jupyter-alice--flood.log").read_text().splitlines()[-1]
    assert newest.endswith("line 01999 " + "x" * 200)


def test_retention_deletes_files_not_written_for_the_period(collector, tmp_path):
    c = collector.Collector(collector.settings())
    c.line(docker_line("old", "a"))
    c.line(docker_line("new", "b"))
    old = time.time() - 15 * 86400
    os.utime(tmp_path / "old.log", (old, old))
    assert c.sweep() == ["old.log"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.log"]
    c.line(docker_line("old", "again"))   # written again: a new file
    assert (tmp_path / "old.log").read_text().endswith("again\n")


def test_the_reader_prints_oldest_first_and_takes_short_names(collector, tmp_path, monkeypatch, capsysbinary):
    monkeypatch.setattr(collector, "PREFIX", "jhvx-")
    (tmp_path / "jhvx-jupyterhub-hub.log.1").write_text("first\n")
    (tmp_path / "jhvx-jupyterhub-hub.log").write_text("second\n")
    assert collector.main(["hub"]) == 0
    assert capsysbinary.readouterr().out == b"first\nsecond\n"
    assert collector.main(["jupyter-nobody"]) == 1
