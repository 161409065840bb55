"""pytest plugin: turns the step-marked acceptance tests into the deployment report.

Registered from the root conftest.py (pytest_plugins = ["acceptance.report.plugin", ...]).

- Every test with a step marker (p1..p4, t1..t8, r1..r5) becomes a Check of that step;
  tests without one (unit tests) are not part of the report, but their failures keep the
  run from OPERATIONAL.
- The verdict fails closed (model.assess): the session's exit status, an interruption
  (Ctrl-C, pytest.exit, -x), a narrowed selection (-m, -k, arguments, deselection), the checks
  the mode requires (acceptance/required.py: one not collected is "missing") and the image
  build's status (env IMAGE_BUILD_STATUS) all count. The session's exit status follows the
  verdict in every mode (model.exit_status).
- Tests add evidence to their own check with the `evidence` fixture, and to the run's
  reliability counts with the `tally` fixture; fixtures add run facts through the
  collector (`deployment_report` fixture or get_collector(config)).
- pytest-playwright's artifacts of a test (trace.zip, test-failed-N.png) are attached.
- An acceptance run (one whose arguments reach acceptance/tests) removes the report dir's
  earlier deployment-report.*, junit.xml and pytest-report.html first, and at the end writes
  deployment-report.{html,md,json} into the report dir (settings.REPORTS_DIR, or --report-dir,
  which takes the run's JUnit XML, pytest-html report and Playwright artifacts along); a report
  that cannot be built is replaced by one that says so, and the run fails.
"""
from __future__ import annotations

import inspect
import json
import os
import re
import sys
import traceback
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _pytest.mark.expression import Expression

from acceptance import settings
from acceptance.report import model
from acceptance.report.model import Attachment, Check, Run
from acceptance.required import check_id

REPORT_KEY = pytest.StashKey["ReportCollector"]()
STEP_MARKERS = tuple(sid.lower() for sid in settings.STEPS)
MESSAGE_LIMIT = 1500
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _now() -> datetime:
    return datetime.now().astimezone()


def safe_name(text: str, limit: int = 100) -> str:
    """A file-system-safe name: letters, digits, '.', '_' and '-'."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-.")
    return name[:limit] or "x"


def step_of(item: pytest.Item) -> str | None:
    """The step id ("T3") of an item's step marker, None for tests outside the checklist."""
    for mark in item.iter_markers():
        if mark.name in STEP_MARKERS:
            return mark.name.upper()
    return None


def check_title(item: pytest.Item) -> str:
    """The first paragraph of the test's docstring, on one line (its name if it has none), plus the parameter id."""
    fn = getattr(item, "function", None)
    doc = inspect.getdoc(fn) if fn is not None else None
    first_paragraph = doc.strip().split("\n\n")[0] if doc and doc.strip() else ""
    title = " ".join(first_paragraph.split()) or getattr(item, "originalname", item.name)
    callspec = getattr(item, "callspec", None)
    # Parameters other than pytest-playwright's browser tell the variants apart.
    if callspec is not None and doc and set(callspec.params) - {"browser_name"}:
        param_id = callspec.id
        browser = callspec.params.get("browser_name")
        if browser:  # every check runs in the same browser: its name would only repeat
            param_id = param_id.removeprefix(f"{browser}-").removesuffix(f"-{browser}")
        title = f"{title} [{param_id}]"
    return title


def _trim(text: str, limit: int = MESSAGE_LIMIT, keep_end: bool = False) -> str:
    text = _ANSI.sub("", text or "").strip()
    if len(text) <= limit:
        return text
    return "… " + text[-limit:] if keep_end else text[:limit].rstrip() + " …"


