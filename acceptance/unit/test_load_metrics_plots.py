"""The hub's metrics (Prometheus text) before and after, beside the clients'; host samples; the SVG plots; the
HTML report."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from acceptance.load import host, metrics, plots, report, stats

BEFORE = """# HELP jupyterhub_server_spawn_duration_seconds time taken for server spawning operation
# TYPE jupyterhub_server_spawn_duration_seconds histogram
jupyterhub_server_spawn_duration_seconds_bucket{le="1.0",status="success"} 0.0
jupyterhub_server_spawn_duration_seconds_bucket{le="5.0",status="success"} 1.0
jupyterhub_server_spawn_duration_seconds_bucket{le="+Inf",status="success"} 1.0
jupyterhub_server_spawn_duration_seconds_count{status="success"} 1.0
jupyterhub_server_spawn_duration_seconds_sum{status="success"} 4.0
# HELP jupyterhub_running_servers the number of user servers currently running
# TYPE jupyterhub_running_servers gauge
jupyterhub_running_servers 0.0
# HELP jupyterhub_total_users total number of users
# TYPE jupyterhub_total_users gauge
jupyterhub_total_users 1.0
"""
AFTER = BEFORE.replace('le="5.0",status="success"} 1.0', 'le="5.0",status="success"} 3.0').replace(
    'le="+Inf",status="success"} 1.0', 'le="+Inf",status="success"} 4.0').replace(
    '_count{status="success"} 1.0', '_count{status="success"} 4.0').replace(
    '_sum{status="success"} 4.0', '_sum{status="success"} 22.0').replace("total_users 1.0", "total_users 5.0")


def test_parse_and_histogram_delta():
    before, after = metrics.parse(BEFORE), metrics.parse(AFTER)
    assert before['jupyterhub_server_spawn_duration_seconds_count{status="success"}'] == 1.0
    assert metrics.total(after, "jupyterhub_total_users") == 5.0
    d = metrics.histogram_delta(before, after, metrics.SPAWN, status="success")
    assert d["count"] == 3 and d["sum"] == 18 and d["mean"] == 6
    assert d["buckets"] == {"1.0": 0, "5.0": 2, "+Inf": 3}
    assert metrics.histogram_delta(before, after, metrics.SPAWN, status="failure")["mean"] is None


def test_summed_by_keeps_one_label_and_sums_over_the_others():
    """R7's view of a histogram: {le: count} summed over statuses; a counter without `le` under ""."""
    failed = ('jupyterhub_server_spawn_duration_seconds_bucket{le="5.0",status="failure"} 2.0\n'
              'jupyterhub_server_spawn_duration_seconds_count{status="failure"} 2.0\n')
    text = AFTER.replace("# HELP jupyterhub_running_servers", failed + "# HELP jupyterhub_running_servers")
    assert metrics.summed_by(text, metrics.SPAWN + "_bucket", "le") == {"1.0": 0.0, "5.0": 5.0, "+Inf": 4.0}
    assert metrics.summed_by(text, metrics.SPAWN + "_count", "le") == {"": 6.0}
    assert metrics.summed_by(text, "jupyterhub_total_users", "le") == {"": 5.0}
    assert metrics.summed_by(text, metrics.SPAWN, "le") == {}


def _client(**kw):
    return {"spawn_ok": 3, "spawn_failed": 0, "spawn_mean": 6.5, "stop_ok": 3, "stop_mean": 1.0, "users": 4,
            "peak_running": 3, "running_after": 0, **kw}


def test_compare_agrees_within_threshold():
    c = metrics.compare(metrics.parse(BEFORE), metrics.parse(AFTER), _client(), max_mean_gap=1)
    assert c["findings"] == []
    assert {"what": "successful spawns", "hub": 3, "client": 3} in c["rows"]


def test_compare_states_the_gaps():
    c = metrics.compare(metrics.parse(BEFORE), metrics.parse(AFTER), _client(spawn_ok=4, spawn_mean=12.0),
                        max_mean_gap=1)
    assert len(c["findings"]) == 2
    assert "hub counted 3 successful spawns, the clients 4" in c["findings"][0]
    assert "gap +6.0 s" in c["findings"][1]
    leak = metrics.parse(AFTER.replace("jupyterhub_running_servers 0.0", "jupyterhub_running_servers 2.0"))
    c = metrics.compare(metrics.parse(BEFORE), leak, _client(), max_mean_gap=1, hub_peak=5)
    assert [f.split(" reads ")[0].split(" peaked")[0] for f in c["findings"]] == [
        "the hub's jupyterhub_running_servers gauge"] * 2
    assert "reads 2 after the run (0 before), while its REST API lists 0" in c["findings"][0]


def test_host_parsers():
    assert host.meminfo("MemTotal:  1024 kB\nMemAvailable: 512 kB\nHugePages_Total: 0\n") == {
        "MemTotal": 1048576, "MemAvailable": 524288, "HugePages_Total": 0}
    assert host.cpu_times("cpu  10 0 10 70 10 0 0 0 0 0\ncpu0 1 1 1 1\n") == (20, 100)
    assert host.container_memory({"memory_stats": {"usage": 500, "limit": 4000, "stats": {"total_inactive_file": 100}}}
                                 ) == (400, 4000)
    assert host.container_memory({}) == (0, 0)
    s = host.summary([{"t": 0, "cpu_percent": 10, "mem_used": 4, "mem_total": 16, "containers": {}},
                      {"t": 1, "cpu_percent": 30, "mem_used": 8, "mem_total": 16,
                       "containers": {"a": {"mem": 2, "limit": 8}, "b": {"mem": 1, "limit": 99}}}])
    assert s["cpu_mean_percent"] == 20 and s["mem_peak_percent"] == 50 and s["containers_peak_mem_sum"] == 3
    assert s["containers_limits_at_peak"] == 8   # "no limit" (the host's memory) is not added


