"""The upgrade run's report: reports/upgrade/upgrade.json, and the same as upgrade.md and upgrade.html: the checks,
the from/to versions of every component, the diff of the deployment's definition, the migration's log, the
before/after table, the rollback's result."""
from __future__ import annotations

import html
import json
from dataclasses import asdict
from pathlib import Path

from acceptance.upgrade.compare import diff_text


def verdict(checks, breakage: str | None, caught_by: str | None) -> dict:
    """PASSED: every check ran and passed; PARTIAL: passed, but the run was narrowed on purpose (a check left out
    by an option); FAILED otherwise (a check failed, or one that should have run did not)."""
    failed = [c.id for c in checks if c.ok is False]
    not_run = [c.id for c in checks if c.ok is None and not c.narrowed]
    narrowed = [c.id for c in checks if c.narrowed]   # left out, or run narrowed (a marker expression)
    status = "FAILED" if not checks or failed or not_run else "PARTIAL" if narrowed else "PASSED"
    out = {"status": status, "failed": failed, "not_run": not_run, "narrowed": narrowed}
    if breakage:
        out["breakage"] = breakage
        out["caught"] = caught_by in failed
    return out


def write(report_dir: Path, data: dict, checks, timings: dict, transcript: list[str]) -> dict:
    report_dir.mkdir(parents=True, exist_ok=True)
    doc = {**data, "checks": [asdict(c) for c in checks], "timings_s": timings,
           "verdict": verdict(checks, data.get("breakage"), data.get("breakage_caught_by")),
           "procedure": transcript}
    (report_dir / "upgrade.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    (report_dir / "upgrade.md").write_text(markdown(doc))
    (report_dir / "upgrade.html").write_text(to_html(doc))
    return doc


def _table(headers: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |" for row in rows]
    return out


def sections(doc: dict) -> list[tuple[str, list[str], list[list]] | tuple[str, str]]:
    """(title, headers, rows) tables and (title, preformatted text) blocks, shared by the Markdown and HTML."""
    v = doc["verdict"]
    out: list = []
    out.append(("Checks", ["check", "result", "seconds", "message"],
                [[f"{c['id']}: {c['title']}", {True: "passed", False: "FAILED", None: "not run"}[c["ok"]],
                  c["seconds"], c["message"]] for c in doc["checks"]]))
    out.append(("Versions, from and to", ["component", "from", "to", "changed"],
                [[c["component"], c["from"], c["to"], "yes" if c["changed"] else ""]
                 for c in doc.get("version_changes", [])]))
    out.append(("The deployment's definition, old against new (helm diff style)",
                diff_text(doc.get("definition_diff", [])) or "(no difference)"))
    out.append(("Migration log (jupyterhub upgrade-db)", doc.get("migration_log") or "(no migration ran)"))
    out.append(("Before and after the upgrade", ["what", "before", "after", "kept", "note"],
                [[r["what"], r["before"], r["after"], "yes" if r["ok"] else "LOST", r["note"]]
                 for r in doc.get("table", [])]))
    out.append(("Rollback: before the upgrade and after the rollback", ["what", "before", "after rollback", "same",
                                                                         "note"],
                [[r["what"], r["before"], r["after"], "yes" if r["ok"] else "NO", r["note"]]
                 for r in doc.get("rollback_table", [])]))
    out.append(("Procedure run (stack/upgrade.sh)", "\n".join(doc.get("procedure", []))))
    out.append(("Times (s)", ["phase", "seconds"], [[k, t] for k, t in doc.get("timings_s", {}).items()]))
    head = f"Upgrade {doc['from']} -> {doc['to']}: {v['status']}"
    if doc.get("breakage"):
        head += (f" (breakage {doc['breakage']}: " + ("caught by " if v.get("caught") else "NOT caught by ")
                 + f"{doc['breakage_caught_by']})")
    return [("head", head), *out]


def markdown(doc: dict) -> str:
    lines = []
    for section in sections(doc):
        if section[0] == "head":
            lines += [f"# {section[1]}", ""]
        elif len(section) == 2:
            lines += [f"## {section[0]}", "", "```", section[1].rstrip(), "```", ""]
        else:
            lines += [f"## {section[0]}", "", *_table(section[1], section[2]), ""]
    return "\n".join(lines) + "\n"


def to_html(doc: dict) -> str:
    e = html.escape
    parts = ["<!doctype html><meta charset=utf-8><title>Upgrade report</title>",
             "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:2px 6px;"
             "vertical-align:top}table{border-collapse:collapse}pre{background:#f6f6f6;padding:1em;overflow:auto}"
             ".bad{color:#b00;font-weight:bold}</style>"]
    for section in sections(doc):
        if section[0] == "head":
            cls = "" if doc["verdict"]["status"] == "PASSED" else " class=bad"
            parts.append(f"<h1{cls}>{e(section[1])}</h1>")
        elif len(section) == 2:
            parts.append(f"<h2>{e(section[0])}</h2><pre>{e(section[1])}</pre>")
        else:
            head = "".join(f"<th>{e(h)}</th>" for h in section[1])
            body = "".join("<tr>" + "".join(
                f"<td{' class=bad' if str(v) in ('FAILED', 'LOST', 'NO') else ''}>{e(str(v))}</td>" for v in row)
                + "</tr>" for row in section[2])
            parts.append(f"<h2>{e(section[0])}</h2><table><tr>{head}</tr>{body}</table>")
    return "\n".join(parts) + "\n"
