"""Write a Run as deployment-report.html (self-contained), .md and .json."""
from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from acceptance.report import model
from acceptance.report.benchmark_view import read_benchmark
from acceptance.report.model import Attachment, Run
from acceptance.report.mutants_view import read_mutants

TEMPLATES = Path(__file__).resolve().parent / "templates"
BASENAME = "deployment-report"
INLINE_TEXT_LIMIT = 200_000      # characters of a text attachment shown inline
INLINE_IMAGE_LIMIT = 15_000_000  # bytes of a screenshot embedded as a data URI

# Only OPERATIONAL is green.
STATUS_ICON = {
    model.OPERATIONAL: "✅", model.READ_ONLY: "🔹", model.PARTIAL: "🔷", model.RUN_INCOMPLETE: "🔶",
    model.DEGRADED: "⚠️", model.RUN_FAILED: "❌",
}
STATUS_TEXT = {
    model.OPERATIONAL: "every check the mode requires ran and passed",
    model.READ_ONLY: "every read-only check passed, but a read-only run does not verify the deployment",
    model.PARTIAL: "every selected check passed, but the run was narrowed: not every expected step was verified",
    model.RUN_INCOMPLETE: "nothing failed, but not everything was verified",
    model.DEGRADED: "some checks failed",
    model.RUN_FAILED: "the deployment could not be verified",
}
STATUS_MARK = {model.OPERATIONAL: "✓", model.READ_ONLY: "○", model.PARTIAL: "◐", model.RUN_INCOMPLETE: "?",
               model.DEGRADED: "!", model.RUN_FAILED: "✗"}
MARK = {model.PASSED: "✓", model.FAILED: "✗", model.ERROR: "✗", model.SKIPPED: "–", model.XPASS: "!",
        model.UNKNOWN: "?", model.MISSING: "∅", model.INCOMPLETE: "?", model.NOT_RUN: "·"}
STEP_ICON = {model.PASSED: "✅", model.FAILED: "❌", model.INCOMPLETE: "🔶", model.NOT_RUN: "⚪"}
# Counts where anything above 0 is a loss: shown red above 0, green at 0.
LOSS_COUNTS = ("files lost", "servers lost on hub restart")


