"""pytest plugin: turns the step-marked acceptance tests into the deployment report. Only the wiring: each job is
a module of its own in acceptance/report/.

Registered from the root conftest.py (pytest_plugins = ["acceptance.report.plugin", ...]).

- Every test with a step marker (p1..p4, t1..t8, r1..r5) becomes a Check of that step (collect.py);
  tests without one (unit tests) are not part of the report, but their failures keep the
  run from OPERATIONAL.
- The verdict fails closed (model.assess): the session's exit status, an interruption
  (Ctrl-C, pytest.exit, -x), a narrowed selection (-m, -k, arguments, deselection), the checks
  the mode requires (acceptance/required.py: one not collected is "missing") and the image
  build's status (env IMAGE_BUILD_STATUS) all count (verdict.py). The session's exit status follows the
  verdict in every mode (model.exit_status).
- Tests add evidence to their own check with the `evidence` fixture, and to the run's
  reliability counts with the `tally` fixture (evidence.py); fixtures add run facts through the
  collector (`deployment_report` fixture or get_collector(config)).
- pytest-playwright's artifacts of a test (trace.zip, test-failed-N.png) are attached (evidence.py).
- An acceptance run (one whose arguments reach acceptance/tests) removes the report dir's
  earlier deployment-report.*, junit.xml and pytest-report.html first (outputs.py), and at the end writes
  deployment-report.{html,md,json} into the report dir (settings.REPORTS_DIR, or --report-dir,
  which takes the run's JUnit XML, pytest-html report and Playwright artifacts along); a report
  that cannot be built is replaced by one that says so, and the run fails (finish.py).
"""
from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from acceptance import settings
from acceptance.report import outputs
from acceptance.report.collect import REPORT_KEY, ReportCollector, check_title, get_collector, now, step_of
from acceptance.report.evidence import Evidence, Tally, safe_name
from acceptance.report.finish import finish
from acceptance.report.model import Check
from acceptance.report.verdict import acceptance_run
from acceptance.required import check_id


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deployment-report", "deployment report")
    group.addoption(
        "--report-dir", dest="report_dir", default=None, metavar="DIR",
        help=f"where deployment-report.html/.md/.json and their artifacts go (default: {settings.REPORTS_DIR})",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    outputs.redirect_outputs(config)   # before junitxml and pytest-html read their paths
    registered = {line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    for sid, title in settings.STEPS.items():
        if sid.lower() not in registered:
            config.addinivalue_line("markers", f"{sid.lower()}: {title}")
    get_collector(config)
    if not config.pluginmanager.has_plugin(_HOOK_NAME):
        config.pluginmanager.register(_SessionHooks(config), _HOOK_NAME)


def pytest_sessionstart(session: pytest.Session) -> None:
    get_collector(session.config).started = now()
    _remove_stale(session.config)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _remove_stale(config, items)   # a run known by its step-marked checks only now


def _remove_stale(config: pytest.Config, items: list[pytest.Item] | None = None) -> None:
    """An earlier run's reports go before this run's tests start: never taken for this run's."""
    if acceptance_run(config) or any(step_of(i) for i in items or ()):
        outputs.remove_stale(config, get_collector(config).outdir)


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


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the deployment report and make the session's exit status follow its verdict (finish.py)."""
    finish(session, exitstatus)


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
