"""What the deployment report shows: checks grouped into the checklist's steps.

Pure data and functions; the pytest plugin fills a Run, the renderers read it.

The verdict fails closed: only what was seen to pass counts as passed.

Statuses
  check: unknown | passed | failed | error | skipped | xpass | missing
         (a check starts "unknown" and stays so unless its call ran; "error": setup/teardown
         failed; "xpass": passed although marked xfail; "missing": the mode requires it
         (acceptance/expected/required-checks.yaml) and it was not collected)
  step:  passed (every check passed) | failed (a check failed or errored) |
         incomplete (a check skipped, xpass or unknown) | not run (no checks)
  run:   FAILED > DEGRADED > INCOMPLETE > PARTIAL > READ-ONLY > OPERATIONAL; see assess()
         and exit_status() for the status a session exits with
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PASSED, FAILED, ERROR, SKIPPED, XPASS, UNKNOWN = "passed", "failed", "error", "skipped", "xpass", "unknown"
MISSING = "missing"
INCOMPLETE, NOT_RUN = "incomplete", "not run"
CHECK_STATUSES = (PASSED, FAILED, ERROR, SKIPPED, XPASS, UNKNOWN, MISSING)
STEP_STATUSES = (PASSED, FAILED, INCOMPLETE, NOT_RUN)

RUN_STATUSES = ("FAILED", "DEGRADED", "INCOMPLETE", "PARTIAL", "READ-ONLY", "OPERATIONAL")   # worst first
RUN_FAILED, DEGRADED, RUN_INCOMPLETE, PARTIAL, READ_ONLY, OPERATIONAL = RUN_STATUSES

# How a check failed (Check.failed_on): on its assertion (what it checks was found wrong), on another
# exception in its body (a crash), or in its setup or teardown. Only the first is a finding about the platform.
ON_ASSERTION, ON_EXCEPTION, ON_SETUP, ON_TEARDOWN = "assertion", "exception", "setup", "teardown"

# How a reason says what became of checks that did not pass.
NOT_PASSED = {FAILED: "failed", ERROR: "errored", SKIPPED: "skipped",
              XPASS: "passed unexpectedly (xpass)", UNKNOWN: "unfinished (no result)",
              MISSING: "required but not collected (deleted, renamed, --ignore'd or a collection error)"}

DEFAULT_TITLE = "JupyterHub Data Analytics Platform - Deployment Verification"

# The report's sections, by the step id's first letter; any other id goes with the tests.
PHASES, TESTS, RELIABILITY = "phases", "tests", "reliability"
SECTION_OF_PREFIX = {"P": PHASES, "T": TESTS, "R": RELIABILITY}

# Attachment kinds: how the renderers show them.
IMAGE, TEXT, TRACE, VIDEO, FILE = "image", "text", "trace", "video", "file"


@dataclass
class Attachment:
    """A file shown with a check or the run. `path` is absolute; `content` holds a text attachment's text."""

    label: str
    kind: str
    path: str
    content: str | None = None


@dataclass
class Check:
    """One test's result."""

    nodeid: str
    title: str
    step: str
    status: str = UNKNOWN
    duration_s: float = 0.0
    message: str = ""
    facts: dict[str, str] = field(default_factory=dict)
    phases_s: dict[str, float] = field(default_factory=dict)   # setup/call/teardown: duration_s split
    attachments: list[Attachment] = field(default_factory=list)
    check_id: str = ""                  # the manifest's id (acceptance/required.py check_id)
    failed_on: str | None = None        # ON_ASSERTION, ON_EXCEPTION, ON_SETUP, ON_TEARDOWN; None: not failed

    @property
    def ok(self) -> bool:
        return self.status == PASSED

    @property
    def bad(self) -> bool:
        return self.status in (FAILED, ERROR)


@dataclass
class Step:
    """A phase (P1..P4), checklist test (T1..T8) or reliability/security step (R1..R5) with its checks."""

    id: str
    title: str
    status: str = NOT_RUN
    duration_s: float = 0.0
    message: str = ""
    checks: list[Check] = field(default_factory=list)

    @property
    def section(self) -> str:
        """PHASES, TESTS or RELIABILITY: where the report shows the step."""
        return SECTION_OF_PREFIX.get(self.id[:1], TESTS)

    @property
    def is_phase(self) -> bool:
        return self.section == PHASES