def failure_message(call: pytest.CallInfo | None, rep: pytest.TestReport) -> str:
    """The exception's message (exconly), short; the report's text if there is no exception."""
    excinfo = getattr(call, "excinfo", None)
    if excinfo is not None:
        try:
            return _trim(excinfo.exconly())
        except Exception:  # noqa: BLE001 - a broken __str__ must not break the report
            pass
    crash = getattr(getattr(rep, "longrepr", None), "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return _trim(crash.message)
    return _trim(getattr(rep, "longreprtext", "") or "", keep_end=True)


def failed_on(call: pytest.CallInfo | None) -> str:
    """ON_ASSERTION when the check's body failed on an assertion (assert, Playwright's expect), else ON_EXCEPTION
    (a crash: a timeout, a connection error, pytest.fail): only the first is a finding about the platform."""
    excinfo = getattr(call, "excinfo", None)
    if excinfo is not None and isinstance(excinfo.value, AssertionError):
        return model.ON_ASSERTION
    return model.ON_EXCEPTION


def xpass_reason(rep: pytest.TestReport) -> str | None:
    """The xfail reason of a test that passed although marked xfail (strict or not); None otherwise."""
    if rep.passed and hasattr(rep, "wasxfail"):
        return str(rep.wasxfail)
    if rep.failed and isinstance(rep.longrepr, str) and rep.longrepr.startswith("[XPASS(strict)]"):
        return rep.longrepr.removeprefix("[XPASS(strict)]").strip()
    return None


def skip_reason(rep: pytest.TestReport) -> str:
    if hasattr(rep, "wasxfail"):
        return _trim(f"expected failure: {rep.wasxfail}".rstrip(": "))
    longrepr = rep.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr or "")
    return _trim(reason.removeprefix("Skipped: "))


# ---------------------------------------------------------------- pytest-playwright artifacts

try:  # the folder name pytest-playwright gives a test's artifacts: slugify(nodeid), truncated
    from slugify import slugify as _slugify
except ImportError:  # pragma: no cover - python-slugify comes with pytest-playwright
    _slugify = None

try:
    from pytest_playwright.pytest_playwright import _truncate_file_name
except ImportError:  # pragma: no cover - replicate pytest-playwright 0.10's rule
    import hashlib

    def _truncate_file_name(file_name: str) -> str:
        if len(file_name) < 256:
            return file_name
        digest = hashlib.sha256(file_name.encode()).hexdigest()[:7]
        return f"{file_name[:100]}-{digest}-{file_name[-100:]}"


def playwright_output_folder(item: pytest.Item) -> Path | None:
    """Where pytest-playwright puts this test's artifacts (its `output_path` fixture's rule)."""
    output = item.config.getoption("output", default=None)
    if not output or _slugify is None:
        return None
    folder = _slugify(item.nodeid)
    retry = getattr(item, "execution_count", 1) - 1
    if retry > 0:
        folder += f"-retry{retry}"
    return Path(output).absolute() / _truncate_file_name(folder)


def _artifact_kind(path: Path) -> tuple[str, str] | None:
    """(kind, label) of a file pytest-playwright keeps; None for anything else."""
    name = path.name
    m = re.fullmatch(r"trace(?:-(\d+))?\.zip", name)
    if m:
        return model.TRACE, "Playwright trace" + (f" {m.group(1)}" if m.group(1) else "")
    m = re.fullmatch(r"test-(failed|finished)-(\d+)\.png", name)
    if m:
        label = "Screenshot at failure" if m.group(1) == "failed" else "Screenshot at the end"
        return model.IMAGE, label + (f" ({m.group(2)})" if m.group(2) != "1" else "")
    m = re.fullmatch(r"video(?:-(\d+))?\.webm", name)
    if m:
        return model.VIDEO, "Video" + (f" {m.group(1)}" if m.group(1) else "")
    return None


def playwright_artifacts(folder: Path | None, user_properties: Iterable[tuple[str, Any]] = (),
                         base: Path | None = None) -> list[Attachment]:
    """pytest-playwright's kept artifacts: those it reported in user_properties, then the folder's."""
    paths: list[Path] = []
    for name, value in user_properties:
        if isinstance(name, str) and name.startswith("playwright_") and value:
            p = Path(str(value))
            paths.append(p if p.is_absolute() or base is None else base / p)
    if folder is not None and folder.is_dir():
        paths.extend(sorted(folder.iterdir()))
    out: list[Attachment] = []
    seen: set[Path] = set()
    for p in paths:
        key = p.resolve()
        kind = _artifact_kind(p)
        if key in seen or kind is None or not p.exists():
            continue
        seen.add(key)
        out.append(Attachment(label=kind[1], kind=kind[0], path=str(p.absolute())))
    return out


