"""The benchmark's arithmetic: Docker timestamps and logs, a spawn's segments, percentiles, the fast/slow
groups, a run's breakdown and the targets table. No Docker."""
from __future__ import annotations

import json

import pytest

from acceptance.report.benchmark_view import read_benchmark
from acceptance.timing import benchmark, suite
from acceptance.timing import run as run_timing
from acceptance.timing import spawn as spawn_timing
from acceptance.timing.spawn import Spawn

T0 = 1_800_000_000.0   # 2027-01-15T08:00:00Z


def ts(seconds: float) -> str:
    """A Docker timestamp `seconds` after T0, with nanoseconds."""
    whole = int(seconds)
    return f"2027-01-15T08:00:{whole:02d}.{round((seconds - whole) * 1e9):09d}Z"


def test_docker_timestamps_keep_nanoseconds_zones_and_refuse_the_zero_time():
    assert spawn_timing.parse_docker_time(ts(1.5)) == pytest.approx(T0 + 1.5, abs=1e-6)
    assert spawn_timing.parse_docker_time("2027-01-15T09:00:02+01:00") == T0 + 2
    assert spawn_timing.parse_docker_time("2027-01-15T08:00:03Z") == T0 + 3
    assert spawn_timing.parse_docker_time("0001-01-01T00:00:00Z") is None
    assert spawn_timing.parse_docker_time("garbage") is None


def test_a_log_with_timestamps_is_read_line_by_line_and_lines_without_one_are_skipped():
    raw = f"{ts(1)} [I 08:00:01 ServerApp] starting\nno stamp here\n{ts(2.25)} Jupyter Server 2.17.0 is running at:\n"
    lines = spawn_timing.parse_log(raw.encode())
    assert [round(t - T0, 3) for t, _ in lines] == [1, 2.25]
    assert spawn_timing.first(lines, spawn_timing.SERVER_RUNNING) == pytest.approx(T0 + 2.25)
    assert spawn_timing.first(lines, "starting", after=T0 + 1.5) is None


HUB_LOG = "\n".join([
    f"{ts(1)} [I 2027-01-15 08:00:01.000 JupyterHub log:192] 202 POST /hub/api/users/admin/servers/x (admin@1) 9ms",
    f"{ts(2)} [I 2027-01-15 08:00:02.000 JupyterHub base:1193] User admin:other took 1.000 seconds to start",
    f"{ts(4.5)} [I 2027-01-15 08:00:04.500 JupyterHub base:1193] User admin:x took 3.500 seconds to start",
    f"{ts(4.6)} [I 2027-01-15 08:00:04.600 JupyterHub proxy:336] Adding user admin to proxy /user/admin/x/ => "
    "http://172.18.0.3:8888",
    f"{ts(4.7)} 08:00:04.700 [ConfigProxy] info: Adding route /user/admin/x -> http://172.18.0.3:8888",
    f"{ts(4.8)} 08:00:04.800 [ConfigProxy] info: Route added /user/admin/x -> http://172.18.0.3:8888",
])


def test_the_hubs_points_come_from_its_own_lines_for_that_server_and_the_proxys_last_word():
    lines = spawn_timing.parse_log(HUB_LOG)
    points = spawn_timing.hub_points(lines, "admin", "x", "/user/admin/x/")
    assert points["hub_ready"] == pytest.approx(T0 + 4.5)
    assert points["routed"] == pytest.approx(T0 + 4.7)   # the first proxy line for the route after the hub's
    assert spawn_timing.hub_points(lines, "admin", "missing", "/user/admin/missing/") == {
        "hub_ready": None, "routed": None}


def test_without_a_proxy_line_the_route_is_the_hubs_adding_user_line():
    lines = spawn_timing.parse_log("\n".join(HUB_LOG.splitlines()[:4]))
    assert spawn_timing.hub_points(lines, "admin", "x", "/user/admin/x/")["routed"] == pytest.approx(T0 + 4.6)


def spawn(profile: str, *at: float | None, name: str = "s") -> Spawn:
    """A spawn whose points are `at` seconds after T0 (None: not found), in POINTS' order."""
    return Spawn(profile, "admin", name, {p: None if t is None else T0 + t
                                          for p, t in zip(spawn_timing.POINTS, at, strict=True)})