@dataclass
class Run:
    """Everything one report shows."""

    started: datetime
    finished: datetime
    checks: list[Check] = field(default_factory=list)
    step_titles: dict[str, str] = field(default_factory=dict)
    title: str = DEFAULT_TITLE
    info: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    images: list[dict[str, Any]] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)
    run_attachments: list[Attachment] = field(default_factory=list)
    stack_error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)     # measured counts only
    count_names: tuple[str, ...] = ()                         # listed even when not measured
    expected_steps: list[str] | None = None   # the step ids that must run; None: every id of step_titles
    exit_status: int | None = None            # pytest's exit status; None: not known
    interrupted: str | None = None            # why the session ended early (Ctrl-C, pytest.exit, -x)
    narrowed: str | None = None               # how the selection was narrowed (-m, -k, arguments, deselection)
    unit_failures: list[str] = field(default_factory=list)   # tests outside the report that failed
    build_status: dict[str, Any] | None = None  # images/build.py's status (plugin.read_build_status); None: not given
    pytest_html: str | None = None            # pytest-html's report file
    expected_state: dict[str, str] | None = None  # {"path": ..., "sha256": ...}
    mode: str | None = None                   # the run's mode in words (verify.mode_label)
    read_only: bool = False                   # a --read-only verify run: its best verdict is READ-ONLY
    required: dict[str, str] | None = None    # the checks the mode requires: check id -> step; None: not declared
    scope_left_out: dict[str, list[str]] = field(default_factory=dict)   # why -> check ids the mode does not require
    report_error: str | None = None           # the report could not be built: this replaces it

    def __post_init__(self) -> None:
        if self.expected_steps is None:
            self.expected_steps = list(self.step_titles)

    @property
    def duration_s(self) -> float:
        return max(0.0, (self.finished - self.started).total_seconds())

    @property
    def steps(self) -> list[Step]:
        return build_steps(self.checks, self.step_titles)

    @property
    def assessment(self) -> list[tuple[str, str]]:
        return assess(self)

    @property
    def status(self) -> str:
        found = self.assessment
        return found[0][0] if found else OPERATIONAL

    @property
    def reasons(self) -> list[str]:
        """Every reason the run is not OPERATIONAL, worst first."""
        return [text for _, text in self.assessment]

    @property
    def summary(self) -> dict[str, int]:
        return summarize(self.steps)

    @property
    def ordered_counts(self) -> list[tuple[str, int | None]]:
        return reliability_counts(self.counts, self.count_names)

    @property
    def scope_line(self) -> str:
        """What this run's mode required and what it left out of scope, for the verdict line."""
        return scope_line(self)


def step_status(checks: list[Check]) -> str:
    """not run if no checks, failed if any failed or errored, passed if all passed, else incomplete (a check
    skipped, unfinished, xpass or missing)."""
    if not checks:
        return NOT_RUN
    if any(c.bad for c in checks):
        return FAILED
    if all(c.ok for c in checks):
        return PASSED
    return INCOMPLETE


def step_message(checks: list[Check]) -> str:
    """The messages of the checks that did not pass, one paragraph each."""
    parts = []
    for c in checks:
        if not c.ok:
            text = c.message.strip() or f"{c.title}: {c.status}"
            parts.append(f"{c.title}: {text}" if len(checks) > 1 else text)
    return "\n\n".join(parts)


def build_steps(checks: list[Check], titles: dict[str, str]) -> list[Step]:
    """One Step per id in `titles`, in that order (steps without checks: "not run").

    Checks whose step is not in `titles` get a step of their own, after the known ones.
    """
    by_step: dict[str, list[Check]] = {sid: [] for sid in titles}
    for c in checks:
        by_step.setdefault(c.step, []).append(c)
    steps = []
    for sid, step_checks in by_step.items():
        steps.append(Step(
            id=sid,
            title=titles.get(sid, sid),
            status=step_status(step_checks),
            duration_s=sum(c.duration_s for c in step_checks),
            message=step_message(step_checks),
            checks=list(step_checks),
        ))
    return steps


def first_line(text: str, limit: int = 200) -> str:
    line = (text or "").strip().split("\n")[0].strip()
    return line if len(line) <= limit else line[:limit].rstrip() + " …"


def plural(n: int, word: str) -> str:
    """1 check, 2 checks."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def _listing(items: list[str], limit: int = 10) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def check_reasons(step: Step) -> list[tuple[str, str]]:
    """One reason per status of the step's checks that did not pass: DEGRADED if failed or errored."""
    out = []
    for status in dict.fromkeys(c.status for c in step.checks if not c.ok):
        checks = [c for c in step.checks if c.status == status]
        named = "; ".join(f"{c.title} ({first_line(c.message)})" if c.message.strip() else c.title for c in checks)
        text = f"{step.id}: {plural(len(checks), 'check')} {NOT_PASSED.get(status, status)}: {named}"
        out.append((DEGRADED if checks[0].bad else RUN_INCOMPLETE, text))
    return out


