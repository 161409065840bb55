"""What the deployment report shows: checks grouped into the checklist's steps.

Pure data and functions; the pytest plugin fills a Run, the renderers read it.

Statuses
  check: passed | failed | error | skipped        ("error": setup/teardown failed)
  step:  passed | failed | skipped | not run
  run:   OPERATIONAL | DEGRADED | FAILED
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PASSED, FAILED, ERROR, SKIPPED, NOT_RUN = "passed", "failed", "error", "skipped", "not run"
CHECK_STATUSES = (PASSED, FAILED, ERROR, SKIPPED)
STEP_STATUSES = (PASSED, FAILED, SKIPPED, NOT_RUN)

OPERATIONAL, DEGRADED, RUN_FAILED = "OPERATIONAL", "DEGRADED", "FAILED"

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
    status: str = PASSED
    duration_s: float = 0.0
    message: str = ""
    facts: dict[str, str] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)

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

    @property
    def duration_s(self) -> float:
        return max(0.0, (self.finished - self.started).total_seconds())

    @property
    def steps(self) -> list[Step]:
        return build_steps(self.checks, self.step_titles)

    @property
    def status(self) -> str:
        return overall_status(self.steps, self.stack_error)

    @property
    def summary(self) -> dict[str, int]:
        return summarize(self.steps)

    @property
    def ordered_counts(self) -> list[tuple[str, int | None]]:
        return reliability_counts(self.counts, self.count_names)


def step_status(checks: list[Check]) -> str:
    """failed if any check failed or errored, skipped if all skipped, not run if none, else passed."""
    if not checks:
        return NOT_RUN
    if any(c.bad for c in checks):
        return FAILED
    if all(c.status == SKIPPED for c in checks):
        return SKIPPED
    return PASSED


def step_message(checks: list[Check]) -> str:
    """The messages of the failed checks, one paragraph each."""
    parts = []
    for c in checks:
        if c.bad:
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


def overall_status(steps: list[Step], stack_error: str | None = None) -> str:
    """FAILED: the stack could not start, or no step that ran passed (all failed/errored, or nothing verified).
    OPERATIONAL: every step that ran passed (steps "not run" by a partial selection do not count).
    DEGRADED: otherwise (some steps failed or were skipped, others passed).
    """
    if stack_error:
        return RUN_FAILED
    ran = [s for s in steps if s.status != NOT_RUN]
    if not ran or not any(s.status == PASSED for s in ran):
        return RUN_FAILED
    if all(s.status == PASSED for s in ran):
        return OPERATIONAL
    return DEGRADED


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