# ---------------------------------------------------------------- collector and evidence

class ReportCollector:
    """Collects the run: checks of step-marked tests and the run facts fixtures set."""

    def __init__(self, outdir: str | Path, step_titles: Mapping[str, str] | None = None) -> None:
        self.outdir = Path(outdir)
        self.artifacts_dir = self.outdir / "artifacts"
        self.step_titles = dict(step_titles if step_titles is not None else settings.STEPS)
        self.started = _now()
        self.finished: datetime | None = None
        self.checks: dict[str, Check] = {}
        self.info: dict[str, str] = {}
        self.versions: dict[str, str] = {}
        self.images: list[dict[str, Any]] = []
        self.run_attachments: list[Attachment] = []
        self.stack_error: str | None = None
        self.counts: dict[str, int] = {}
        self.expected_steps: list[str] = list(self.step_titles)
        self.expected_state: dict[str, str] | None = None
        self.unit_failures: dict[str, None] = {}   # nodeids, in order
        self.deselected = 0
        self.interrupted: str | None = None
        self.problems: list[str] = []      # the plugin's own troubles, shown in the report
        self.written: dict[str, Path] = {}
        self.last_status: str | None = None   # the verdict of the report last written
        self.required: dict[str, str] | None = None   # check id -> step: what the mode requires (None: not declared)
        self.required_markers: dict[str, frozenset[str]] = {}   # check id -> its scope markers (the manifest's)
        self.mode: str | None = None
        self.read_only = False
        self.scope_left_out: dict[str, list[str]] = {}
        self.deselected_ids: set[str] = set()   # check ids deselected on purpose (-m, -k ...)
        self.verdict_line: str | None = None    # printed as the session's last line
        self._pw_folders: dict[str, Path | None] = {}

    # -- run facts (called by fixtures)
    def set_info(self, key: str, value: Any) -> None:
        """A free-form run fact, e.g. set_info("Hub URL", "http://localhost:8000")."""
        self.info[str(key)] = str(value)

    def set_versions(self, versions: Mapping[str, Any]) -> None:
        """Component versions, e.g. {"JupyterHub": "5.2.1", "Docker": "27.3"} (merged)."""
        self.versions.update({str(k): str(v) for k, v in versions.items()})

    def set_images(self, images: Iterable[Mapping[str, Any]]) -> None:
        """Images as measured: dicts with name, tag, size_bytes, spec_size (str), target_bytes (int|None)."""
        self.images = [
            {
                "name": str(i.get("name", "")),
                "tag": i.get("tag"),
                "size_bytes": None if i.get("size_bytes") is None else int(i["size_bytes"]),
                "spec_size": i.get("spec_size"),
                "target_bytes": None if i.get("target_bytes") is None else int(i["target_bytes"]),
            }
            for i in images
        ]

    def add_run_attachment(self, label: str, text: str) -> Path:
        """A text shown at the end of the report (e.g. hub logs), also written to artifacts/run/."""
        text = str(text)
        path = self.artifacts_dir / "run" / f"{len(self.run_attachments) + 1}-{safe_name(label, 60)}.txt"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as e:
            self.problems.append(f"could not write {path}: {e}")
        self.run_attachments.append(Attachment(label=str(label), kind=model.TEXT, path=str(path), content=text))
        return path

    def set_stack_error(self, message: str) -> None:
        """The stack could not start: the report says so first, and its status is FAILED."""
        self.stack_error = _trim(str(message), limit=4000, keep_end=True) or "the stack could not start"

    def expect_steps(self, step_ids: Iterable[str]) -> None:
        """The steps this session must run for an OPERATIONAL verdict (default: every step)."""
        self.expected_steps = [str(sid).upper() for sid in step_ids]

    def require_checks(self, required: Mapping[str, str], mode: str | None = None,
                       scope_left_out: Mapping[str, list[str]] | None = None, read_only: bool = False,
                       markers: Mapping[str, Iterable[str]] | None = None) -> None:
        """The checks this run's mode requires (check id -> step, from the manifest, and each one's scope markers);
        their steps are the expected steps. A required check that is not collected becomes a "missing" check of
        its step."""
        self.required = dict(required)
        self.required_markers = {cid: frozenset(m) for cid, m in (markers or {}).items()}
        self.mode = mode
        self.read_only = read_only
        self.scope_left_out = {str(k): list(v) for k, v in (scope_left_out or {}).items()}
        steps = set(self.required.values())
        self.expected_steps = [sid for sid in self.step_titles if sid in steps] + sorted(steps - set(self.step_titles))

    def add_missing(self, collected_ids: Iterable[str], selected: Any = None) -> list[str]:
        """A "missing" check for each required check neither collected nor deselected on purpose
        (`selected(check_id, step)`: False when the run's narrowing would not have selected it)."""
        seen = set(collected_ids) | self.deselected_ids | {c.check_id for c in self.checks.values()}
        missing = []
        for cid, step in (self.required or {}).items():
            if cid in seen or (selected is not None and not selected(cid, step)):
                continue
            self.checks[f"missing::{cid}"] = Check(
                nodeid=f"acceptance/tests/{cid}", title=cid, step=step, status=model.MISSING, check_id=cid,
                message="required in this mode by acceptance/expected/required-checks.yaml")
            missing.append(cid)
        return missing

    def set_expected_state(self, path: str | Path, sha256: str) -> None:
        """The expected-state file the run was checked against, shown in the report's header."""
        self.expected_state = {"path": str(path), "sha256": str(sha256)}

    def add_count(self, name: str, n: int = 1) -> None:
        """Adds n to a reliability count; n=0 records the count as measured, with nothing found."""
        self.counts[str(name)] = self.counts.get(str(name), 0) + int(n)

    # -- checks
    def check_for(self, item: pytest.Item) -> Check:
        """The Check of a step-marked item (created on first use)."""
        check = self.checks.get(item.nodeid)
        if check is None:
            check = Check(nodeid=item.nodeid, title=check_title(item), step=step_of(item) or "",
                          check_id=check_id(item.nodeid))
            self.checks[item.nodeid] = check
        return check

    def record(self, item: pytest.Item, call: pytest.CallInfo | None, rep: pytest.TestReport) -> None:
        """Fold one phase's report (setup/call/teardown) into the item's check."""
        check = self.check_for(item)
        duration = float(getattr(rep, "duration", 0.0) or 0.0)
        check.duration_s += duration
        when = rep.when
        check.phases_s[when] = check.phases_s.get(when, 0.0) + duration   # a slow setup is a slow fixture
        if when == "setup":
            self._pw_folders[item.nodeid] = playwright_output_folder(item)
            if rep.failed:
                check.status, check.message = model.ERROR, failure_message(call, rep)
                check.failed_on = model.ON_SETUP
            elif rep.skipped:
                check.status, check.message = model.SKIPPED, skip_reason(rep)
        elif when == "call":
            xpass = xpass_reason(rep)
            if xpass is not None:
                check.status = model.XPASS
                check.message = _trim(f"marked xfail: {xpass}".rstrip(": "))
            elif rep.failed:
                check.status, check.message = model.FAILED, failure_message(call, rep)
                check.failed_on = failed_on(call)
            elif rep.skipped:
                check.status, check.message = model.SKIPPED, skip_reason(rep)
            else:
                check.status = model.PASSED
        elif when == "teardown" and rep.failed:
            msg = "teardown: " + failure_message(call, rep)
            if check.bad:
                check.message = f"{check.message}\n\n{msg}".strip()
            else:
                check.status, check.message, check.failed_on = model.ERROR, msg, model.ON_TEARDOWN

    def attach_playwright_artifacts(self, rep: pytest.TestReport, base: Path | None = None) -> None:
        check = self.checks.get(rep.nodeid)
        if check is None:
            return
        known = {Path(a.path).resolve() for a in check.attachments}
        for a in playwright_artifacts(self._pw_folders.pop(rep.nodeid, None), rep.user_properties, base):
            if Path(a.path).resolve() not in known:
                check.attachments.append(a)

    # -- the report
    def build_run(self, profiles: list[dict[str, Any]] | None = None,
                  defaults: Mapping[str, str] | None = None,
                  default_versions: Mapping[str, str] | None = None, **ending: Any) -> Run:
        """The Run; `ending`: the session's end as Run fields (exit_status, narrowed, build_status, pytest_html)."""
        info = dict(self.info)
        for k, v in (defaults or {}).items():
            info.setdefault(k, v)
        if self.problems:
            info["Report problems"] = "; ".join(self.problems)
        versions = dict(self.versions)
        for k, v in (default_versions or {}).items():
            versions.setdefault(k, v)
        return Run(
            started=self.started,
            finished=self.finished or _now(),
            checks=list(self.checks.values()),
            step_titles=dict(self.step_titles),
            info=info,
            versions=versions,
            images=[dict(i) for i in self.images],
            profiles=list(profiles or []),
            run_attachments=list(self.run_attachments),
            stack_error=self.stack_error,
            counts=dict(self.counts),
            count_names=tuple(settings.RELIABILITY_COUNTS),
            expected_steps=list(self.expected_steps),
            interrupted=self.interrupted,
            unit_failures=list(self.unit_failures),
            expected_state=self.expected_state,
            mode=self.mode,
            read_only=self.read_only,
            required=None if self.required is None else dict(self.required),
            scope_left_out={k: list(v) for k, v in self.scope_left_out.items()},
            **ending,
        )