def build_reasons(build: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The image build's status: unknown (ok None) is INCOMPLETE, a failed image DEGRADED; None: not given."""
    if build is None:
        return []
    if build.get("ok") is None:
        return [(RUN_INCOMPLETE, f"image build status unknown: {build.get('error') or 'no status'}")]
    failed = [i for i in build.get("images", []) if i.get("ok") is not True]
    if build["ok"] is True and not failed:
        return []
    if not failed:
        return [(DEGRADED, "image build failed (no failed image named)")]
    return [(DEGRADED, f"image build failed: {i.get('tag') or i.get('name') or '?'} "
                       f"({first_line(str(i.get('error') or 'no error given'))})") for i in failed]


def assess(run: Run) -> list[tuple[str, str]]:
    """(run status, reason) for everything that keeps the run from OPERATIONAL, worst first.

    FAILED      the stack could not start, or no step passed
    DEGRADED    a check failed or errored, or an image did not build
    INCOMPLETE  nothing failed but something was not verified: a check skipped, xpass or unfinished,
                an expected step without checks (in a full run), the session interrupted, a non-zero
                exit status, failed unit tests, the image build's status unknown
    PARTIAL     the selection was narrowed (-m, -k, arguments, deselection); all else passed
    READ-ONLY   a --read-only run in which every read-only check passed: not a verified deployment
    OPERATIONAL no reason at all: every check the mode requires ran and passed
    """
    steps = run.steps
    found: list[tuple[str, str]] = []
    if run.report_error:
        found.append((RUN_FAILED, f"the deployment report could not be built: {first_line(run.report_error)}"))
    if run.stack_error:
        found.append((RUN_FAILED, f"the stack could not start: {first_line(run.stack_error)}"))
    if not any(s.status == PASSED for s in steps):
        found.append((RUN_FAILED, "no step passed"))
    for s in steps:
        found += check_reasons(s)
    ran = {s.id for s in steps if s.checks}
    missing = [sid for sid in run.expected_steps or () if sid not in ran]
    if run.narrowed:
        not_run = f": {plural(len(missing), 'expected step')} not run ({_listing(missing)})" if missing else ""
        found.append((PARTIAL, f"run narrowed with {run.narrowed}{not_run}"))
    else:
        found += [(RUN_INCOMPLETE, f"{sid}: expected step has no checks") for sid in missing]
    if run.interrupted:
        found.append((RUN_INCOMPLETE, f"session interrupted: {run.interrupted}"))
    if run.exit_status:
        found.append((RUN_INCOMPLETE, f"pytest exited with status {run.exit_status}"))
    if run.unit_failures:
        found.append((RUN_INCOMPLETE, f"unit tests failed: {_listing(run.unit_failures)}"))
    found += build_reasons(run.build_status)
    if run.read_only:
        verified = [s.id for s in steps if s.checks and s.id in (run.expected_steps or ())]
        not_verified = [sid for sid in run.step_titles if sid not in verified]
        found.append((READ_ONLY, f"read-only run: only what answers without credentials was verified "
                                 f"({_listing(verified, 20) or 'no step'}, their read-only checks); not verified: "
                                 f"{_listing(not_verified, 20)}, and the rest of the steps above"))
    return sorted(found, key=lambda r: RUN_STATUSES.index(r[0]))


def summarize(steps: list[Step]) -> dict[str, int]:
    """Counts of steps and checks by status (stable key order)."""
    out: dict[str, int] = {"steps": len(steps)}
    for st in STEP_STATUSES:
        out[f"steps_{st.replace(' ', '_')}"] = sum(1 for s in steps if s.status == st)
    checks = [c for s in steps for c in s.checks]
    out["checks"] = len(checks)
    for st in CHECK_STATUSES:
        out[f"checks_{st}"] = sum(1 for c in checks if c.status == st)
    return out


def reliability_counts(counts: Mapping[str, int], names: Iterable[str]) -> list[tuple[str, int | None]]:
    """(name, value) for each of `names` in order (None: not measured), then the other measured counts."""
    rows: list[tuple[str, int | None]] = [(n, counts.get(n)) for n in dict.fromkeys(names)]
    listed = {n for n, _ in rows}
    return rows + [(n, v) for n, v in counts.items() if n not in listed]


def format_duration(seconds: float | None) -> str:
    """0.42 s, 12.3 s, 4 min 05 s, 1 h 02 min."""
    if seconds is None:
        return ""
    s = float(seconds)
    if s < 10:
        return f"{s:.2f} s"
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m} min {sec:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def format_bytes(n: int | float | None) -> str:
    """Decimal units, as `docker images` shows sizes (1.94 GB)."""
    if n is None:
        return "—"
    n = float(n)
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return f"{int(n)} B"


def scope_line(run: Run) -> str:
    """The mode, how many checks it required in how many steps, and what it left out of scope, in words."""
    parts = [f"mode: {run.mode}"] if run.mode else []
    if run.required is not None:
        steps = sorted(set(run.required.values()), key=lambda sid: list(run.step_titles).index(sid)
                       if sid in run.step_titles else len(run.step_titles))
        parts.append(f"{plural(len(run.required), 'required check')} in {plural(len(steps), 'step')}")
    for why, ids in run.scope_left_out.items():
        parts.append(f"out of scope ({why}): {plural(len(ids), 'check')}")
    return "; ".join(parts)


def exit_status(run: Run, pytest_status: int, gate_read_only: bool = False) -> int:
    """The status a session exits with, from its verdict (the one rule for every mode):

    OPERATIONAL  pytest's own status (0 when every test passed)
    PARTIAL      pytest's own status, when the run was narrowed on purpose and every selected check passed
                 (PARTIAL is then the worst reason)
    READ-ONLY    0 only with --gate-read-only (and pytest's 0); 1 otherwise
    INCOMPLETE, DEGRADED, FAILED, a report that could not be built: non-zero (pytest's, or 1)
    """
    status = run.status
    if status in (OPERATIONAL, PARTIAL):
        return pytest_status
    if status == READ_ONLY and gate_read_only:
        return pytest_status
    return pytest_status or 1
