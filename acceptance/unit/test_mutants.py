"""The mutation self-test: its breakages apply to a copy of the platform, every step has one, and only a real
catch counts (a check that failed on its assertion, with a green control and the breakage applied)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from acceptance import mutants, settings
from acceptance.mutants import (
    CAUGHT,
    CONTROL_FAILED,
    MISSED,
    MUTANTS,
    NOT_APPLIED,
    Control,
    Mutant,
    Outcome,
    build_verdict,
    check_id_of,
    classify,
    control_groups,
    control_keyword,
    control_verdicts,
    coverage,
    exit_status,
    failed_on,
    scratch_copy,
    write_table,
)
from acceptance.settings import ROOT

BY_ID = {m.id: m for m in MUTANTS}
NO_CHECK_IDS = ({}, "none")


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.id)
def test_each_breakage_applies_to_a_scratch_copy_and_changes_it(mutant, tmp_path):
    scratch = scratch_copy(mutant, tmp_path)
    changed = {rel for rel, _text, _new in mutant.edits}
    assert all((scratch / rel).read_text() != (ROOT / rel).read_text() for rel in changed)
    assert set(mutant.steps) <= set(settings.STEPS)


def test_every_step_has_a_breakage_it_must_catch_and_ci_runs_at_least_three():
    assert {s for m in MUTANTS for s in m.steps} == set(settings.STEPS)
    assert len(MUTANTS) >= 15 and len({m.id for m in MUTANTS}) == len(MUTANTS)
    assert sum(m.smoke for m in MUTANTS) >= 3


def test_the_swarm_stack_has_a_breakage():
    assert any(m.stack == "swarm" for m in MUTANTS)


def test_a_breakage_whose_text_is_not_there_once_is_refused(tmp_path):
    stale = Mutant("x", "x", "hub config", ("P2",), (("stack/jupyterhub_config.py", "no such text", ""),))
    with pytest.raises(ValueError, match="0 times"):
        scratch_copy(stale, tmp_path)


# ---------------------------------------------------------------- classification

P4 = Mutant("m", "m", "hub config", ("P4",), (), select="minimum_length")
P3_T8 = Mutant("two", "two", "profile definition", ("P3", "T8"), ())


def _reported_failed_on(status: str, message: str) -> str | None:
    """What the report plugin writes as failed_on for such a check (acceptance/report/collect.py reads it from the
    exception's type: AssertionError, which Playwright's expect raises too, is "assertion")."""
    if status == "failed":
        return "assertion" if message.startswith("AssertionError") else "exception"
    if status == "error":
        return "teardown" if message.startswith("teardown:") else "setup"
    return None


def check(status: str, message: str = "", nodeid: str = "acceptance/tests/test_p4_auth.py::test_min[chromium]",
          **fields) -> dict:
    return {"nodeid": nodeid, "status": status, "message": message,
            "failed_on": _reported_failed_on(status, message), **fields}


def test_a_failure_the_report_does_not_say_how_is_never_a_catch():
    """A report without failed_on (an older harness): the self-test does not guess from the message."""
    unknown = {"nodeid": "acceptance/tests/test_p4_auth.py::test_min[chromium]", "status": "failed",
               "message": "AssertionError: a 4-character password was accepted"}
    assert failed_on(unknown) is None
    assert classify(P4, report(("P4", [unknown]))).result != CAUGHT


def report(*steps: tuple[str, list[dict]], **top) -> dict:
    return {"status": "DEGRADED", "stack_error": None, "interrupted": None, **top,
            "steps": [{"id": sid, "status": "failed" if any(c["status"] != "passed" for c in checks) else "passed",
                       "checks": checks} for sid, checks in steps]}


ASSERTION = check("failed", "AssertionError: a 4-character password was accepted\nassert 200 == 400")


def test_an_assertion_failure_in_the_named_step_is_a_catch():
    outcome = classify(P4, report(("P4", [ASSERTION])))
    assert outcome.result == CAUGHT and outcome.caught and outcome.applied
    assert outcome.catches == [{"check_id": "test_p4_auth.py::test_min", "step": "P4",
                                "message": "AssertionError: a 4-character password was accepted"}]


def test_playwrights_expect_is_an_assertion():
    expect = check("failed", "AssertionError: Locator expected to be visible\nActual value: hidden")
    assert failed_on(expect) == "assertion"
    assert classify(P4, report(("P4", [expect]))).result == CAUGHT


def test_a_setup_error_is_not_a_catch():
    setup = check("error", "Failed: could not sign up 'x' at http://127.0.0.1:8000: timeout")
    outcome = classify(P4, report(("P4", [setup])))
    assert outcome.result == NOT_APPLIED and not outcome.caught and not outcome.applied
    assert "no check got past its setup" in outcome.message and "could not sign up" in outcome.message


def test_a_setup_error_beside_a_pass_is_missed_not_caught():
    setup = check("error", "Failed: fixture broke", nodeid="acceptance/tests/test_p4_auth.py::test_a[chromium]")
    outcome = classify(P4, report(("P4", [setup, check("passed")])))
    assert outcome.result == MISSED and outcome.applied
    assert "P4: no check failed on its assertion (1 error in setup, 1 passed)" in outcome.message


def test_a_crash_is_not_a_catch():
    crash = check("failed", "KeyError: 'state'")
    assert failed_on(crash) == "exception"
    outcome = classify(P4, report(("P4", [crash])))
    assert outcome.result == MISSED and outcome.catches == []
    assert "1 failed in exception" in outcome.message and "KeyError" in outcome.message


def test_pytest_fail_in_a_check_body_is_not_an_assertion():
    assert failed_on(check("failed", "Failed: the load stage did not end within 60 s")) == "exception"


def test_the_reports_own_failed_on_field_wins_over_the_message():
    said_assertion = check("failed", "KeyError: x", failed_on="assertion")
    said_exception = check("failed", "AssertionError: x", failed_on="exception")
    assert classify(P4, report(("P4", [said_assertion]))).result == CAUGHT
    assert classify(P4, report(("P4", [said_exception]))).result == MISSED


def test_a_teardown_error_after_a_pass_is_not_a_catch():
    teardown = check("error", "teardown: clean-up incomplete")
    assert failed_on(teardown) == "teardown"
    assert classify(P4, report(("P4", [teardown]))).result == MISSED


def test_each_named_step_needs_its_own_assertion_failure():
    p3 = check("failed", "AssertionError: memory 8G", nodeid="acceptance/tests/test_p3_profiles.py::test_x[a]")
    t8_crash = check("failed", "TimeoutError: kernel", nodeid="acceptance/tests/test_t8_resource_limits.py::test_y[a]")
    outcome = classify(P3_T8, report(("P3", [p3]), ("T8", [t8_crash])))
    assert outcome.result == MISSED and "T8: no check failed on its assertion" in outcome.message
    t8 = check("failed", "AssertionError: 8G", nodeid="acceptance/tests/test_t8_resource_limits.py::test_y[a]")
    assert classify(P3_T8, report(("P3", [p3]), ("T8", [t8]))).result == CAUGHT


def test_a_stack_that_did_not_start_is_not_applied():
    setup = check("error", "Failed: the stack did not start: hub exited")
    outcome = classify(P4, report(("P4", [setup]), status="FAILED", stack_error="hub exited (1)"))
    assert outcome.result == NOT_APPLIED and outcome.message == "the stack did not start: hub exited (1)"


def test_must_say_needs_the_catching_check_to_say_it():
    broken = BY_ID["p1-broken-build"]
    stale = check("failed", "AssertionError: local/uv-marimo:latest is stale: built from inputs 1, the checkout 2",
                  nodeid="acceptance/tests/test_p1_images.py::test_b[chromium-local/uv-marimo:latest]")
    outcome = classify(broken, report(("P1", [stale])))
    assert outcome.result == MISSED and "no catching check says" in outcome.message
    failed = check("failed", "AssertionError: the build of local/uv-marimo:latest failed in this run: exit 3",
                   nodeid="acceptance/tests/test_p1_images.py::test_b[chromium-local/uv-marimo:latest]")
    assert classify(broken, report(("P1", [stale, failed]))).result == CAUGHT


def test_a_failed_scratch_build_is_not_applied_unless_the_breakage_is_the_failed_build():
    moved, broken = BY_ID["t5-marimo-moved"], BY_ID["p1-broken-build"]
    assert "failed (exit 1): no space left" in build_verdict(moved, 1, "no space left")
    assert build_verdict(moved, 0, "") is None
    assert build_verdict(broken, 1, "RUN exit 3") is None
    assert "was to fail" in build_verdict(broken, 0, "")


def test_run_mutant_reports_a_failed_scratch_build_as_not_applied(tmp_path, monkeypatch):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1 if "build.py" in " ".join(map(str, cmd)) else 0)

    monkeypatch.setattr(mutants.subprocess, "run", fake_run)
    outcome = mutants.run_mutant(BY_ID["t5-marimo-moved"], tmp_path)
    assert outcome.result == NOT_APPLIED and "scratch build of uv-marimo failed (exit 1)" in outcome.message
    assert not any("pytest" in map(str, c) for c in calls)   # the suite does not run against it


def test_check_ids_drop_the_folder_and_the_browser_parameter():
    assert check_id_of({"nodeid": "acceptance/tests/test_p3_profiles.py::test_x[chromium-lab-2cpu-4g]"}) \
        == "test_p3_profiles.py::test_x[lab-2cpu-4g]"
    assert check_id_of({"nodeid": "acceptance/tests/test_p2_stack.py::test_y[chromium]"}) == "test_p2_stack.py::test_y"
    assert check_id_of({"nodeid": "acceptance/tests/test_p2_stack.py::test_y"}) == "test_p2_stack.py::test_y"
    assert check_id_of({"nodeid": "x", "check_id": "test_a.py::test_b"}) == "test_a.py::test_b"


# ---------------------------------------------------------------- the control

def test_one_control_run_per_stack_and_args_whose_keyword_ors_the_selections():
    chosen = [BY_ID[i] for i in ("p3-memory-doubled", "t4-vscode-runs-marimo-image", "r7-no-hsts",
                                 "l1-spawn-timeout-2s")]
    groups = dict(control_groups(chosen))
    assert list(groups) == ["control-compose", "control-production", "control-compose-load-smoke"]
    assert [m.id for m in groups["control-compose"]] == ["p3-memory-doubled", "t4-vscode-runs-marimo-image"]
    assert control_keyword(groups["control-compose"]) == "((p3 or t8) and (lab-2cpu-4g)) or ((t4))"


def _control_report(*checks: dict, status: str = "PARTIAL", **top) -> dict:
    steps: dict[str, list] = {}
    for c in checks:
        steps.setdefault(c.pop("step"), []).append(c)
    return {"status": status, "reasons": [], "stack_error": None, "interrupted": None, **top,
            "steps": [{"id": sid, "checks": cs} for sid, cs in steps.items()]}


def test_a_green_control_maps_each_breakages_checks_back():
    a = check("passed", nodeid="t/test_p4_auth.py::test_min[chromium]", step="P4")
    b = check("passed", nodeid="t/test_t2_profile_dropdown.py::test_l[chromium]", step="T2")
    two = Mutant("two", "x", "profile definition", ("T2",), ())
    verdicts = control_verdicts([P4, two], "control-compose", _control_report(a, b),
                                {"m": ["t/test_p4_auth.py::test_min[chromium]"],
                                 "two": ["t/test_t2_profile_dropdown.py::test_l[chromium]"]})
    assert verdicts["m"].ok and verdicts["two"].ok and verdicts["m"].checks == ["test_p4_auth.py::test_min"]


def test_a_failed_control_check_fails_its_breakage_only():
    a = check("failed", "AssertionError: short password accepted", nodeid="t/test_p4_auth.py::test_min[chromium]",
              step="P4")
    b = check("passed", nodeid="t/test_t2_profile_dropdown.py::test_l[chromium]", step="T2")
    two = Mutant("two", "x", "profile definition", ("T2",), ())
    verdicts = control_verdicts([P4, two], "c", _control_report(a, b, status="DEGRADED"),
                                {"m": ["t/test_p4_auth.py::test_min[chromium]"],
                                 "two": ["t/test_t2_profile_dropdown.py::test_l[chromium]"]})
    assert not verdicts["m"].ok and verdicts["two"].ok
    assert verdicts["m"].problems == ["test_p4_auth.py::test_min: failed (on its assertion): "
                                      "AssertionError: short password accepted"]


@pytest.mark.parametrize("status", ["skipped", "error", "unknown"])
def test_a_control_check_that_did_not_pass_fails_the_control(status):
    a = check(status, "why", nodeid="t/test_p4_auth.py::test_min[chromium]", step="P4")
    verdicts = control_verdicts([P4], "c", _control_report(a, status="INCOMPLETE"),
                                {"m": ["t/test_p4_auth.py::test_min[chromium]"]})
    assert not verdicts["m"].ok


def test_a_control_whose_stack_did_not_start_or_that_selected_nothing_fails():
    a = check("error", "Failed: the stack did not start", nodeid="t/test_p4_auth.py::test_min[chromium]", step="P4")
    stack = control_verdicts([P4], "c", _control_report(a, status="FAILED", stack_error="no hub"),
                             {"m": ["t/test_p4_auth.py::test_min[chromium]"]})
    assert stack["m"].problems == ["the stack did not start: no hub"]
    nothing = control_verdicts([P4], "c", _control_report(), {"m": []})
    assert not nothing["m"].ok and "selects no check" in nothing["m"].problems[0]
    no_report = control_verdicts([P4], "c", None, None)
    assert not no_report["m"].ok


def test_a_control_whose_checks_passed_but_whose_report_is_not_partial_fails():
    a = check("passed", nodeid="t/test_p4_auth.py::test_min[chromium]", step="P4")
    verdicts = control_verdicts([P4], "c", _control_report(a, status="INCOMPLETE", reasons=["pytest exited 3"]),
                                {"m": ["t/test_p4_auth.py::test_min[chromium]"]})
    assert not verdicts["m"].ok and "pytest exited 3" in verdicts["m"].problems[0]


def test_the_control_plugin_maps_items_by_pytests_own_m_and_k(tmp_path):
    """The control's -k (the OR of `(markers) and (select)`) matches marker names; the plugin records what each
    breakage's own -m/-k selects and deselects the rest."""
    (tmp_path / "test_demo.py").write_text(
        "import pytest\n"
        "@pytest.mark.p4\ndef test_minimum_length(): pass\n"
        "@pytest.mark.p4\ndef test_other(): pass\n"
        "@pytest.mark.t2\ndef test_dropdown(): pass\n"
        "def test_p4_lookalike_minimum_length(): pass\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    p4: x\n    t2: x\n")
    two = Mutant("two", "x", "profile definition", ("T2",), ())
    out = tmp_path / "selection.json"
    env = {mutants.CONTROL_ENV: json.dumps({"out": str(out), "selections": {
        "m": [P4.markexpr, P4.select], "two": [two.markexpr, two.select]}})}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "acceptance.mutants",
                           "-k", control_keyword([P4, two]), "test_demo.py"], cwd=tmp_path, capture_output=True,
                          text=True, env={**mutants.os.environ, "PYTHONPATH": str(ROOT), **env})
    assert "2 passed" in proc.stdout, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert data["selected"] == {"m": ["test_demo.py::test_minimum_length"], "two": ["test_demo.py::test_dropdown"]}
    assert data["extra"] == ["test_demo.py::test_p4_lookalike_minimum_length"]   # -k's substring match, dropped


