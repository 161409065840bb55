"""Reliability 8: Logging - every container's log goes to the stack's collector (images/logs/, docs/logs.md), which
keeps it after the container is gone, bounded by rotation, where only the admin reads it: the last lines of a
server killed and removed, the hub's log across a re-created hub container, a flooding server's files within the
bound, and no way for a user to read the files. On the compose and the production stack (the swarm stack has no
collector: docs/logs.md)."""
from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from acceptance import probes
from acceptance.client.accounts import hub_user
from acceptance.client.hub_api import tls_verify
from acceptance.client.polling import wait_for
from acceptance.client.servers import Servers, read_offered_profiles
from acceptance.deployments.deployment import StackError
from acceptance.settings import HARNESS_STACK_ENV, Timeouts

pytestmark = [pytest.mark.r8, pytest.mark.own_stack]
LOG_VOLUME_TARGET = "/var/log/platform"   # the collector's files (images/logs/collector.py LOG_DIR)
SIZES = {"k": 1024, "m": 1024 ** 2}
# the bounds the harness gives its stacks (settings.HARNESS_STACK_ENV): what the flood must stay within
MAX_SIZE = int(HARNESS_STACK_ENV["LOG_MAX_SIZE"][:-1]) * SIZES[HARNESS_STACK_ENV["LOG_MAX_SIZE"][-1]]
MAX_FILES = int(HARNESS_STACK_ENV["LOG_MAX_FILES"])


@pytest.fixture(scope="session")
def erin(stack, run_users, admin_api):
    with hub_user(stack.hub_url, run_users.name("erin8"), approver=admin_api, ca_bundle=stack.ca_bundle) as user:
        yield user


@pytest.fixture
def erins_servers(erin, stack, admin_api):
    """Erin starting and stopping her own servers with her own token."""
    offered = read_offered_profiles(stack.hub_url, erin.name, erin.password, admin_api)
    s = Servers(erin.api, stack, offered, admin_api)
    yield s
    s.stop_all_started()


@pytest.fixture(scope="session")
def collected_logs(stack, deployment_report):
    """At the end of the run, what the collector kept (its list of names, and the hub's collected log) goes with the
    report as the run's attachments."""
    yield
    try:
        logs = stack.docker.containers.get(stack.logs_container_name)
        listing = logs.exec_run(["logs", "--list"]).output.decode(errors="replace")
        deployment_report.add_run_attachment(f"collected logs: logs --list ({stack.logs_container_name})", listing)
        deployment_report.add_run_attachment("collected logs: logs hub (last 400 lines)",
                                             "\n".join(collected(stack, "hub").splitlines()[-400:]))
    except Exception as exc:  # noqa: BLE001 - an attachment never fails a check
        deployment_report.add_run_attachment("collected logs", f"not read: {exc}")


def collected(stack, name: str) -> str:
    """The admin's command (`docker exec <prefix>jupyterhub-logs logs NAME`); empty while NAME has no log yet."""
    try:
        return stack.collected_log(name)
    except StackError:
        return ""


def say(container, *lines: str) -> None:
    """Lines on the server's own output (its main process's stdout), as the server itself would log them."""
    result = container.exec_run(["python3", "-c", probes.source("say"), *lines])
    output = result.output.decode(errors="replace")
    assert result.exit_code == 0, f"could not write to the server's output: {output}"


def short_name(stack, container_name: str) -> str:
    """A container's name without the stack's prefix: as docs/logs.md's admin command names it."""
    return container_name.removeprefix(stack.prefix)


