"""Where a run's time goes, from what the run wrote: the deployment report's steps (each check's duration is
its setup + call + teardown; `phases_s` splits them, so a slow setup is a slow fixture) and pytest's JUnit XML
(every test, the unit tests too). And the speed targets of issue 11, measured or not."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

CHECKLIST = ("P1", "P2", "P3", "P4", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8")
FULL_RUN = (*CHECKLIST, "R1", "R2", "R3", "R4", "R5")
SLOWEST = 10


def _sum_steps(steps: list[dict], ids: tuple[str, ...]) -> float | None:
    ran = [s for s in steps if s["id"] in ids and s.get("checks")]
    return round(sum(float(s["duration_s"]) for s in ran), 3) if ran else None


def run_breakdown(report: dict, slowest: int = SLOWEST) -> dict:
    """Per step duration, the checklist's and the full run's sums, the report's own duration (the whole pytest
    run), the slowest checks and, where the report records them, the slowest setups (fixtures)."""
    steps = report.get("steps") or []
    checks = [{"step": s["id"], "nodeid": c["nodeid"], "duration_s": round(float(c["duration_s"]), 3),
               "phases_s": c.get("phases_s")} for s in steps for c in s.get("checks") or []]
    setups = [c for c in checks if (c["phases_s"] or {}).get("setup") is not None]
    return {
        "report_started": report.get("started"),
        "report_status": report.get("status"),
        "report_duration_s": report.get("duration_s"),
        "steps": [{"id": s["id"], "title": s.get("title", ""), "status": s.get("status"),
                   "checks": len(s.get("checks") or []), "duration_s": round(float(s["duration_s"]), 3)}
                  for s in steps],
        "checklist_s": _sum_steps(steps, CHECKLIST),
        "full_run_s": _sum_steps(steps, FULL_RUN),
        "slowest_checks": sorted(checks, key=lambda c: -c["duration_s"])[:slowest],
        "slowest_setups": [{"nodeid": c["nodeid"], "step": c["step"], "setup_s": round(c["phases_s"]["setup"], 3)}
                           for c in sorted(setups, key=lambda c: -c["phases_s"]["setup"])[:slowest]],
    }


def junit_slowest(path: str | Path, slowest: int = SLOWEST) -> dict:
    """Every test case of a JUnit XML (pytest's --junitxml: time = setup + call + teardown): count, the sum of
    their times, and the slowest."""
    cases = [{"test": f"{c.get('classname', '')}::{c.get('name', '')}", "time_s": float(c.get("time") or 0)}
             for c in ET.parse(path).getroot().iter("testcase")]
    return {"tests": len(cases), "sum_s": round(sum(c["time_s"] for c in cases), 3),
            "slowest": sorted(cases, key=lambda c: -c["time_s"])[:slowest]}


# issue 18's speed targets (seconds): figure, target, and the command that measures a figure this run did not
TARGETS = (
    ("warm full run (checklist + R1-R5)", "full_run", 300.0,
     "sum of steps P1-P4, T1-T8, R1-R5 of a deployment report: nox -s acceptance, then "
     "python -m acceptance.timing.benchmark --run-report reports/deployment-report.json"),
    ("checklist alone (P1-P4, T1-T8)", "checklist", 150.0,
     "sum of steps P1-P4, T1-T8 of a deployment report (--run-report)"),
    ("spawn request to ready, p50", "spawn_p50", 2.0, "python -m acceptance.timing.benchmark (--spawns N)"),
    ("spawn request to ready, p95", "spawn_p95", 3.0, "python -m acceptance.timing.benchmark (--spawns N)"),
    ("the suite alone, images warm (wall clock)", "suite_warm", 300.0,
     "python -m acceptance.timing.benchmark --suite warm (README's main job from a fresh clone)"),
    ("README's two commands on a bare machine (cold)", "cold", 540.0,
     "python -m acceptance.timing.benchmark --suite cold (a fresh clone, no engine, no images)"),
)


def targets(measured: dict[str, float | None]) -> list[dict]:
    """[{figure, measured_s, target_s, met, note}]: met is None where the figure was not measured."""
    rows = []
    for figure, key, target, how in TARGETS:
        value = measured.get(key)
        rows.append({"figure": figure, "measured_s": value, "target_s": target,
                     "met": None if value is None else value <= target,
                     "note": "" if value is not None else f"not measured in this run; measured by: {how}"})
    return rows


def fmt_s(seconds: float | None) -> str:
    """'7 min 20 s', '3.6 s' or 'not measured'."""
    if seconds is None:
        return "not measured"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"