class Evidence:
    """What a test adds to its own check: facts, screenshots, texts and files."""

    def __init__(self, check: Check, folder: Path) -> None:
        self.check = check
        self.folder = Path(folder)
        self._n = 0

    def _path(self, label: str, suffix: str) -> Path:
        self._n += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / f"{self._n}-{safe_name(label, 60)}{suffix}"

    def fact(self, label: str, value: Any) -> None:
        """A key/value shown with the check, e.g. fact("measured size", "1.23 GB")."""
        self.check.facts[str(label)] = str(value)

    def screenshot(self, page: Any, label: str) -> Path | None:
        """Screenshot of the page's viewport, shown as a thumbnail. A failing screenshot is
        noted as a fact and does not fail the test; returns the file (None then)."""
        path = self._path(label, ".png")
        try:
            page.screenshot(path=str(path), full_page=False)
        except Exception as e:  # noqa: BLE001 - evidence must not turn a passing check into a failure
            self.fact(f"screenshot “{label}”", f"not taken: {_trim(str(e), 300)}")
            return None
        self.check.attachments.append(Attachment(label=str(label), kind=model.IMAGE, path=str(path)))
        return path

    def text(self, label: str, content: Any) -> Path:
        """A text (logs, command output), shown collapsed and written to a .txt file."""
        content = str(content)
        path = self._path(label, ".txt")
        path.write_text(content, encoding="utf-8")
        self.check.attachments.append(Attachment(label=str(label), kind=model.TEXT, path=str(path), content=content))
        return path

    def file(self, label: str, path: str | Path) -> Path:
        """An existing file, e.g. a Playwright trace zip (linked), a .png (shown) or a .log/.txt (shown)."""
        p = Path(path).absolute()
        suffix = p.suffix.lower()
        if suffix in (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"):
            kind = model.IMAGE
        elif suffix in (".txt", ".log", ".out", ".json", ".yaml", ".yml"):
            kind = model.TEXT
        elif suffix == ".zip" and "trace" in p.name.lower():
            kind = model.TRACE
        elif suffix == ".webm":
            kind = model.VIDEO
        else:
            kind = model.FILE
        self.check.attachments.append(Attachment(label=str(label), kind=kind, path=str(p)))
        return p


class Tally:
    """Adds to the run's reliability counts; the test's own total shows as a fact of its check."""

    def __init__(self, collector: ReportCollector, check: Check) -> None:
        self.collector = collector
        self.check = check
        self.totals: dict[str, int] = {}

    def __call__(self, name: str, n: int = 1) -> int:
        """tally("files lost", lost): adds n (0: measured, none) and returns this test's total."""
        name, n = str(name), int(n)
        self.collector.add_count(name, n)
        self.totals[name] = self.totals.get(name, 0) + n
        self.check.facts[f"count: {name}"] = str(self.totals[name])
        return self.totals[name]


def get_collector(config: pytest.Config) -> ReportCollector:
    """The session's collector (created on first use)."""
    collector = config.stash.get(REPORT_KEY, None)
    if collector is None:
        collector = ReportCollector(_report_dir(config))
        config.stash[REPORT_KEY] = collector
    return collector


def _invocation_path(config: pytest.Config, value: str) -> Path:
    """A path given on the command line, as pytest would read it: relative to where pytest was started."""
    return Path(config.invocation_params.dir, os.path.expandvars(os.path.expanduser(str(value))))


def _report_dir(config: pytest.Config) -> Path:
    option = config.getoption("report_dir", default=None)
    return _invocation_path(config, option) if option else Path(settings.REPORTS_DIR)


def html_report_path(config: pytest.Config) -> Path | None:
    """pytest-html's report file (--html), None without it."""
    option = getattr(config.option, "htmlpath", None)
    return _invocation_path(config, option) if option else None


def read_build_status(path: str | None) -> dict[str, Any] | None:
    """images/build.py's status file: None if `path` is not set; {"ok": None, "error": ...} if it is
    missing or malformed; else the file's {"ok": bool, "finished": ..., "images": [...]}."""
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return {"ok": None, "error": f"could not read {path}: {e}"}
    well_formed = (isinstance(data, dict) and isinstance(data.get("ok"), bool)
                   and isinstance(data.get("images"), list) and all(isinstance(i, dict) for i in data["images"]))
    if not well_formed:
        return {"ok": None, "error": f"{path} is not a build status (want ok: bool, images: list of objects)"}
    return data


def narrowing(config: pytest.Config, deselected: int = 0) -> str | None:
    """How the selection was narrowed: -m, -k, arguments other than the ini's testpaths, deselected tests."""
    parts = [f"{flag} {value!r}" for flag, value in (("-m", config.option.markexpr), ("-k", config.option.keyword))
             if value]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        whole = [(config.rootpath / p).resolve() for p in config.getini("testpaths")] or [config.rootpath.resolve()]
        narrow = []
        for arg in config.args:
            path = _invocation_path(config, arg.split("::")[0]).resolve()
            if "::" in arg or not any(path == w or path in w.parents for w in whole):
                narrow.append(arg)
        if narrow:
            parts.append("arguments " + " ".join(narrow))
    if deselected:
        parts.append(f"{model.plural(deselected, 'test')} deselected")
    return "; ".join(parts) or None


def _profiles_for_report() -> tuple[list[dict[str, Any]], str | None]:
    """The expected state's profiles (what Phase 3 verifies), for the report's profile table."""
    from acceptance import expected

    try:
        profiles = expected.current().profiles
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


# ---------------------------------------------------------------- hooks and fixtures

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deployment-report", "deployment report")
    group.addoption(
        "--report-dir", dest="report_dir", default=None, metavar="DIR",
        help=f"where deployment-report.html/.md/.json and their artifacts go (default: {settings.REPORTS_DIR})",
    )


# The run's own outputs, by pytest option: pytest.ini puts them under settings.REPORTS_DIR; --report-dir takes them
# along, so that two runs with their own report dirs never share (and overwrite) a JUnit file a CI gates on.
RUN_OUTPUTS = {"xmlpath": "junit.xml", "htmlpath": "pytest-report.html", "output": "artifacts"}
# What a run removes from its report dir before it starts: an earlier run's reports are never taken for this one's.
STALE = ("deployment-report.html", "deployment-report.md", "deployment-report.json", "junit.xml",
         "pytest-report.html")


def acceptance_run(config: pytest.Config, session: pytest.Session | None = None) -> bool:
    """Whether this session owes a deployment report: its arguments reach acceptance/tests, or it collected
    step-marked checks (--collect-only and xdist workers never)."""
    if config.option.collectonly or hasattr(config, "workerinput"):
        return False
    if session is not None and any(step_of(i) for i in getattr(session, "items", []) or []):
        return True
    if get_collector(config).checks:
        return True
    tests = (config.rootpath / "acceptance" / "tests").resolve()
    if not tests.is_dir():
        return False
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        paths = config.getini("testpaths") or ["."]
    else:
        paths = [a.split("::")[0] for a in config.args]
    for arg in paths:
        path = _invocation_path(config, arg).resolve()
        if path == tests or tests in path.parents or path in tests.parents:
            return True
    return False


def _redirect_outputs(config: pytest.Config) -> None:
    """With --report-dir, the run's JUnit XML, pytest-html report and artifacts go there too (unless given)."""
    if not config.getoption("report_dir", default=None):
        return
    outdir = _report_dir(config)
    default = Path(settings.REPORTS_DIR).resolve()
    for option, name in RUN_OUTPUTS.items():
        value = getattr(config.option, option, None)
        if value and _invocation_path(config, value).resolve() == default / name:
            setattr(config.option, option, str(outdir / name))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    _redirect_outputs(config)   # before junitxml and pytest-html read their paths
    registered = {line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    for sid, title in settings.STEPS.items():
        if sid.lower() not in registered:
            config.addinivalue_line("markers", f"{sid.lower()}: {title}")
    get_collector(config)
    if not config.pluginmanager.has_plugin(_HOOK_NAME):
        config.pluginmanager.register(_SessionHooks(config), _HOOK_NAME)


def pytest_sessionstart(session: pytest.Session) -> None:
    get_collector(session.config).started = _now()
    _remove_stale(session.config)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _remove_stale(config, items)   # a run known by its step-marked checks only now


def _remove_stale(config: pytest.Config, items: list[pytest.Item] | None = None) -> None:
    """An earlier run's reports go before this run's tests start: never taken for this run's."""
    if acceptance_run(config) or any(step_of(i) for i in items or ()):
        outdir = get_collector(config).outdir
        for name in STALE:
            path = outdir / name
            if path.exists() and not _is_output_of_this_run(config, path):
                path.unlink()


def _is_output_of_this_run(config: pytest.Config, path: Path) -> bool:
    """junit.xml and pytest-report.html of this very run (pytest-html may have opened its file already)."""
    return any(getattr(config.option, o, None) and _invocation_path(config, getattr(config.option, o)).resolve()
               == path.resolve() for o in ("xmlpath", "htmlpath"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    rep = yield
    collector = get_collector(item.config)
    if step_of(item) is not None:
        try:
            collector.record(item, call, rep)
        except Exception:  # noqa: BLE001 - never break the run; say so in the report
            collector.problems.append(f"{item.nodeid}: {traceback.format_exc(limit=3)}")
    elif rep.failed:
        collector.unit_failures[item.nodeid] = None
    return rep


class _SessionHooks:
    """Per-config hook object: these hooks get no config of their own."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        collector = get_collector(self.config)
        collector.deselected += len(items)
        collector.deselected_ids.update(check_id(i.nodeid) for i in items if step_of(i))

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # Ctrl-C, pytest.exit() and pytest's own Interrupted (collection errors, session.shouldstop).
        value = excinfo.value
        if isinstance(value, pytest.exit.Exception):
            text = f"pytest.exit: {value.msg}"
        else:
            text = f"{excinfo.typename}: {value}" if str(value) else excinfo.typename
        get_collector(self.config).interrupted = text

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Runs after every makereport wrapper (pytest-playwright's included) is done with the
        # teardown report: the artifacts are in place and listed in its user_properties.
        if report.when != "teardown":
            return
        collector = get_collector(self.config)
        try:
            collector.attach_playwright_artifacts(report, Path(self.config.invocation_params.dir))
        except Exception:  # noqa: BLE001
            collector.problems.append(f"{report.nodeid}: artifacts: {traceback.format_exc(limit=3)}")


_HOOK_NAME = "acceptance-report-artifacts"


def pytest_unconfigure(config: pytest.Config) -> None:
    collector = config.stash.get(REPORT_KEY, None)
    if collector is not None and collector.verdict_line:   # the run's last line: after pytest's summary
        print(collector.verdict_line, flush=True)
    hook = config.pluginmanager.get_plugin(_HOOK_NAME)
    if hook is not None:
        config.pluginmanager.unregister(hook, _HOOK_NAME)


def selected_by_narrowing(config: pytest.Config, markers_of: Mapping[str, Iterable[str]]) -> Any:
    """(check id, step) -> whether this run's -m, -k and arguments would have selected that check had it been
    collected (`markers_of`: each check's scope markers): a required check that was not collected only counts as
    missing when it would have."""
    markexpr = Expression.compile(config.option.markexpr) if config.option.markexpr else None
    keyword = Expression.compile(config.option.keyword) if config.option.keyword else None
    narrow_args = []
    tests = (config.rootpath / "acceptance" / "tests").resolve()
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        for arg in config.args:
            path_part, _, name = arg.partition("::")
            path = _invocation_path(config, path_part).resolve()
            if path == tests or path in tests.parents:
                continue   # the whole of acceptance/tests
            narrow_args.append((path, name.split("[")[0]))

    def selected(cid: str, step: str) -> bool:
        module, _, name = cid.partition("::")
        markers = {step.lower(), *markers_of.get(cid, ())}
        if markexpr is not None and not markexpr.evaluate(lambda n, **kw: not kw and n in markers):
            return False
        names = {name, module, "acceptance", "tests", *markers}
        if keyword is not None and not keyword.evaluate(lambda sub, **kw: any(sub.lower() in n.lower() for n in names)):
            return False
        if narrow_args:
            return any((path.is_dir() and (tests / module).resolve().is_relative_to(path)) or
                       (path.name == module and (not fn or fn == name.split("[")[0])) for path, fn in narrow_args)
        return True

    return selected


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
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

    collector.finished = _now()
    stopped = session.shouldfail or session.shouldstop   # -x, --maxfail: pytest stopped early
    if stopped and not collector.interrupted:
        collector.interrupted = f"stopped early: {stopped}"
    ending: dict[str, Any] = {"exit_status": int(exitstatus)}
    run: Run | None = None
    try:
        collected = [check_id(i.nodeid) for i in getattr(session, "items", []) or [] if step_of(i)]
        collector.add_missing(collected, selected_by_narrowing(config, collector.required_markers))
        profiles, problem = _profiles_for_report()
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


@pytest.fixture(scope="session")
def deployment_report(pytestconfig: pytest.Config) -> ReportCollector:
    """The session's ReportCollector: set_info, set_versions, set_images, add_run_attachment, set_stack_error."""
    return get_collector(pytestconfig)


def _own_check(request: pytest.FixtureRequest) -> Check:
    """The requesting test's check; a stand-alone one for a test outside the report."""
    item = request.node
    if step_of(item) is not None:
        return get_collector(request.config).check_for(item)
    return Check(nodeid=item.nodeid, title=check_title(item), step="")


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Adds facts, screenshots, texts and files to this test's check in the deployment report."""
    item = request.node
    collector = get_collector(request.config)
    folder = collector.artifacts_dir / safe_name(f"{Path(str(item.path)).stem}-{item.name}", 120)
    return Evidence(_own_check(request), folder)  # outside the report, evidence still lands on disk


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Tally:
    """Counts for the report's reliability section: tally("files lost", lost), tally("inputs tried")."""
    return Tally(get_collector(request.config), _own_check(request))
