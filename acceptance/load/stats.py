"""What the load run's records add up to: percentiles per phase and profile, failure classes, the gates,
the knee of a step series. Pure functions over plain data (the records load.json holds)."""
from __future__ import annotations

import math
from collections.abc import Iterable

from acceptance.load.scenario import PHASES

# failure classes, in the order the report lists them
CATEGORIES = ("auth", "spawn", "spawn timeout", "proxy route", "app", "kernel", "stop", "cut short")


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks; None for no values."""
    data = sorted(values)
    if not data:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not within 0..100")
    pos = (len(data) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def classify(phase: str, status: int | None = None, timed_out: bool = False, final_path: str = "") -> str:
    """The class of a failed phase. `status`: the HTTP status that failed it, if any; `final_path`: where the
    landing page's redirects ended (under /hub/: the proxy had no route to the server)."""
    if phase == "login":
        return "auth"
    if phase == "spawn":
        return "spawn timeout" if timed_out else "spawn"
    if phase == "landing":
        if status in (502, 503, 504) or "/hub/" in final_path:
            return "proxy route"
        return "app"
    if phase in ("kernel_start", "first_result"):
        return "kernel"
    if phase == "stop":
        return "stop"
    return "cut short"


def phase_summary(records: list[dict]) -> dict[str, dict[str, dict]]:
    """{phase: {profile key or "all": {n, ok, failures, p50, p95, max, mean}}} over successful durations."""
    out: dict[str, dict[str, dict]] = {}
    for phase in PHASES:
        groups: dict[str, list[dict]] = {"all": []}
        for r in records:
            for p in r["phases"]:
                if p["phase"] == phase:
                    groups["all"].append(p)
                    groups.setdefault(r["profile"], []).append(p)
        out[phase] = {}
        for key, items in groups.items():
            ok = [p["seconds"] for p in items if p["ok"]]
            out[phase][key] = {"n": len(items), "ok": len(ok), "failures": len(items) - len(ok),
                               "p50": percentile(ok, 50), "p95": percentile(ok, 95), "max": max(ok, default=None),
                               "mean": sum(ok) / len(ok) if ok else None}
    return out


def failures(records: list[dict]) -> list[dict]:
    """Every failed phase: user, profile, phase, class, message."""
    out = [{"user": r["user"], "profile": r["profile"], "phase": p["phase"], "category": p["category"],
            "error": p["error"]} for r in records for p in r["phases"] if not p["ok"]]
    out += [{"user": r["user"], "profile": r["profile"],
             "phase": f"after {r['phases'][-1]['phase']}" if r["phases"] else "before login",
             "category": "cut short", "error": "stopped by the run's time limit"}
            for r in records if r.get("cut_short") and all(p["ok"] for p in r["phases"])]
    return out


def failure_rate(records: list[dict]) -> float:
    """Per cent of users whose journey failed somewhere or did not finish."""
    if not records:
        return 100.0
    bad = sum(1 for r in records if not r.get("completed") or any(not p["ok"] for p in r["phases"]))
    return 100.0 * bad / len(records)


def evaluate_gates(gates: dict[str, float], summary: dict, rate: float, host_memory_peak_percent: float | None,
                   cut_short: bool) -> list[dict]:
    """One result per gate: {gate, limit, value, passed, note}; a value that was not measured fails its gate.
    A run cut short by its time limit fails on its own line."""
    results = []
    for gate, limit in gates.items():
        if gate == "failure_rate_percent":
            value = rate
        elif gate == "host_memory_peak_percent":
            value = host_memory_peak_percent
        else:
            phase, stat = gate.rsplit("_", 1)[0].rsplit("_", 1)
            value = summary.get(phase, {}).get("all", {}).get(stat)
        passed = value is not None and value <= limit
        results.append({"gate": gate, "limit": limit, "value": value, "passed": passed,
                        "note": "" if value is not None else "not measured (no successful sample)"})
    if cut_short:
        results.append({"gate": "within time_limit_seconds", "limit": None, "value": None, "passed": False,
                        "note": "the run was cut short by its time limit"})
    return results


def knee(steps: list[dict]) -> int | None:
    """The largest user count that passed every gate before the first step that failed (None: the first
    step failed). `steps`: [{users, passed}] in the order run."""
    best = None
    for s in steps:
        if not s["passed"]:
            break
        best = s["users"]
    return best


def running_over_time(records: list[dict]) -> list[tuple[float, int]]:
    """(time, servers running) at each change, from the clients' view: from spawn ready to stop done."""
    events = []
    for r in records:
        spawn = next((p for p in r["phases"] if p["phase"] == "spawn" and p["ok"]), None)
        if spawn is None:
            continue
        stop = next((p for p in r["phases"] if p["phase"] == "stop"), None)
        events.append((spawn["start"] + spawn["seconds"], 1))
        end = stop["start"] + stop["seconds"] if stop else r.get("ended")
        if end is not None:
            events.append((end, -1))
    series, running = [], 0
    for t, d in sorted(events):
        running += d
        series.append((t, running))
    return series
