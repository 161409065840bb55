"""The verdict's promise: green (OPERATIONAL and exit status 0) only when every check the mode requires ran and
passed. The exit status follows the verdict in every mode; required checks are declared, so one that was not
collected is missing, not forgotten; a read-only run is never OPERATIONAL; an earlier run's report is never
taken for this one's; --report-dir takes the run's JUnit XML along."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from acceptance import settings
from acceptance.report import model, render
from acceptance.report.model import Check, Run

pytest_plugins = ["pytester"]
PLUGIN_ARGS = ("-p", "acceptance.report.plugin", "-p", "no:playwright", "-p", "no:cacheprovider")
REQUIRE = '''
from acceptance.report.collect import get_collector


def pytest_configure(config):
    get_collector(config).require_checks({required!r}, "own stack", {left_out!r}, read_only={read_only!r})
'''
T1 = "import pytest\n\n\n@pytest.mark.t1\ndef test_signup():\n    pass\n"
T2 = "import pytest\n\n\n@pytest.mark.t2\ndef test_dropdown():\n    {body}\n"
BOTH = {"test_t1.py::test_signup": "T1", "test_t2.py::test_dropdown": "T2"}


def run(pytester, tmp_path, *args, required=None, left_out=None, read_only=False, t2_body="pass", conftest=""):
    pytester.makeconftest(REQUIRE.format(required=required or BOTH, left_out=left_out or {},
                                         read_only=read_only) + conftest)
    pytester.makepyfile(test_t1=T1, test_t2=T2.format(body=t2_body))
    outdir = tmp_path / "reports"
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "--report-dir", str(outdir), *args)
    return result, json.loads((outdir / "deployment-report.json").read_text())


def steps_of(data) -> dict[str, dict]:
    return {s["id"]: s for s in data["steps"]}


# --- 1. the exit status follows the verdict, in every mode

def test_every_required_check_passed_is_operational_and_exits_0(pytester, tmp_path):
    result, data = run(pytester, tmp_path)
    assert (data["status"], result.ret) == ("OPERATIONAL", 0)
    assert data["scope"] == "mode: own stack; 2 required checks in 2 steps"
    assert result.outlines[-1] == "verdict: OPERATIONAL (mode: own stack; 2 required checks in 2 steps); exit status 0"


def test_a_skipped_check_makes_the_run_incomplete_and_exits_non_zero(pytester, tmp_path):
    result, data = run(pytester, tmp_path, t2_body="pytest.skip('no lab today')")
    result.assert_outcomes(passed=1, skipped=1)     # pytest alone would exit 0
    assert data["status"] == "INCOMPLETE" and result.ret != 0
    assert result.outlines[-1].startswith("verdict: INCOMPLETE") and result.outlines[-1].endswith("exit status 1")


def test_a_narrowed_run_whose_selection_passed_exits_0_and_says_partial_last(pytester, tmp_path):
    result, data = run(pytester, tmp_path, "-m", "t1")
    assert (data["status"], result.ret) == ("PARTIAL", 0)
    assert result.outlines[-1].startswith("verdict: PARTIAL")


def test_a_failed_check_exits_non_zero(pytester, tmp_path):
    result, data = run(pytester, tmp_path, t2_body="assert 1 == 2, 'six profiles expected'")
    assert data["status"] == "DEGRADED" and result.ret != 0
    check = steps_of(data)["T2"]["checks"][0]
    assert (check["check_id"], check["failed_on"]) == ("test_t2.py::test_dropdown", "assertion")


def test_a_crash_is_told_apart_from_an_assertion(pytester, tmp_path):
    _, data = run(pytester, tmp_path, t2_body="raise TimeoutError('hub gone')")
    assert steps_of(data)["T2"]["checks"][0]["failed_on"] == "exception"


# --- 2. required checks are declared, not discovered

def test_a_required_check_that_was_not_collected_leaves_its_step_incomplete(pytester, tmp_path):
    required = {**BOTH, "test_t2.py::test_dropdown_lists_six": "T2"}    # deleted or renamed since
    result, data = run(pytester, tmp_path, required=required)
    result.assert_outcomes(passed=2)
    t2 = steps_of(data)["T2"]
    assert t2["status"] == "incomplete"
    missing = [c for c in t2["checks"] if c["status"] == "missing"]
    assert [c["check_id"] for c in missing] == ["test_t2.py::test_dropdown_lists_six"]
    assert data["status"] == "INCOMPLETE" and result.ret != 0
    assert any("test_dropdown_lists_six" in r and "not collected" in r for r in data["reasons"])


def test_an_ignored_module_leaves_its_steps_checks_missing(pytester, tmp_path):
    result, data = run(pytester, tmp_path, "--ignore", "test_t2.py")
    assert steps_of(data)["T2"]["status"] == "incomplete"
    assert data["status"] == "INCOMPLETE" and result.ret != 0


def test_a_check_deselected_on_purpose_is_not_missing(pytester, tmp_path):
    required = {**BOTH, "test_t2.py::test_dropdown_lists_six": "T2"}
    _, data = run(pytester, tmp_path, "-m", "t1", required=required)
    assert data["status"] == "PARTIAL"              # -m t1 would not have selected a T2 check
    assert all(c["status"] != "missing" for s in data["steps"] for c in s["checks"])


def test_a_narrowed_run_still_misses_a_required_check_it_would_have_selected(pytester, tmp_path):
    required = {**BOTH, "test_t2.py::test_dropdown_lists_six": "T2"}
    result, data = run(pytester, tmp_path, "-m", "t2", required=required)
    assert [c["status"] for c in steps_of(data)["T2"]["checks"]] == ["passed", "missing"]
    assert data["status"] not in ("PARTIAL", "OPERATIONAL") and result.ret != 0


def test_steps_without_required_checks_are_not_expected_and_their_scope_is_said(pytester, tmp_path):
    left_out = {"disruptive: needs --disruptive": ["test_r4.py::test_hardened"]}
    result, data = run(pytester, tmp_path, left_out=left_out)
    assert data["expected_steps"] == ["T1", "T2"] and data["status"] == "OPERATIONAL"
    assert "out of scope (disruptive: needs --disruptive): 1 check" in data["scope"]
    assert "out of scope (disruptive" in result.outlines[-1]


# --- 3. a read-only run is never OPERATIONAL

def test_a_read_only_run_has_its_own_verdict_and_exits_non_zero(pytester, tmp_path):
    result, data = run(pytester, tmp_path, read_only=True)
    assert data["status"] == "READ-ONLY" and result.ret != 0
    assert any(r.startswith("read-only run: only what answers without credentials") for r in data["reasons"])


def _run(status_reasons: list[Check], **fields) -> Run:
    now = datetime.now(UTC)
    return Run(started=now, finished=now, checks=status_reasons, step_titles={"P2": "Phase 2"}, **fields)


def test_the_exit_status_rule():
    passed = [Check(nodeid="a", title="a", step="P2", status=model.PASSED)]
    assert model.exit_status(_run(passed), 0) == 0
    assert model.exit_status(_run(passed, read_only=True), 0) == 1
    assert model.exit_status(_run(passed, read_only=True), 0, gate_read_only=True) == 0
    assert model.exit_status(_run(passed, narrowed="-m p2"), 0) == 0
    skipped = [Check(nodeid="a", title="a", step="P2", status=model.SKIPPED)]
    assert model.exit_status(_run(skipped), 0) == 1
    assert model.exit_status(_run(passed, report_error="boom"), 0) == 1


# --- 6. stale and missing reports

def test_a_report_that_cannot_be_built_replaces_the_earlier_one_and_fails(pytester, tmp_path, monkeypatch):
    outdir = tmp_path / "reports"
    outdir.mkdir()
    (outdir / "deployment-report.json").write_text('{"status": "OPERATIONAL"}')
    (outdir / "deployment-report.html").write_text("OPERATIONAL, from last week")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(render, "write_reports", boom)
    result, data = run(pytester, tmp_path)
    assert data["status"] == "FAILED" and result.ret != 0
    assert "the deployment report could not be built: RuntimeError: disk full" in data["reasons"]
    assert "last week" not in (outdir / "deployment-report.html").read_text()


def test_an_earlier_runs_reports_are_removed_at_the_start(pytester, tmp_path):
    outdir = tmp_path / "reports"
    outdir.mkdir()
    (outdir / "deployment-report.md").write_text("STALE")
    conftest = ("\n\ndef pytest_collection_modifyitems(config, items):\n"
                f"    assert not (__import__('pathlib').Path({str(outdir)!r}) / 'deployment-report.md').exists()\n")
    result, _ = run(pytester, tmp_path, conftest=conftest)
    assert result.ret == 0 and "STALE" not in (outdir / "deployment-report.md").read_text()


# --- 8. --report-dir takes the JUnit XML and pytest-html report along

def test_report_dir_takes_the_junit_xml_along(pytester, tmp_path, monkeypatch):
    default = tmp_path / "default-reports"
    monkeypatch.setattr(settings, "REPORTS_DIR", default)
    result, _ = run(pytester, tmp_path, f"--junitxml={default / 'junit.xml'}")
    assert result.ret == 0
    assert (tmp_path / "reports" / "junit.xml").exists() and not (default / "junit.xml").exists()


def test_an_explicit_junit_path_is_kept(pytester, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "REPORTS_DIR", tmp_path / "default-reports")
    mine = tmp_path / "mine.xml"
    result, _ = run(pytester, tmp_path, f"--junitxml={mine}")
    assert result.ret == 0 and mine.exists()


@pytest.mark.parametrize("status", model.RUN_STATUSES)
def test_every_run_status_but_operational_and_partial_exits_non_zero_without_a_gate(status):
    assert (model.exit_status(_FixedStatus(status), 0) == 0) == (status in (model.OPERATIONAL, model.PARTIAL))


class _FixedStatus:
    def __init__(self, status):
        self.status = status
