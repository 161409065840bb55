"""Load 1: many users at once (--load SCENARIO). The load stage (acceptance/load/, also `nox -s load`) runs
against this run's deployment in its own process (Locust's gevent patches the process it runs in): the
scenario's users sign up, start servers, open their apps, run code on kernels, stay and stop. Its gates come
from the scenario file; its report (load.html, load.json) sits beside this one and its plots are shown here."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dockerspawner import DockerSpawner

from acceptance.load.scenario import load_scenario
from acceptance.report.collect import get_collector

pytestmark = [pytest.mark.l1, pytest.mark.load, pytest.mark.disruptive]
CLEANUP_MARGIN = 600   # seconds beyond the scenario's own limits: its clean-up stops and deletes what it made


@pytest.fixture(scope="module")
def load_run(stack, mode, admin_api, request) -> dict:
    """Runs the load stage once and returns load.json (the records, gates, hub view and clean-up)."""
    scenario = load_scenario(mode.load)
    steps = len(scenario.steps) if scenario.steps else 1
    report_dir = get_collector(request.config).outdir / "load"
    command = [sys.executable, "-m", "acceptance.load", "--scenario", str(mode.load),
               "--hub-url", stack.hub_url, "--report-dir", str(report_dir)]
    if mode.docker:   # the deployment's engine is ours: sample its containers, remove the run's volumes
        command.append("--docker-host")
    if stack.ca_bundle:
        command += ["--ca-bundle", str(stack.ca_bundle)]
    env = {**os.environ, "JUPYTERHUB_ADMIN_TOKEN": admin_api.token}
    limit = scenario.time_limit_seconds * steps + CLEANUP_MARGIN
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=limit,
                              cwd=Path(__file__).resolve().parents[2])
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the load stage did not end within {limit:.0f} s (the scenario's limit and clean-up): "
                    f"{(exc.stdout or '')[-2000:]}")
    result = report_dir / "load.json"
    if not result.is_file():
        pytest.fail(f"the load stage wrote no {result} (exit {done.returncode}): {done.stderr[-3000:]}")
    data = json.loads(result.read_text())
    data["console"], data["report_dir"] = done.stdout + done.stderr, str(report_dir)
    return data


def test_every_user_completes_the_journey_within_the_scenarios_gates(load_run, evidence):
    """Every user of the scenario signs up, spawns, lands on its app, gets its code's result on a kernel and
    stops, within the scenario's time limit, and every gate (failure rate, latency percentiles) passes."""
    evidence.text("load stage output", load_run["console"])
    evidence.file("load report", Path(load_run["report_dir"]) / "load.html")
    for plot in sorted(Path(load_run["report_dir"]).glob("plot-*.svg"), key=lambda p: int(p.stem.split("-")[1])):
        evidence.file(plot.stem, plot)
    for run in load_run["runs"]:
        for gate in run["gates"]:
            value = gate.get("value")
            evidence.fact(f"{run['users']} users: {gate['gate']}",
                          f"{round(value, 2) if isinstance(value, float) else value} (limit {gate.get('limit')}) "
                          f"{'ok' if gate['passed'] else 'FAILED'}")
    if load_run["mode"] == "step":
        evidence.fact("knee (largest count that passed)", load_run["knee"])
    failed = [f"{run['users']} users: {g['gate']} = {g.get('value')} > {g.get('limit')} {g.get('note') or ''}"
              for run in load_run["runs"] for g in run["gates"] if not g["passed"]]
    assert load_run["verdict"] == "PASS" and not failed, \
        f"load {load_run['verdict']}: {load_run.get('verdict_reason')}; failed gates: {failed}"


def test_the_hubs_own_metrics_agree_with_what_the_users_measured(load_run, evidence):
    """/hub/metrics scraped before and after: the hub counts as many successful spawns as the users saw;
    other gaps (mean spawn time, the running-servers gauge) are findings, shown here."""
    for run in load_run["runs"]:
        view = run.get("hub_vs_client")
        assert view is not None, f"{run['users']} users: the hub's metrics were not read: {run['hub_errors']}"
        for n, finding in enumerate(view.get("findings", []), start=1):
            evidence.fact(f"{run['users']} users: finding {n}", finding)
        evidence.text(f"{run['users']} users: hub and clients", json.dumps(
            {k: v for k, v in view.items() if k != "findings"}, indent=1, default=str))
        spawns = next(row for row in view["rows"] if row["what"] == "successful spawns")
        hub, client = spawns["hub"], spawns["client"]
        assert hub == client, f"{run['users']} users: the hub counted {hub} successful spawns, the users {client}"


def test_the_load_leaves_no_user_server_or_volume(load_run, admin_api, stack, mode, expected, evidence):
    """After the load, none of its users, servers or home volumes is left on the deployment."""
    names = [r["user"] for run in load_run["runs"] for r in run["records"]]
    left = [n for n in names if admin_api.http.get(f"/hub/api/users/{n}").status_code != 404]
    problems = [p for run in load_run["runs"] for p in run["cleanup_problems"]]
    evidence.fact("users the load made", len(names))
    for n, line in enumerate(load_run["cleanup"], start=1):
        evidence.fact(f"clean-up {n}", line)
    assert not left, f"users left by the load: {left[:10]}"
    assert not problems, f"the load's clean-up: {problems}"
    if mode.docker:
        homes = {expected.name("home_volume", prefix=stack.prefix, username=DockerSpawner._escape(n)) for n in names}
        volumes = [v.name for v in stack.docker.volumes.list() if v.name in homes]
        assert not volumes, f"home volumes left by the load: {volumes[:10]}"