def test_segments_are_the_gaps_between_consecutive_points_and_unknown_beside_a_missing_one():
    s = spawn("Lab", 0, 0.4, 0.9, 2.4, 3.4, 3.5, 3.6)
    assert s.total == 3.6
    assert spawn_timing.segments(s.points) == {
        "hub_to_container_created": 0.4, "container_create_to_start": 0.5, "server_startup": 1.5,
        "hub_readiness_poll": 1.0, "proxy_route": 0.1, "client_sees_ready": 0.1}
    gap = spawn_timing.segments(spawn("Lab", 0, 0.4, 0.9, None, 3.4, 3.5, 3.6).points)
    assert gap["server_startup"] is None and gap["hub_readiness_poll"] is None and gap["proxy_route"] == 0.1


def test_percentiles_interpolate_between_ranks():
    assert spawn_timing.percentile([], 50) is None
    assert spawn_timing.percentile([5], 95) == 5
    assert spawn_timing.percentile([1, 2, 3, 4], 50) == 2.5
    assert spawn_timing.percentile(range(1, 21), 95) == 19.05
    assert spawn_timing.stats([3, None, 1, 2]) == {"n": 3, "p50": 2, "p95": 2.9, "max": 3}


def test_summary_per_profile_and_over_all():
    spawns = [spawn("Lab", 0, 0.4, 0.9, 2.4, 3.4, 3.5, 3.6), spawn("Lab", 0, 0.4, 0.9, 2.4, 3.4, 3.5, 4.0),
              spawn("VS Code", 0, 0.5, 1.0, 3.0, 6.5, 6.6, 7.0)]
    spawns[0].landing_s, spawns[0].stop_s = 0.2, 1.1
    summary = spawn_timing.summarize(spawns)
    assert list(summary["per_profile"]) == ["Lab", "VS Code"]
    assert summary["all"]["total"] == {"n": 3, "p50": 4.0, "p95": 6.7, "max": 7.0}
    assert summary["per_profile"]["Lab"]["total"]["p50"] == 3.8
    assert summary["per_profile"]["VS Code"]["hub_readiness_poll"]["max"] == 3.5
    assert summary["all"]["landing"]["n"] == 1 and summary["all"]["stop"]["max"] == 1.1


def test_two_groups_of_spawn_times_are_found_and_the_segment_that_separates_them_is_named():
    fast = [spawn("Lab", 0, 0.4, 0.9, 2.4, 3.0 + d, 3.1 + d, 3.6 + d, name=f"f{i}")
            for i, d in enumerate((0, 0.1, 0.2))]
    slow = [spawn("Lab", 0, 0.4, 0.9, 2.5, 6.5 + d, 6.6 + d, 7.1 + d, name=f"s{i}") for i, d in enumerate((0, 0.2))]
    m = spawn_timing.modes(fast + slow)
    assert m["fast"]["n"] == 3 and m["slow"]["n"] == 2 and m["cause"] == "hub_readiness_poll"
    assert m["slow_servers"] == ["admin:s0", "admin:s1"]
    assert "hub_readiness_poll" in spawn_timing.explain_modes(m)


def test_spawn_times_without_a_gap_or_with_a_lone_outlier_are_one_group():
    even = [spawn("Lab", 0, 0.4, 0.9, 2.4, 3.0 + d, 3.1 + d, 3.6 + d, name=str(d)) for d in (0, 0.3, 0.6, 0.9)]
    assert spawn_timing.modes(even) is None
    outlier = [*even[:3], spawn("Lab", 0, 0.4, 0.9, 2.4, 9, 9.1, 9.6)]
    assert spawn_timing.modes(outlier) is None
    assert "one group" in spawn_timing.explain_modes(None)


