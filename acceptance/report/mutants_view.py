"""The mutation self-test's latest result (mutants.json in the report dir), as the reports show it.

mutants.json: {"finished": "<iso>", "kill_rate": 1.0, "caught": 17, "total": 17, "rows": [
  {"id": "p3-memory-doubled", "breakage": "...", "category": "profile definition",
   "expected_steps": ["P3", "T8"], "caught": true, "failed_steps": ["P3", "T8"],
   "message": "...", "duration_s": 41.2}]}
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MUTANTS_FILE = "mutants.json"
MESSAGE_LIMIT = 300


def _steps(value: Any) -> str:
    return ", ".join(str(s) for s in value or []) or "—"


def _row(r: dict[str, Any]) -> dict[str, Any]:
    message = " ".join(str(r.get("message") or "").split())
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT].rstrip() + " …"
    return {
        "id": str(r["id"]),
        "breakage": str(r.get("breakage") or ""),
        "category": str(r.get("category") or ""),
        "expected_steps": _steps(r.get("expected_steps")),
        "caught": r.get("caught") is True,          # anything but true counts as missed
        "failed_steps": _steps(r.get("failed_steps")),
        "message": message,
    }


def read_mutants(outdir: str | Path) -> dict[str, Any] | None:
    """None without mutants.json; {"error": ...} if it cannot be read; else finished, caught, total,
    kill_rate (text, from the rows) and rows (id, breakage, category, expected_steps, caught, failed_steps,
    message)."""
    path = Path(outdir) / MUTANTS_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = [_row(r) for r in data["rows"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return {"error": f"{MUTANTS_FILE} could not be read: {type(e).__name__}: {e}"}
    caught = sum(r["caught"] for r in rows)
    return {
        "error": None,
        "finished": str(data.get("finished") or "—"),
        "caught": caught,
        "total": len(rows),
        "kill_rate": f"{caught / len(rows):.0%}" if rows else "—",
        "rows": rows,
    }