# ---------------------------------------------------------------- the verdict and the table

def outcome(mid: str, result: str, catches=()) -> Outcome:
    return Outcome(BY_ID[mid], result, catches=list(catches), control=Control(ok=result != CONTROL_FAILED))


def test_the_exit_status_is_zero_only_when_every_breakage_was_caught():
    caught = [outcome(m.id, CAUGHT) for m in MUTANTS[:3]]
    assert exit_status(caught) == 0
    for bad in (MISSED, NOT_APPLIED, CONTROL_FAILED):
        assert exit_status([*caught, outcome(MUTANTS[3].id, bad)]) == 1
    assert exit_status([]) == 1


def test_a_failed_control_fails_the_run_and_is_not_counted_as_applied(tmp_path):
    rows = [outcome(MUTANTS[0].id, CAUGHT), outcome(MUTANTS[1].id, CONTROL_FAILED), outcome(MUTANTS[2].id, NOT_APPLIED)]
    data = json.loads(write_table(rows, tmp_path, check_ids=NO_CHECK_IDS).read_text())
    assert (data["total"], data["applied"], data["caught"], data["kill_rate"]) == (3, 1, 1, 1.0)
    assert (data["control_failed"], data["not_applied"]) == (1, 1)
    assert exit_status(rows) == 1


