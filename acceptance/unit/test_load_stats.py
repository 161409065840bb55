"""The load run's arithmetic: percentiles, failure classes, gates, the knee, servers running over time."""
from __future__ import annotations

import pytest

from acceptance.load import stats


def _phase(phase, start, seconds, ok=True, category="", error=""):
    return {"phase": phase, "start": start, "seconds": seconds, "ok": ok, "category": category, "error": error}


def _record(user, profile, phases, completed=True, **kw):
    return {"user": user, "profile": profile, "app": "lab", "phases": phases, "completed": completed,
            "retries_429": 0, **kw}


def test_percentile_interpolates_between_ranks():
    assert stats.percentile([], 50) is None
    assert stats.percentile([7], 95) == 7
    assert stats.percentile([1, 2, 3, 4], 50) == 2.5
    assert stats.percentile(range(1, 101), 95) == pytest.approx(95.05)
    assert stats.percentile([3, 1, 2], 100) == 3
    with pytest.raises(ValueError):
        stats.percentile([1], 101)


def test_percentile_is_the_inclusive_quantile_of_statistics_but_not_to_the_last_bit():
    """The method is statistics.quantiles(method="inclusive") (R's type 7), which the percentile does not call:
    on Python 3.11 quantiles refuses a single value and has no 0th or 100th cut, and it interpolates as
    (a*(n-d) + b*d)/n where the percentile does a + (b-a)*f, so the two differ in the last bits of many
    results (here: the p95 of 8 spawn times); replacing it would move the figures and the gates' edges."""
    import random
    import statistics
    import sys
    rng = random.Random(19)
    for _ in range(500):
        data = [round(rng.uniform(0, 100), 3) for _ in range(rng.randint(2, 60))]
        cuts = statistics.quantiles(data, n=100, method="inclusive")
        assert all(stats.percentile(data, q) == pytest.approx(cuts[q - 1], rel=1e-12, abs=1e-12) for q in (50, 95))
    times = [1.2, 95.1888, 3.4, 7.0, 2.2, 4.5, 6.1, 5.3]
    assert stats.percentile(times, 95) != statistics.quantiles(times, n=100, method="inclusive")[94]
    if sys.version_info < (3, 13):   # the harness's Python (noxfile: 3.11)
        with pytest.raises(statistics.StatisticsError):
            statistics.quantiles([7], n=100, method="inclusive")


@pytest.mark.parametrize("args, expected", [
    (("login", 403), "auth"),
    (("spawn", None, True), "spawn timeout"),
    (("spawn", 500), "spawn"),
    (("landing", 503), "proxy route"),
    (("landing", 404, False, "/hub/user/load-001/lab"), "proxy route"),
    (("landing", 500, False, "/user/load-001/lab"), "app"),
    (("kernel_start", 500), "kernel"),
    (("first_result", None, True), "kernel"),
    (("stop", None, True), "stop"),
])
def test_failure_classes(args, expected):
    assert stats.classify(*args) == expected
    assert expected in stats.CATEGORIES


def test_summary_failures_and_rate():
    records = [
        _record("u1", "lab", [_phase("login", 0, 1), _phase("spawn", 1, 4)]),
        _record("u2", "vscode", [_phase("login", 0, 2), _phase("spawn", 2, 8)]),
        _record("u3", "vscode", [_phase("login", 0, 3), _phase("spawn", 3, 300, False, "spawn timeout", "late")],
                completed=False),
        _record("u4", "lab", [], completed=False, cut_short=True),
    ]
    s = stats.phase_summary(records)
    assert s["spawn"]["all"] == {"n": 3, "ok": 2, "failures": 1, "p50": 6.0, "p95": pytest.approx(7.8),
                                 "max": 8, "mean": 6.0}
    assert s["spawn"]["vscode"]["failures"] == 1 and s["spawn"]["lab"]["p50"] == 4
    assert s["stop"]["all"]["n"] == 0 and s["stop"]["all"]["p95"] is None
    assert [(f["user"], f["category"], f["phase"]) for f in stats.failures(records)] == [
        ("u3", "spawn timeout", "spawn"), ("u4", "cut short", "before login")]
    assert stats.failure_rate(records) == 50.0
    assert stats.failure_rate([]) == 100.0


def test_gates():
    summary = {"spawn": {"all": {"p95": 12.0, "p50": 5.0, "max": 20.0}}, "first_result": {"all": {"p95": None}}}
    gates = {"spawn_p95_seconds": 10, "spawn_p50_seconds": 10, "failure_rate_percent": 0,
             "first_result_p95_seconds": 30, "host_memory_peak_percent": 80}
    res = {g["gate"]: g for g in stats.evaluate_gates(gates, summary, 0.0, 42.0, cut_short=False)}
    assert not res["spawn_p95_seconds"]["passed"] and res["spawn_p95_seconds"]["value"] == 12.0
    assert res["spawn_p50_seconds"]["passed"] and res["failure_rate_percent"]["passed"]
    assert res["host_memory_peak_percent"]["passed"]
    assert not res["first_result_p95_seconds"]["passed"] and "not measured" in res["first_result_p95_seconds"]["note"]
    cut = stats.evaluate_gates({"failure_rate_percent": 5}, summary, 0.0, None, cut_short=True)
    assert [g["passed"] for g in cut] == [True, False] and "time limit" in cut[-1]["note"]


@pytest.mark.parametrize("steps, knee", [
    ([(5, True), (10, True), (20, False), (35, True)], 10),
    ([(5, False), (10, True)], None),
    ([(5, True), (10, True)], 10),
    ([], None),
])
def test_knee_is_the_last_count_before_the_first_failure(steps, knee):
    assert stats.knee([{"users": u, "passed": p} for u, p in steps]) == knee


def test_running_over_time():
    records = [
        _record("u1", "lab", [_phase("spawn", 0, 2), _phase("stop", 10, 1)]),
        _record("u2", "lab", [_phase("spawn", 1, 3), _phase("stop", 6, 1)]),
        _record("u3", "lab", [_phase("spawn", 1, 3, ok=False)]),
    ]
    assert stats.running_over_time(records) == [(2, 1), (4, 2), (7, 1), (11, 0)]