@pytest.mark.disruptive
def test_a_killed_and_removed_servers_last_lines_are_kept(stack, erin, erins_servers, collected_logs, tally,
                                                          evidence, first_profile):
    """Erin's server writes its last lines and is killed; the hub notices and DockerSpawner removes the container
    (and Docker's log of it). The admin's command still shows those lines, by user and server name."""
    stack.require_docker("killing Erin's server")
    server = erins_servers.start(erin.name, "r8-crash", first_profile)
    name = server.container.name
    last = [f"r8 last words {uuid.uuid4().hex[:8]} ({i})" for i in range(3)]
    say(server.container, *last)
    server.container.kill()
    tally("faults injected")
    wait_for(lambda: erins_servers.api.server(erin.name, "r8-crash") is None, timeout=Timeouts.stop,
             what="the hub to notice Erin's killed server")
    erins_servers.wait_stopped_and_removed(erin.name, "r8-crash")
    erins_servers.api.remove_server(erin.name, "r8-crash")
    gone = name not in {c.name for c in stack.docker.containers.list(all=True)}
    evidence.fact("container", f"{name}: {'removed' if gone else 'still there'}")
    command = f"docker exec {stack.logs_container_name} logs {short_name(stack, name)}"
    try:
        wait_for(lambda: all(line in collected(stack, short_name(stack, name)) for line in last), timeout=30,
                 what="the killed server's last lines in its collected log")
    except Exception:  # noqa: BLE001 - the assertion below says what is missing
        pass
    log = collected(stack, short_name(stack, name))
    evidence.fact("admin's command", command)
    evidence.text(f"collected log: logs {short_name(stack, name)}", log or "(no log)")
    assert gone, f"the killed server's container {name} was not removed"
    missing = [line for line in last if line not in log]
    assert not missing, (f"the killed and removed server's last lines are not in its collected log ({command}): "
                         f"missing {missing}; the log has {len(log.splitlines())} lines")


def hub_marker(stack, marker: str) -> None:
    """A request the hub logs (404 with the path), through the stack's proxy."""
    httpx.get(f"{stack.hub_url}/hub/{marker}", verify=tls_verify(stack.ca_bundle), timeout=Timeouts.http)


@pytest.mark.disruptive
def test_the_hubs_log_survives_the_hub_containers_re_creation(stack, collected_logs, tally, evidence):
    """A line the hub logged, then `docker compose up -d --force-recreate hub`: the new hub container's Docker log
    no longer has it, the collected hub log (`logs hub`) has it and the new container's lines after it."""
    stack.require_docker("re-creating the hub's container")
    token = uuid.uuid4().hex[:8]
    before, after = f"r8-before-recreate-{token}", f"r8-after-recreate-{token}"
    hub_marker(stack, before)
    wait_for(lambda: before in collected(stack, "hub"), timeout=30, what="the hub's line in its collected log")
    old = stack.hub().id
    stack.recreate_hub()
    tally("faults injected")
    new = stack.hub()
    hub_marker(stack, after)
    try:
        wait_for(lambda: after in collected(stack, "hub"), timeout=30, what="the new hub's line in the collected log")
    except Exception:  # noqa: BLE001 - the assertions below say what is missing
        pass
    log = collected(stack, "hub")
    docker_log = new.logs().decode(errors="replace")
    evidence.fact("hub container", f"{old[:12]} -> {new.id[:12]}")
    evidence.fact("admin's command", f"docker exec {stack.logs_container_name} logs hub")
    evidence.fact("the line before, in the new container's docker logs", before in docker_log)
    evidence.fact("collected hub log", "\n".join(x for x in log.splitlines() if token in x))
    assert new.id != old, "the hub container was not re-created"
    assert before in log, f"the hub's log before its re-creation is lost: {before} not in `logs hub`"
    assert after in log, f"the re-created hub's log is not collected: {after} not in `logs hub`"
    assert log.index(before) < log.index(after), "the collected hub log is out of order"


def log_files(stack, name: str) -> dict[str, int]:
    result = stack.docker.containers.get(stack.logs_container_name).exec_run(["logs", "--files", name])
    return json.loads(result.output.decode() or "{}") if result.exit_code == 0 else {}


