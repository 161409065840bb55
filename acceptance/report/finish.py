"""The session's end: the Run built from the collector, written by render.write_reports (or, when it cannot be
built, a plain report that says why, and the run fails), the session's exit status made to follow the verdict
(model.exit_status), and the verdict line the plugin prints last."""
from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from acceptance.report import model
from acceptance.report.collect import get_collector, now, step_of
from acceptance.report.model import Run
from acceptance.report.outputs import html_report_path
from acceptance.report.verdict import acceptance_run, narrowing, read_build_status, selected_by_narrowing
from acceptance.required import check_id


def finish(session: pytest.Session, exitstatus: int) -> None:
    """Write the deployment report and make the session's exit status follow its verdict (model.exit_status)."""
    config = session.config
    if not acceptance_run(config, session):   # unit tests alone, --collect-only, an xdist worker: no report owed
        return
    collector = get_collector(config)
    tr = config.pluginmanager.get_plugin("terminalreporter")

    def say(line: str) -> None:
        if tr is not None and hasattr(tr, "write_line"):
            tr.write_line(line)
        else:
            print(line, file=sys.stderr)

    collector.finished = now()
    stopped = session.shouldfail or session.shouldstop   # -x, --maxfail: pytest stopped early
    if stopped and not collector.interrupted:
        collector.interrupted = f"stopped early: {stopped}"
    ending: dict[str, Any] = {"exit_status": int(exitstatus)}
    run: Run | None = None
    try:
        collected = [check_id(i.nodeid) for i in getattr(session, "items", []) or [] if step_of(i)]
        collector.add_missing(collected, selected_by_narrowing(config, collector.required_markers))
        profiles, problem = _profiles_for_report(config)
        if problem:
            collector.problems.append(problem)
        build = read_build_status(os.environ.get("IMAGE_BUILD_STATUS"))
        html = html_report_path(config)
        ending.update(narrowed=narrowing(config, collector.deselected), build_status=build,
                      pytest_html=str(html) if html else None)
        run = collector.build_run(profiles, _run_defaults(config, build), _harness_versions(), **ending)
        from acceptance.report.render import write_reports

        collector.written = write_reports(run, collector.outdir)
    except Exception as e:  # noqa: BLE001 - the run must still end in a report, one that says it failed
        error = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=5)}"
        say(f"deployment report: could not be built: {type(e).__name__}: {e}")
        run = Run(started=collector.started, finished=collector.finished, step_titles=dict(collector.step_titles),
                  report_error=error, exit_status=int(exitstatus))
        collector.written = _write_fallback(run, collector.outdir, say)
    for kind, path in collector.written.items():
        say(f"deployment report ({kind}): {path}")
    collector.last_status = run.status
    status = model.exit_status(run, int(session.exitstatus), bool(config.getoption("gate_read_only", default=False)))
    if not collector.written:
        status = status or 1
    session.exitstatus = status
    scope = run.scope_line
    collector.verdict_line = f"verdict: {run.status}" + (f" ({scope})" if scope else "") + f"; exit status {status}"


def _write_fallback(run: Run, outdir: Path, say: Any) -> dict[str, Path]:
    """A report that says the report could not be built (the verdict FAILED), in the three formats: plain."""
    written = {}
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        reasons = run.reasons
        data = {"title": run.title, "status": run.status, "reasons": reasons, "exit_status": run.exit_status,
                "report_error": run.report_error, "steps": []}
        written["json"] = outdir / "deployment-report.json"
        written["json"].write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        text = f"# {run.title}\n\n**Status**: **{run.status}**\n\n" + "".join(f"- {r}\n" for r in reasons)
        written["md"] = outdir / "deployment-report.md"
        written["md"].write_text(text + f"\n```\n{run.report_error}\n```\n", encoding="utf-8")
        import html as _html

        written["html"] = outdir / "deployment-report.html"
        items = "".join(f"<li>{_html.escape(r)}</li>" for r in reasons)
        written["html"].write_text(f"<!doctype html><meta charset=utf-8><title>{_html.escape(run.title)}</title>"
                                   f"<h1>{run.status}</h1><ul>{items}</ul>"
                                   f"<pre>{_html.escape(run.report_error or '')}</pre>", encoding="utf-8")
    except OSError as e:
        say(f"deployment report: not even the fallback could be written: {e}")
    return written


def _profiles_for_report(config: pytest.Config) -> tuple[list[dict[str, Any]], str | None]:
    """The run's expected state's profiles (what Phase 3 verifies), for the report's profile table (the default
    file's when the run's could not be read)."""
    from acceptance import expected
    from acceptance.run_state import EXPECTED

    try:
        profiles = (config.stash.get(EXPECTED, None) or expected.load()).profiles
    except Exception as e:  # noqa: BLE001 - the report still has to be written
        return [], f"could not read the expected profiles: {e}"
    rows = []
    for p in profiles:
        cpus = int(p.cpus) if float(p.cpus).is_integer() else p.cpus
        rows.append({"key": p.id, "name": p.name, "image": p.image, "cpus": cpus, "memory": p.memory,
                     "default_url": p.lands_on, "app": p.app})
    return rows, None


def _harness_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"Python (harness)": sys.version.split()[0]}
    for label, dist in (("pytest", "pytest"), ("Playwright (Python)", "playwright"),
                        ("pytest-playwright", "pytest-playwright")):
        try:
            out[label] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _run_defaults(config: pytest.Config, build: Mapping[str, Any] | None) -> dict[str, str]:
    args = " ".join(str(a) for a in config.invocation_params.args)
    out = {"Command": f"pytest {args}".strip()}
    if build and build.get("ok") is True:
        out["Images built"] = f"{model.plural(len(build['images']), 'image')}, finished {build.get('finished') or '?'}"
    return out
