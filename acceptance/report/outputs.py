"""Where a run's outputs go: the report dir (settings.REPORTS_DIR, or --report-dir, which takes the run's JUnit XML,
pytest-html report and Playwright artifacts along), and an earlier run's reports removed from it before this run's
tests start, so that they are never taken for this run's."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from acceptance import settings

# The run's own outputs, by pytest option: pytest.ini puts them under settings.REPORTS_DIR; --report-dir takes them
# along, so that two runs with their own report dirs never share (and overwrite) a JUnit file a CI gates on.
RUN_OUTPUTS = {"xmlpath": "junit.xml", "htmlpath": "pytest-report.html", "output": "artifacts"}
# What a run removes from its report dir before it starts: an earlier run's reports are never taken for this one's.
STALE = ("deployment-report.html", "deployment-report.md", "deployment-report.json", "junit.xml",
         "pytest-report.html")


def invocation_path(config: pytest.Config, value: str) -> Path:
    """A path given on the command line, as pytest would read it: relative to where pytest was started."""
    return Path(config.invocation_params.dir, os.path.expandvars(os.path.expanduser(str(value))))


def report_dir(config: pytest.Config) -> Path:
    """Where the deployment report goes: --report-dir, else settings.REPORTS_DIR."""
    option = config.getoption("report_dir", default=None)
    return invocation_path(config, option) if option else Path(settings.REPORTS_DIR)


def html_report_path(config: pytest.Config) -> Path | None:
    """pytest-html's report file (--html), None without it."""
    option = getattr(config.option, "htmlpath", None)
    return invocation_path(config, option) if option else None


def redirect_outputs(config: pytest.Config) -> None:
    """With --report-dir, the run's JUnit XML, pytest-html report and artifacts go there too (unless given)."""
    if not config.getoption("report_dir", default=None):
        return
    outdir = report_dir(config)
    default = Path(settings.REPORTS_DIR).resolve()
    for option, name in RUN_OUTPUTS.items():
        value = getattr(config.option, option, None)
        if value and invocation_path(config, value).resolve() == default / name:
            setattr(config.option, option, str(outdir / name))


def remove_stale(config: pytest.Config, outdir: Path) -> None:
    """Removes an earlier run's reports (STALE) from `outdir`; this very run's own outputs stay."""
    for name in STALE:
        path = outdir / name
        if path.exists() and not _is_output_of_this_run(config, path):
            path.unlink()


def _is_output_of_this_run(config: pytest.Config, path: Path) -> bool:
    """junit.xml and pytest-report.html of this very run (pytest-html may have opened its file already)."""
    return any(getattr(config.option, o, None) and invocation_path(config, getattr(config.option, o)).resolve()
               == path.resolve() for o in ("xmlpath", "htmlpath"))