def test_the_kill_rate_is_caught_over_applied(tmp_path):
    rows = [outcome(MUTANTS[0].id, CAUGHT), outcome(MUTANTS[1].id, MISSED), outcome(MUTANTS[2].id, NOT_APPLIED)]
    data = json.loads(write_table(rows, tmp_path, check_ids=NO_CHECK_IDS).read_text())
    assert (data["applied"], data["caught"], data["kill_rate"]) == (2, 1, 0.5)


def test_a_rerun_of_some_breakages_replaces_their_rows(tmp_path):
    first = [outcome(m.id, MISSED) for m in MUTANTS[:3]]
    write_table(first, tmp_path, check_ids=NO_CHECK_IDS)
    data = json.loads(write_table([outcome(MUTANTS[1].id, CAUGHT)], tmp_path, merge=True,
                                  check_ids=NO_CHECK_IDS).read_text())
    assert [r["id"] for r in data["rows"]] == [m.id for m in MUTANTS[:3]]
    assert [r["result"] for r in data["rows"]] == [MISSED, CAUGHT, MISSED] and data["caught"] == 1


def test_a_rerun_keeps_the_earlier_control_run_its_remaining_rows_were_judged_by(tmp_path):
    def judged(mid: str, ref: str) -> Outcome:
        return Outcome(BY_ID[mid], CAUGHT, control=Control(ok=True, run=ref))

    def record(ref: str, ok: bool, ids: list[str]) -> dict:
        return {"id": "control-compose", "ref": ref, "ok": ok, "breakages": ids}

    first = [judged("p4-short-passwords", "control-compose@1"), judged("t2-profile-dropped", "control-compose@1")]
    write_table(first, tmp_path, controls=[record("control-compose@1", True, ["p4-short-passwords",
                                                                             "t2-profile-dropped"])],
                check_ids=NO_CHECK_IDS)
    again = Outcome(BY_ID["t2-profile-dropped"], CONTROL_FAILED, control=Control(run="control-compose@2"))
    data = json.loads(write_table([again], tmp_path, merge=True, check_ids=NO_CHECK_IDS,
                                  controls=[record("control-compose@2", False, ["t2-profile-dropped"])]).read_text())
    assert [(c["ref"], c["ok"]) for c in data["controls"]] == [("control-compose@1", True),
                                                                ("control-compose@2", False)]
    assert {r["id"]: r["control"]["run"] for r in data["rows"]} == {"p4-short-passwords": "control-compose@1",
                                                                    "t2-profile-dropped": "control-compose@2"}


