"""The run's results by check: the ReportCollector a session keeps in its stash (get_collector), with a Check for
every step-marked test (its status, message and durations, folded from its setup, call and teardown reports) and
the run facts fixtures set (set_info, set_versions, set_images, add_run_attachment, set_stack_error, the checks
the mode requires); build_run turns it into the report's Run."""
from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from acceptance import settings
from acceptance.report import model
from acceptance.report.evidence import playwright_artifacts, playwright_output_folder, safe_name, trim
from acceptance.report.model import Attachment, Check, Run
from acceptance.report.outputs import report_dir
from acceptance.required import check_id

REPORT_KEY = pytest.StashKey["ReportCollector"]()
STEP_MARKERS = tuple(sid.lower() for sid in settings.STEPS)


def now() -> datetime:
    return datetime.now().astimezone()


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


def failure_message(call: pytest.CallInfo | None, rep: pytest.TestReport) -> str:
    """The exception's message (exconly), short; the report's text if there is no exception."""
    excinfo = getattr(call, "excinfo", None)
    if excinfo is not None:
        try:
            return trim(excinfo.exconly())
        except Exception:  # noqa: BLE001 - a broken __str__ must not break the report
            pass
    crash = getattr(getattr(rep, "longrepr", None), "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return trim(crash.message)
    return trim(getattr(rep, "longreprtext", "") or "", keep_end=True)


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
        return trim(f"expected failure: {rep.wasxfail}".rstrip(": "))
    longrepr = rep.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr or "")
    return trim(reason.removeprefix("Skipped: "))


class ReportCollector:
    """Collects the run: checks of step-marked tests and the run facts fixtures set."""

    def __init__(self, outdir: str | Path, step_titles: Mapping[str, str] | None = None) -> None:
        self.outdir = Path(outdir)
        self.artifacts_dir = self.outdir / "artifacts"
        self.step_titles = dict(step_titles if step_titles is not None else settings.STEPS)
        self.started = now()
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
        self.stack_error = trim(str(message), limit=4000, keep_end=True) or "the stack could not start"

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
                check.message = trim(f"marked xfail: {xpass}".rstrip(": "))
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
            finished=self.finished or now(),
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


def get_collector(config: pytest.Config) -> ReportCollector:
    """The session's collector (created on first use)."""
    collector = config.stash.get(REPORT_KEY, None)
    if collector is None:
        collector = ReportCollector(report_dir(config))
        config.stash[REPORT_KEY] = collector
    return collector
