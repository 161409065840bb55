"""The mutation self-test's latest result (mutants.json in the report dir), as the reports show it.

mutants.json (acceptance/mutants.py write_table):
  {"finished": "<iso>", "total": 5, "applied": 4, "caught": 4, "missed": 0, "not_applied": 1, "control_failed": 0,
   "kill_rate": 1.0,                                      # caught / applied
   "controls": [{"id": "control-compose", "stack": "compose", "args": [], "keyword": "...", "breakages": [...],
                 "status": "PARTIAL", "checks": 9, "ok": true, "duration_s": 95.1}],
   "rows": [{"id": "p3-memory-doubled", "breakage": "...", "category": "profile definition", "stack": "compose",
             "expected_steps": ["P3", "T8"], "result": "caught", "caught": true, "applied": true,
             "failed_steps": ["P3", "T8"], "catches": [{"check_id": "...", "step": "P3", "message": "..."}],
             "control": {"ok": true, "run": "control-compose", "checks": [...], "problems": []},
             "message": "...", "duration_s": 41.2}],
   "coverage": {"source": "...", "total": 117, "covered": 12, "uncovered": ["<check id>", ...],
                "checks": [{"check_id": "...", "step": "P3", "breakages": ["p3-memory-doubled"],
                            "unit_tests": ["acceptance/unit/...::test_..."]}]}}
Files written before the control and the coverage table (rows with "caught" only) are shown too: a row
without "result" is caught or missed.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MUTANTS_FILE = "mutants.json"
MESSAGE_LIMIT = 300
RESULTS = ("caught", "missed", "not applied", "control failed")


def _steps(value: Any) -> str:
    return ", ".join(str(s) for s in value or []) or "—"


def _short(text: Any, limit: int = MESSAGE_LIMIT) -> str:
    text = " ".join(str(text or "").split())
    return text[:limit].rstrip() + " …" if len(text) > limit else text


def _row(r: dict[str, Any]) -> dict[str, Any]:
    result = r.get("result")
    if result is None:                                  # an older file: caught or not
        result = "caught" if r.get("caught") is True else "missed"
    if result not in RESULTS:
        raise ValueError(f"row {r.get('id')!r}: unknown result {result!r}")
    control = r.get("control") or {}
    return {
        "id": str(r["id"]),
        "breakage": str(r.get("breakage") or ""),
        "category": str(r.get("category") or ""),
        "stack": str(r.get("stack") or "compose"),
        "expected_steps": _steps(r.get("expected_steps")),
        "result": result,
        "result_class": result.replace(" ", "-"),
        "caught": result == "caught",
        "failed_steps": _steps(r.get("failed_steps")),
        "catches": [{"check_id": str(c["check_id"]), "step": str(c.get("step") or ""),
                     "message": _short(c.get("message"), 200)} for c in r.get("catches") or []],
        "control_problems": _short("; ".join(str(p) for p in control.get("problems") or [])),
        "message": _short(r.get("message")),
    }


def _control(c: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(c["id"]), "stack": str(c.get("stack") or ""), "ok": c.get("ok") is True,
            "status": str(c.get("status") or "no report"), "checks": int(c.get("checks") or 0),
            "breakages": ", ".join(str(b) for b in c.get("breakages") or []),
            "duration_s": round(float(c.get("duration_s") or 0))}


def _coverage(cov: dict[str, Any] | None) -> dict[str, Any] | None:
    if not cov:
        return None
    checks = [{"check_id": str(c["check_id"]), "step": str(c.get("step") or ""),
               "breakages": ", ".join(str(b) for b in c.get("breakages") or []),
               "unit_tests": ", ".join(str(u).split("::")[-1] for u in c.get("unit_tests") or [])}
              for c in cov.get("checks", [])]
    covered = [c for c in checks if c["breakages"] or c["unit_tests"]]
    return {"source": str(cov.get("source") or ""), "total": len(checks), "covered": len(covered),
            "by_breakage": sum(1 for c in checks if c["breakages"]), "covered_checks": covered,
            "uncovered": [str(u) for u in cov.get("uncovered", [])]}


def read_mutants(outdir: str | Path) -> dict[str, Any] | None:
    """None without mutants.json; {"error": ...} if it cannot be read; else finished; the counts (from the rows):
    total, applied, caught, missed, not_applied, control_failed, kill_rate (text: caught / applied); controls;
    rows (id, breakage, category, stack, expected_steps, result, result_class, caught, failed_steps, catches,
    control_problems, message); coverage (source, total, covered (by a breakage or a unit test), by_breakage,
    covered_checks, uncovered) or None."""
    path = Path(outdir) / MUTANTS_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = [_row(r) for r in data["rows"]]
        controls = [_control(c) for c in data.get("controls") or []]
        cov = _coverage(data.get("coverage"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return {"error": f"{MUTANTS_FILE} could not be read: {type(e).__name__}: {e}"}
    n = {result: sum(r["result"] == result for r in rows) for result in RESULTS}
    applied = n["caught"] + n["missed"]
    return {
        "error": None,
        "finished": str(data.get("finished") or "—"),
        "total": len(rows),
        "applied": applied,
        "caught": n["caught"],
        "missed": n["missed"],
        "not_applied": n["not applied"],
        "control_failed": n["control failed"],
        "kill_rate": f"{n['caught'] / applied:.0%}" if applied else "—",
        "controls": controls,
        "rows": rows,
        "coverage": cov,
    }