REPORT = {"started": "2027-01-15T08:00:00+00:00", "status": "OPERATIONAL", "duration_s": 500.0, "steps": [
    {"id": "P1", "title": "Phase 1", "status": "passed", "duration_s": 30.0, "checks": [
        {"nodeid": "t::p1", "duration_s": 30.0, "phases_s": {"setup": 25.0, "call": 5.0, "teardown": 0.0}}]},
    {"id": "T3", "title": "Test 3", "status": "passed", "duration_s": 60.0, "checks": [
        {"nodeid": "t::t3a", "duration_s": 40.0, "phases_s": {"setup": 1.0, "call": 39.0, "teardown": 0.0}},
        {"nodeid": "t::t3b", "duration_s": 20.0}]},
    {"id": "R2", "title": "Security 2", "status": "passed", "duration_s": 15.0, "checks": [
        {"nodeid": "t::r2", "duration_s": 15.0}]},
    {"id": "R6", "title": "Security 6", "status": "passed", "duration_s": 9.0, "checks": [
        {"nodeid": "t::r6", "duration_s": 9.0}]},
    {"id": "R7", "title": "Production", "status": "not run", "duration_s": 0.0, "checks": []},
]}


def test_a_runs_breakdown_sums_the_checklist_and_the_full_run_and_ranks_checks_and_setups():
    run = run_timing.run_breakdown(REPORT)
    assert run["checklist_s"] == 90.0 and run["full_run_s"] == 105.0 and run["report_duration_s"] == 500.0
    assert [s["id"] for s in run["steps"]] == ["P1", "T3", "R2", "R6", "R7"]
    assert [c["nodeid"] for c in run["slowest_checks"]][:2] == ["t::t3a", "t::p1"]
    assert run["slowest_setups"] == [{"nodeid": "t::p1", "step": "P1", "setup_s": 25.0},
                                     {"nodeid": "t::t3a", "step": "T3", "setup_s": 1.0}]
    assert run_timing.run_breakdown({"steps": []})["checklist_s"] is None


def test_junit_cases_are_counted_and_the_slowest_listed(tmp_path):
    xml = tmp_path / "junit.xml"
    xml.write_text('<testsuites><testsuite><testcase classname="a.b" name="fast" time="0.5"/>'
                   '<testcase classname="a.b" name="slow" time="12.25"/></testsuite></testsuites>')
    j = run_timing.junit_slowest(xml, slowest=1)
    assert j == {"tests": 2, "sum_s": 12.75, "slowest": [{"test": "a.b::slow", "time_s": 12.25}]}


def test_the_targets_table_says_met_for_measured_figures_and_how_to_measure_the_others():
    rows = {r["figure"]: r for r in run_timing.targets({"spawn_p50": 3.6, "spawn_p95": 4.9, "checklist": 240.0})}
    assert len(rows) == 6
    assert rows["spawn request to ready, p50"]["met"] is False
    p95 = rows["spawn request to ready, p95"]
    assert p95["met"] is False and p95["target_s"] == 3.0
    assert rows["checklist alone (P1-P4, T1-T8)"]["target_s"] == 150.0
    cold = rows["README's two commands on a bare machine (cold)"]
    assert cold["measured_s"] is None and cold["met"] is None and "--suite cold" in cold["note"]
    assert run_timing.fmt_s(440) == "7 min 20 s" and run_timing.fmt_s(3.62) == "3.6 s"
    assert run_timing.fmt_s(None) == "not measured"


def test_the_spawn_count_is_bounded():
    with pytest.raises(SystemExit):
        benchmark.main(["--spawns", str(benchmark.MAX_SPAWNS + 1)])