def test_the_coverage_table_counts_assertion_failures_of_applied_breakages_only():
    rows = [outcome("p4-short-passwords", CAUGHT, [{"check_id": "a.py::t1", "step": "P4", "message": "m"}]).row(),
            outcome("p4-signup-closed", CONTROL_FAILED, [{"check_id": "a.py::t2", "step": "P4", "message": "m"}]).row()]
    table = coverage(rows, {"a.py::t1": "P4", "a.py::t2": "P4", "a.py::t3": "P4"}, "test", unit={})
    assert [(c["check_id"], c["breakages"]) for c in table["checks"]] == [
        ("a.py::t1", ["p4-short-passwords"]), ("a.py::t2", []), ("a.py::t3", [])]
    assert table["uncovered"] == ["a.py::t2", "a.py::t3"] and (table["total"], table["covered"]) == (3, 1)


def test_a_check_a_unit_test_makes_fail_is_covered_and_named():
    table = coverage([], {"a.py::t1": "P1", "a.py::t2": "P1"}, "test", unit={"a.py::t2": ("u.py::test_u",)})
    assert table["uncovered"] == ["a.py::t1"] and (table["by_breakage"], table["by_unit_test_only"]) == (0, 1)
    assert table["checks"][1]["unit_tests"] == ["u.py::test_u"]