def test_rotation_bounds_a_flooding_servers_log(stack, erin, erins_servers, collected_logs, tally, evidence,
                                                first_profile):
    """Erin's server prints twice the bound (the harness gives its stacks LOG_MAX_SIZE x LOG_MAX_FILES); the
    collector keeps its newest lines, in at most LOG_MAX_FILES files of at most LOG_MAX_SIZE each."""
    stack.require_docker("reading the collector's files")
    server = erins_servers.start(erin.name, "r8-flood", first_profile)
    name = short_name(stack, server.container.name)
    token = uuid.uuid4().hex[:8]
    line, lines = "x" * 1000, 2 * MAX_SIZE * MAX_FILES // 1000
    started = time.monotonic()
    result = server.container.exec_run(["python3", "-c", probes.source("log_flood"), str(lines), line, token])
    assert result.exit_code == 0, result.output.decode(errors="replace")
    tally("inputs tried")
    wait_for(lambda: f"r8 flood end {token}" in collected(stack, name)[-200:], timeout=120,
             what="the flood's last line in the collected log")
    files = log_files(stack, name)
    evidence.fact("flood", f"{lines} lines of 1 kB ({lines * 1000 / 1e6:.1f} MB) collected in "
                           f"{time.monotonic() - started:.1f} s")
    evidence.fact("bound", f"{MAX_FILES} files of {MAX_SIZE} bytes")
    evidence.fact("collector's files", files)
    over = {f: size for f, size in files.items() if size > MAX_SIZE}
    assert not over, f"files past LOG_MAX_SIZE ({MAX_SIZE} bytes): {over}"
    assert len(files) <= MAX_FILES, f"{len(files)} files kept for {name}, more than LOG_MAX_FILES ({MAX_FILES})"
    assert sum(files.values()) <= MAX_SIZE * MAX_FILES
    assert "r8 flood 0000000 " not in collected(stack, name), "the oldest lines were not rotated out"


def test_a_user_cannot_read_the_collected_logs(stack, erin, erins_servers, collected_logs, evidence, first_profile):
    """Erin's server mounts no part of the collector's volume and sees none of it inside; the collector listens on the
    host's loopback only, which her server cannot connect to (neither as its own 127.0.0.1 nor through its network's
    gateway); and it serves nothing there but takes log lines."""
    stack.require_docker("inspecting the collector and Erin's container")
    logs = stack.docker.containers.get(stack.logs_container_name)
    volume = next((m for m in logs.attrs["Mounts"] if m["Destination"] == LOG_VOLUME_TARGET), None)
    assert volume is not None, f"the collector keeps no volume at {LOG_VOLUME_TARGET}: {logs.attrs['Mounts']}"
    address = dict(e.split("=", 1) for e in logs.attrs["Config"]["Env"]).get("LOG_ADDRESS", "")
    port = address.rsplit(":", 1)[-1]
    server = erins_servers.start(erin.name, "r8-reader", first_profile)
    container = server.container
    mounts = [(m.get("Name") or m["Source"], m["Destination"]) for m in container.attrs["Mounts"]
              if (volume.get("Name") and m.get("Name") == volume["Name"]) or m["Source"].startswith(volume["Source"])]
    gateways = sorted({n["Gateway"] for n in container.attrs["NetworkSettings"]["Networks"].values() if n["Gateway"]})
    inside = container.exec_run(["python3", "-c", probes.source("log_reader"), volume["Source"], port, "127.0.0.1",
                                 *gateways])
    report = inside.output.decode(errors="replace").strip().splitlines()
    evidence.fact("collector", f"volume {volume.get('Name')} at {LOG_VOLUME_TARGET}; listens on {address} "
                               f"(network mode {logs.attrs['HostConfig']['NetworkMode']})")
    evidence.fact("mounted into Erin's server", mounts or "none")
    evidence.fact("from inside Erin's server", report)
    assert inside.exit_code == 0, f"the probe failed in Erin's server: {report}"
    assert not mounts, f"a user server mounts the collected logs: {mounts}"
    assert report[0] == "mounted: none", f"the collected logs are visible inside a user server: {report[0]}"
    assert address.startswith("tcp://127.0.0.1:"), f"the collector listens beyond the host's loopback: {address}"
    reached = [line for line in report[1:] if line.endswith(" connected")]
    assert not reached, f"a user server reaches the log collector: {reached}"