def test_the_report_shows_the_latest_benchmark(tmp_path):
    assert read_benchmark(tmp_path) is None
    (tmp_path / "benchmark.json").write_text("{not json")
    assert "could not be read" in read_benchmark(tmp_path)["error"]
    data = {"date": "2027-01-15T08:00:00+00:00", "host": {"cores": 2},
            "targets": run_timing.targets({"spawn_p50": 3.6, "spawn_p95": 7.1}),
            "stack": {"hub_start_s": 2.5, "explanation": "two groups",
                      "summary": spawn_timing.summarize([spawn("Lab", 0, 0.4, 0.9, 2.4, 3.4, 3.5, 3.6)])}}
    (tmp_path / "benchmark.json").write_text(json.dumps(data))
    view = read_benchmark(tmp_path)
    assert view["error"] is None and view["date"] == data["date"] and view["explanation"] == "two groups"
    assert [(r["measured"], r["target"], r["met"]) for r in view["targets"][2:4]] == [
        ("3.6 s", "2.0 s", "no"), ("7.1 s", "3.0 s", "no")]
    assert view["targets"][0]["met"] == "not measured" and view["baseline"] == ""
    data["baseline"] = {**data["stack"], "label": "baseline (X=0)"}
    (tmp_path / "benchmark.json").write_text(json.dumps(data))
    assert read_benchmark(tmp_path)["baseline"] == "baseline (X=0): request -> ready p50 3.60 s, p95 3.60 s"
    assert view["segments"][0] == {"segment": "total", "label": "request -> ready (client)", "p50": "3.60",
                                   "p95": "3.60", "max": "3.60"}


def test_a_suite_run_is_green_only_when_both_commands_passed_and_the_report_is_operational():
    report = {"status": "OPERATIONAL", "duration_s": 290.5,
              "steps": [{"id": "P1", "checks": [{}, {}]}, {"id": "T1", "checks": [{}]}]}
    build = {"images": [{"name": "hub", "seconds": 61.0}, {"name": "uv-lab", "seconds": 120.5}]}
    fig = suite.figures("cold", (62.0, 0), (480.4, 0), report, build)
    assert fig["total_s"] == 542.4 and fig["suite_s"] == 290.5 and fig["checks"] == 3 and fig["green"]
    assert fig["builds_s"] == {"hub": 61.0, "uv-lab": 120.5}
    assert not suite.figures("warm", (5.0, 0), (300.0, 1), report, build)["green"]
    assert not suite.figures("warm", (5.0, 0), (300.0, 0), {**report, "status": "PARTIAL"}, None)["green"]
    unwritten = suite.figures("warm", (5.0, 0), (300.0, 0), None, None)
    assert not unwritten["green"] and unwritten["verdict"] is None and unwritten["builds_s"] is None


def test_the_suite_kind_is_warm_or_cold():
    with pytest.raises(ValueError, match="warm or cold"):
        suite.time_suite("lukewarm")


def test_a_spawn_only_benchmark_keeps_the_suite_figures(tmp_path):
    out = tmp_path / "benchmark.json"
    assert benchmark.previous_suite(out) == {}
    out.write_text(json.dumps({"suite": {"cold": {"total_s": 600.0}}}))
    assert benchmark.previous_suite(out) == {"cold": {"total_s": 600.0}}
    out.write_text("[1, 2]")
    assert benchmark.previous_suite(out) == {}


def test_the_suite_runs_readmes_commands_with_the_users_python_not_the_benchmarks_virtualenv(tmp_path):
    venv = tmp_path / ".nox" / "benchmark"
    (venv / "bin").mkdir(parents=True)
    environ = {"PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin", "VIRTUAL_ENV": str(venv), "HOME": "/root"}
    assert suite.user_env(environ, str(venv)) == {"PATH": "/usr/local/bin:/usr/bin", "HOME": "/root"}
    assert suite.user_env({"PATH": "/usr/bin"}, None) == {"PATH": "/usr/bin"}


def test_a_failed_suite_run_ends_the_benchmark_non_zero_with_its_figures_written(tmp_path, monkeypatch):
    failed = {**suite.figures("cold", (12.0, 1), (0.0, -1), None, None), "commit": "56c5fb5" * 6,
              "logs": "reports/benchmark-suite"}
    monkeypatch.setattr(suite, "time_suite", lambda kind: dict(failed))
    monkeypatch.setattr(benchmark, "sizes", lambda client: pytest.fail("measured images a failed run left missing"))
    monkeypatch.setattr(benchmark, "host_facts", lambda: {})
    out = tmp_path / "benchmark.json"
    with pytest.raises(SystemExit, match="the cold suite run failed: its logs are in reports/benchmark-suite"):
        benchmark.main(["--spawns", "0", "--suite", "cold", "--output", str(out)])
    assert json.loads(out.read_text())["suite"]["cold"] == failed