def test_each_declared_unit_catch_is_a_known_check_and_an_existing_unit_test_that_calls_it(tmp_path):
    import importlib
    import inspect
    import re

    from acceptance.mutants import UNIT_CATCHES, all_check_ids

    known, _source = all_check_ids()
    assert set(UNIT_CATCHES) <= set(known), set(UNIT_CATCHES) - set(known)
    nodeids = sorted({n for ids in UNIT_CATCHES.values() for n in ids})
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "--report-dir", str(tmp_path), f"--junitxml={tmp_path / 'junit.xml'}",
                           f"--html={tmp_path / 'pytest.html'}", *nodeids], cwd=ROOT, capture_output=True, text=True)
    collected = {line.strip() for line in proc.stdout.splitlines()}
    assert set(nodeids) <= collected, (set(nodeids) - collected, proc.stdout[-2000:] + proc.stderr[-2000:])
    for check_id, ids in UNIT_CATCHES.items():
        check_fn = re.sub(r"\[.*", "", check_id.split("::")[1])
        for nodeid in ids:
            path, _, name = nodeid.partition("::")
            module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
            source = inspect.getsource(getattr(module, re.sub(r"\[.*", "", name)))
            assert f"{check_fn}(" in source and "pytest.raises(AssertionError" in source, nodeid