def test_memory_by_profile():
    assert host.docker_name("load-s1-001") == "load-2ds1-2d001" and host.docker_name("Ab.c") == "-41b-2ec"
    per = {"jhvx-jupyter-load-2d001": {"peak_mem": 100, "limit": 400},
           "jhvx-jupyter-load-2d002": {"peak_mem": 300, "limit": 400},
           "jhvx-jupyter-load-2d003": {"peak_mem": 50, "limit": 800},
           "jhvx-jupyterhub-hub": {"peak_mem": 9, "limit": 0}}
    got = host.memory_by_profile(per, {"load-001": "a", "load-002": "a", "load-003": "b"})
    assert got == {"a": {"servers": 2, "peak_max": 300, "peak_mean": 200, "limit": 400},
                   "b": {"servers": 1, "peak_max": 50, "peak_mean": 50, "limit": 800}}


SVG = "{http://www.w3.org/2000/svg}"


def _points(svg: str) -> list:
    root = ET.fromstring(svg)
    return [c for c in root.iter(f"{SVG}circle") if c.get("class") == "pt"]


def test_scatter_is_valid_svg_with_one_circle_per_point():
    svg = plots.scatter({"lab": [(1, 2), (3, 4.5)], "vscode": [(2, 7)], "marimo": []}, "t <&>", "x", "y")
    assert len(_points(svg)) == 3
    assert ET.fromstring(svg).find(f"{SVG}title").text == "t <&>"


@pytest.mark.parametrize("value, axis", [(0, 1), (0.3, 0.5), (14.7, 20), (30, 50), (420, 500), (50, 50)])
def test_axis_ends_on_a_round_number(value, axis):
    assert plots._nice_max(value) == axis


def test_lines_stepped_and_markers():
    svg = plots.lines({"a": [(0, 0), (1, 2), (3, 1)], "b": []}, "t", "x", "y", stepped=True)
    root = ET.fromstring(svg)
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 1 and len(lines[0].get("points").split()) == 5   # 3 points + 2 steps
    assert len(_points(plots.lines({"p50": [(5, 1), (10, 2)], "p95": [(5, 3)]}, "t", "x", "y", markers=True))) == 3


def _run(passed=True, users=3):
    rec = {"user": "load-001", "profile": "lab-2cpu-4gb", "app": "lab", "completed": passed, "retries_429": 0,
           "phases": [{"phase": "spawn", "start": 1.0, "seconds": 4.0, "ok": True, "category": "", "error": ""},
                      {"phase": "landing", "start": 5.0, "seconds": 1.0, "ok": passed,
                       "category": "" if passed else "proxy route", "error": "" if passed else "HTTP 503 <x>"}]}
    records = [rec]
    summary = stats.phase_summary(records)
    gates = stats.evaluate_gates({"failure_rate_percent": 0}, summary, stats.failure_rate(records), None, False)
    sample = {"t": 0, "cpu_percent": 5.0, "mem_used": 1, "mem_total": 4, "containers": {}, "hub_running_servers": 1}
    return {"users": users, "duration": 10.0, "cut_short": False, "records": records, "summary": summary,
            "failures": stats.failures(records), "failure_rate": stats.failure_rate(records), "retries_429": 0,
            "host_samples": [sample], "host_summary": host.summary([sample]), "locust_stats": [],
            "running_over_time": stats.running_over_time(records), "hub_vs_client": None,
            "hub_errors": ["scrape before: HTTP 403"], "gates": gates, "passed": all(g["passed"] for g in gates)}


def _data(runs, mode="single", knee=None):
    return {"scenario": {"name": "t", "source": "t.yaml", "users": 3, "arrival_rate": 1,
                         "profiles": {"lab-2cpu-4gb": 1}, "journey": {"code": "5 * 4", "expect": "20",
                                                                      "stay_seconds": 1}, "time_limit_seconds": 60},
            "mode": mode, "runs": runs, "knee": knee, "hub_url": "http://127.0.0.1:1", "started_at": "now",
            "duration": 12.0, "cleanup": []}


@pytest.mark.parametrize("passed", [True, False])
def test_report_verdict_and_html(tmp_path, passed):
    data = _data([_run(passed)])
    js, page = report.write(data, tmp_path)
    assert data["verdict"] == ("PASS" if passed else "FAIL")
    text = page.read_text()
    assert "<script" not in text and "http" not in text.replace("http://127.0.0.1:1", "").replace(
        "http://www.w3.org/2000/svg", "")
    assert text.count("<svg") == 3
    assert ("HTTP 503 &lt;x&gt;" in text) is not passed
    assert js.exists()


def test_step_verdict_needs_the_scenario_count():
    ok, bad = _run(True, 1), _run(False, 3)
    assert report.verdict(_data([ok, bad], "step", knee=1))[0] == "FAIL"
    assert "knee at 1" in report.verdict(_data([ok, bad], "step", knee=1))[1]
    assert report.verdict(_data([ok, _run(True, 3)], "step", knee=3))[0] == "PASS"
