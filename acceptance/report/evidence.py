"""Evidence of a check: what a test adds to its own check (the `evidence` fixture's Evidence: facts, screenshots,
texts, files), its counts (the `tally` fixture's Tally), and the artifacts pytest-playwright keeps of a test
(trace.zip, test-failed-N.png), found where pytest-playwright puts them."""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from acceptance.report import model
from acceptance.report.model import Attachment, Check

if TYPE_CHECKING:
    from acceptance.report.collect import ReportCollector

MESSAGE_LIMIT = 1500
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def safe_name(text: str, limit: int = 100) -> str:
    """A file-system-safe name: letters, digits, '.', '_' and '-'."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-.")
    return name[:limit] or "x"


def trim(text: str, limit: int = MESSAGE_LIMIT, keep_end: bool = False) -> str:
    text = _ANSI.sub("", text or "").strip()
    if len(text) <= limit:
        return text
    return "… " + text[-limit:] if keep_end else text[:limit].rstrip() + " …"


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


# ---------------------------------------------------------------- what a test adds


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
            self.fact(f"screenshot “{label}”", f"not taken: {trim(str(e), 300)}")
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