# ---------------------------------------------------------------- the reports' view of mutants.json

def test_the_reports_show_controls_not_applied_the_kill_rate_over_applied_and_the_uncovered_checks(tmp_path):
    from datetime import UTC, datetime

    from acceptance.report.model import Run
    from acceptance.report.mutants_view import read_mutants
    from acceptance.report.render import write_reports

    control = Control(ok=True, run="control-compose", checks=["a.py::t1"])
    rows = [outcome("p4-short-passwords", CAUGHT, [{"check_id": "a.py::t1", "step": "P4", "message": "4 <chars>"}]),
            outcome("p3-memory-doubled", MISSED), outcome("t2-profile-dropped", NOT_APPLIED),
            Outcome(BY_ID["p1-stale-image"], CONTROL_FAILED,
                    control=Control(problems=["test_p1.py::t: error (in setup)"]))]
    rows[0].control = control
    controls = [{"id": "control-compose", "stack": "compose", "args": [], "keyword": "k", "status": "PARTIAL",
                 "checks": 9, "ok": False, "duration_s": 80.4, "breakages": [r.mutant.id for r in rows]}]
    write_table(rows, tmp_path, controls=controls, check_ids=({"a.py::t1": "P4", "a.py::t2": "P4"}, "the manifest"))
    view = read_mutants(tmp_path)
    assert (view["caught"], view["applied"], view["not_applied"], view["control_failed"], view["kill_rate"]) == \
        (1, 2, 1, 1, "50%")
    assert view["coverage"]["uncovered"] == ["a.py::t2"] and view["coverage"]["covered"] == 1
    now = datetime.now(UTC)
    paths = write_reports(Run(started=now, finished=now, step_titles=dict(settings.STEPS)), tmp_path)
    html, md = paths["html"].read_text(), paths["md"].read_text()
    section = html[html.index('<h2 id="mutants">'):]
    assert "(1 of 2 applied breakages caught on a check's assertion) · 1 not applied · 1 control failed" in section
    assert "<code>control-compose</code>" in section and '<tr class="not-applied">' in section
    assert '<tr class="control-failed">' in section and "test_p1.py::t: error (in setup)" in section
    assert "<code>a.py::t1</code>: 4 &lt;chars&gt;" in section and "<li><code>a.py::t2</code></li>" in section
    assert "❌ **not applied**" in md and "❌ **control failed**" in md
    assert "Nothing made these fail: `a.py::t2`" in md