def write_reports(run: Run, outdir: str | Path) -> dict[str, Path]:
    """Write the three reports into `outdir`; returns {"html": path, "md": path, "json": path}."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    ctx = build_context(run, outdir)
    paths = {
        "html": outdir / f"{BASENAME}.html",
        "md": outdir / f"{BASENAME}.md",
        "json": outdir / f"{BASENAME}.json",
    }
    paths["html"].write_text(render_html(ctx), encoding="utf-8")
    paths["md"].write_text(render_markdown(ctx), encoding="utf-8")
    paths["json"].write_text(
        json.dumps(to_json(run, outdir), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return paths


# ---------------------------------------------------------------- JSON

def to_json(run: Run, outdir: str | Path) -> dict[str, Any]:
    """The machine-readable report (explicit, stable key order)."""
    outdir = Path(outdir)
    steps = run.steps

    def att(a: Attachment) -> dict[str, str]:
        return {"label": a.label, "kind": a.kind, "path": link(a.path, outdir)}

    return {
        "title": run.title,
        "status": run.status,
        "reasons": run.reasons,
        "started": run.started.isoformat(timespec="seconds"),
        "finished": run.finished.isoformat(timespec="seconds"),
        "duration_s": round(run.duration_s, 3),
        "stack_error": run.stack_error,
        "mode": run.mode,
        "scope": run.scope_line,
        "expected_steps": list(run.expected_steps or []),
        "required_checks": None if run.required is None else sorted(run.required),
        "scope_left_out": {k: list(v) for k, v in run.scope_left_out.items()},
        "report_error": run.report_error,
        "exit_status": run.exit_status,
        "interrupted": run.interrupted,
        "narrowed": run.narrowed,
        "unit_failures": list(run.unit_failures),
        "build_status": run.build_status,
        "pytest_html": link(run.pytest_html, outdir) if run.pytest_html else None,
        "expected_state": run.expected_state,
        "summary": model.summarize(steps),
        "info": dict(run.info),
        "versions": dict(run.versions),
        "images": [dict(i) for i in run.images],
        "profiles": [dict(p) for p in run.profiles],
        "steps": [
            {
                "id": s.id,
                "title": s.title,
                "status": s.status,
                "duration_s": round(s.duration_s, 3),
                "message": s.message,
                "checks": [
                    {
                        "nodeid": c.nodeid,
                        "check_id": c.check_id,
                        "title": c.title,
                        "status": c.status,
                        "failed_on": c.failed_on,
                        "duration_s": round(c.duration_s, 3),
                        "message": c.message,
                        "facts": dict(c.facts),
                        "attachments": [att(a) for a in c.attachments],
                        "phases_s": {k: round(v, 3) for k, v in c.phases_s.items()},
                    }
                    for c in s.checks
                ],
            }
            for s in steps
        ],
        "reliability": {
            "counts": dict(run.ordered_counts),
            "steps": [s.id for s in steps if s.section == model.RELIABILITY],
        },
        "run_attachments": [att(a) for a in run.run_attachments],
    }


# ---------------------------------------------------------------- shared view model

def link(path: str | Path, outdir: Path) -> str:
    """`path` relative to the report directory (POSIX separators), absolute if that is impossible."""
    try:
        return Path(os.path.relpath(Path(path).resolve(), outdir.resolve())).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _read_text(a: Attachment) -> tuple[str, bool]:
    text = a.content
    if text is None:
        try:
            text = Path(a.path).read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            text = f"(could not read {a.path}: {e})"
    if len(text) > INLINE_TEXT_LIMIT:
        return text[-INLINE_TEXT_LIMIT:], True
    return text, False


def _data_uri(path: Path) -> str | None:
    try:
        if path.stat().st_size > INLINE_IMAGE_LIMIT:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    mime = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
            ".svg": "image/svg+xml"}.get(
        path.suffix.lower(), "image/png"
    )
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def attachment_view(a: Attachment, outdir: Path) -> dict[str, Any]:
    p = Path(a.path)
    view: dict[str, Any] = {
        "label": a.label, "kind": a.kind, "href": link(p, outdir), "name": p.name,
        "exists": a.content is not None or p.exists(), "data_uri": None, "text": None, "truncated": False,
        "lines": 0,
    }
    if a.kind == model.IMAGE:
        view["data_uri"] = _data_uri(p)
    elif a.kind == model.TEXT:
        view["text"], view["truncated"] = _read_text(a)
        view["lines"] = view["text"].count("\n") + (1 if view["text"] and not view["text"].endswith("\n") else 0)
    return view


def _image_row(img: dict[str, Any]) -> dict[str, Any]:
    name = str(img.get("name") or "")
    tag = str(img.get("tag") or "")
    if ":" in tag or "/" in tag:          # the tag is a whole reference (local/uv-lab:latest)
        ref = tag
    elif not tag or name.endswith(f":{tag}"):
        ref = name
    else:
        ref = f"{name}:{tag}"
    size, target = img.get("size_bytes"), img.get("target_bytes")
    if size is None or target is None:
        within = None
    else:
        within = size <= target
    return {
        "ref": ref,
        "is_ref": bool(ref) and not any(ch.isspace() for ch in ref),
        "spec_size": img.get("spec_size") or "—",
        "size": model.format_bytes(size) if size is not None else "missing",
        "target": model.format_bytes(target) if target is not None else "—",
        "within": within,
        "missing": size is None,
    }


def count_row(name: str, value: int | None) -> dict[str, Any]:
    """A row of the counts table; `state` is its CSS class: not-measured, loss, no-loss or ""."""
    if value is None:
        state = "not-measured"
    elif name in LOSS_COUNTS:
        state = "loss" if value > 0 else "no-loss"
    else:
        state = ""
    return {"name": name, "value": value, "state": state}


def _fmt_time(dt) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def build_context(run: Run, outdir: Path) -> dict[str, Any]:
    steps = run.steps
    status = run.status
    summary = model.summarize(steps)
    step_views = []
    for s in steps:
        checks = []
        for c in s.checks:
            atts = [attachment_view(a, outdir) for a in c.attachments]
            checks.append({
                "check": c, "mark": MARK.get(c.status, "?"), "duration": model.format_duration(c.duration_s),
                "images": [a for a in atts if a["kind"] == model.IMAGE],
                "texts": [a for a in atts if a["kind"] == model.TEXT],
                "others": [a for a in atts if a["kind"] not in (model.IMAGE, model.TEXT)],
            })
        step_views.append({
            "step": s, "checks": checks, "icon": STEP_ICON.get(s.status, ""),
            "duration": model.format_duration(s.duration_s) if s.checks else "",
            "anchor": s.id.lower(),
        })
    return {
        "run": run,
        "title": run.title,
        "status": status,
        "status_icon": STATUS_ICON[status],
        "status_text": STATUS_TEXT[status],
        "status_mark": STATUS_MARK[status],
        "status_class": status.lower().replace("-", ""),
        "scope": run.scope_line,
        "reasons": run.reasons,
        "marks": MARK,
        "pytest_html": link(run.pytest_html, outdir) if run.pytest_html else None,
        "expected_state": run.expected_state,
        "mutants": read_mutants(outdir),
        "benchmark": read_benchmark(outdir),
        "started": _fmt_time(run.started),
        "finished": _fmt_time(run.finished),
        "duration": model.format_duration(run.duration_s),
        "summary": summary,
        "phases": [v for v in step_views if v["step"].section == model.PHASES],
        "tests": [v for v in step_views if v["step"].section == model.TESTS],
        "reliability": [v for v in step_views if v["step"].section == model.RELIABILITY],
        "counts": [count_row(name, value) for name, value in run.ordered_counts],
        "counts_measured": bool(run.counts),
        "images": [_image_row(i) for i in run.images],
        "profiles": run.profiles,
        "info": run.info,
        "versions": run.versions,
        "run_attachments": [attachment_view(a, outdir) for a in run.run_attachments],
        "stack_error": run.stack_error,
        "fmt_duration": model.format_duration,
        "example_nodeid": next((c.nodeid for s in steps for c in s.checks if c.bad), None)
        or next((c.nodeid for s in steps for c in s.checks), None),
    }


# ---------------------------------------------------------------- HTML / Markdown

def _env(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md_cell"] = md_cell
    env.filters["md_inline"] = md_inline
    env.filters["md_code"] = md_code
    env.filters["md_block"] = md_block
    env.filters["url"] = url_path
    return env


def render_html(ctx: dict[str, Any]) -> str:
    return _env(True).get_template("report.html.j2").render(**ctx)


def render_markdown(ctx: dict[str, Any]) -> str:
    text = _env(False).get_template("report.md.j2").render(**ctx)
    return re.sub(r"\n{3,}", "\n\n", text)


def url_path(href: str) -> str:
    """A relative path usable in a Markdown/HTML link (spaces and the like percent-encoded)."""
    from urllib.parse import quote

    return quote(href, safe="/:._-~")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md_inline(value: Any) -> str:
    """Text in running Markdown: one line, Markdown syntax characters escaped."""
    text = " ".join(str(value).split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_cell(value: Any) -> str:
    """Text in a Markdown table cell."""
    return md_inline(value) or " "


def md_code(value: Any) -> str:
    """Inline code span that survives backticks in the value."""
    text = " ".join(str(value).split())
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_block(value: Any, indent: int = 0, lang: str = "") -> str:
    """A fenced code block (fence longer than any in the text), indented for list items."""
    text = str(value).rstrip("\n")
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    pad = " " * indent
    lines = [f"{fence}{lang}", *text.split("\n"), fence]
    return "\n".join(pad + line if line else line for line in lines)
