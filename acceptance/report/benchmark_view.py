"""The benchmark's latest figures (benchmark.json in the report dir, written by `nox -s benchmark`), as the
reports show them: issue 18's speed targets and where a spawn's time goes. See acceptance/timing/benchmark.py."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from acceptance.timing.run import fmt_s
from acceptance.timing.spawn import ROWS

BENCHMARK_FILE = "benchmark.json"


def _num(value: Any) -> str:
    return "—" if value is None else f"{float(value):.2f}"


def read_benchmark(outdir: str | Path) -> dict[str, Any] | None:
    """None without benchmark.json; {"error": ...} if it cannot be read; else date, cores, hub_start,
    targets (figure, measured, target, met, note as text), segments (segment, label, p50, p95, max over all
    spawns), explanation (the fast/slow groups of spawn times) and baseline (the same spawns on the
    --baseline-env stack, one line; empty without one)."""
    path = Path(outdir) / BENCHMARK_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        targets = [{"figure": str(r["figure"]), "measured": fmt_s(r["measured_s"]), "target": fmt_s(r["target_s"]),
                    "met": "not measured" if r["met"] is None else ("yes" if r["met"] else "no"),
                    "note": str(r.get("note") or "")} for r in data["targets"]]
        stack = data.get("stack") or {}
        overall = (stack.get("summary") or {}).get("all") or {}
        segments = [{"segment": key, "label": label, "p50": _num(overall[key]["p50"]),
                     "p95": _num(overall[key]["p95"]), "max": _num(overall[key]["max"])}
                    for key, label in ROWS.items() if key in overall]
        base = data.get("baseline") or {}
        base_total = ((base.get("summary") or {}).get("all") or {}).get("total") or {}
        baseline = (f"{base['label']}: request -> ready p50 {_num(base_total.get('p50'))} s, p95 "
                    f"{_num(base_total.get('p95'))} s" if base else "")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return {"error": f"{BENCHMARK_FILE} could not be read: {type(e).__name__}: {e}"}
    return {
        "error": None,
        "date": str(data.get("date") or "—"),
        "cores": (data.get("host") or {}).get("cores"),
        "hub_start": fmt_s(stack.get("hub_start_s")) if stack else "not measured",
        "spawns_per_profile": stack.get("spawns_per_profile"),
        "targets": targets,
        "segments": segments,
        "explanation": str(stack.get("explanation") or ""),
        "baseline": baseline,
    }
