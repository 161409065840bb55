"""The deployment report: aggregation rules, the three writers, and the pytest plugin end to end."""
from __future__ import annotations

import base64
import json
import struct
import zlib
from datetime import UTC, datetime, timedelta
from html import escape as html_escape
from pathlib import Path

import pytest

from acceptance import settings
from acceptance.report import model
from acceptance.report.collect import ReportCollector
from acceptance.report.evidence import Tally
from acceptance.report.model import Attachment, Check, Run
from acceptance.report.mutants_view import read_mutants
from acceptance.report.render import write_reports
from acceptance.report.verdict import read_build_status

pytest_plugins = ["pytester"]

T0 = datetime(2025, 11, 3, 8, 2, 57, tzinfo=UTC)
RELIABILITY_STEPS = [sid for sid in settings.STEPS if sid.startswith("R")]   # R1..R6
TWO_STEPS = ["T1", "T2"]          # the expected steps of the small runs below
FAILURE = "AssertionError: expected <b>Admin</b> label & a 'logout' link"


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG, built by hand."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x20\x80\xc0" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture(autouse=True)
def no_build_status(monkeypatch):
    """The runs here must not read the image build status of the session running them."""
    monkeypatch.delenv("IMAGE_BUILD_STATUS", raising=False)


def check(step: str, status: str = model.PASSED, title: str = "a check", **kw) -> Check:
    return Check(nodeid=f"acceptance/tests/test_x.py::test_{step.lower()}_{title.replace(' ', '_')}",
                 title=title, step=step, status=status, **kw)


def make_run(tmp_path: Path, checks: list[Check], **kw) -> Run:
    return Run(started=T0, finished=T0 + timedelta(seconds=95), checks=checks,
               step_titles=dict(settings.STEPS), count_names=settings.RELIABILITY_COUNTS, **kw)


@pytest.fixture
def sample_run(tmp_path: Path) -> Run:
    shot = tmp_path / "artifacts" / "t1" / "1-logged-in.png"
    shot.parent.mkdir(parents=True)
    shot.write_bytes(tiny_png())
    log = tmp_path / "artifacts" / "t1" / "2-hub-log.txt"
    log.write_text("[I hub] <started>\n")
    return make_run(
        tmp_path,
        [
            check("P1", title="uv-lab image exists", duration_s=0.5, facts={"measured size": "1.23 GB"}),
            check("P1", title="uv-vscode image exists", duration_s=0.25),
            check("T1", model.FAILED, title="admin sees the Admin label", duration_s=3.0, message=FAILURE,
                  attachments=[Attachment("logged in", model.IMAGE, str(shot)),
                               Attachment("hub log", model.TEXT, str(log), content=log.read_text())]),
            check("T1", title="signup page loads", duration_s=1.0),
        ],
        info={"Hub URL": "http://localhost:8000"},
        versions={"JupyterHub": "5.2.1"},
        images=[{"name": "local/uv-lab", "tag": "latest", "size_bytes": 1_230_000_000, "spec_size": "1.94GB",
                 "target_bytes": 2_000_000_000},
                {"name": "uv-marimo", "tag": "local/uv-marimo:latest", "size_bytes": 2_100_000_000,
                 "spec_size": "1.98GB", "target_bytes": 2_000_000_000},
                {"name": "single-user images together", "tag": "", "size_bytes": None, "spec_size": "",
                 "target_bytes": None}],
        profiles=[{"key": "lab-2cpu-4gb", "name": "uv Lab - 2 CPU / 4GB", "image": "local/uv-lab:latest",
                   "cpus": 2, "memory": "4G", "default_url": "/lab", "app": "lab"}],
    )


# ---------------------------------------------------------------- aggregation

@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], model.NOT_RUN),
        ([model.PASSED, model.PASSED], model.PASSED),
        ([model.PASSED, model.SKIPPED], model.INCOMPLETE),
        ([model.SKIPPED, model.SKIPPED], model.INCOMPLETE),
        ([model.PASSED, model.XPASS], model.INCOMPLETE),
        ([model.PASSED, model.UNKNOWN], model.INCOMPLETE),
        ([model.PASSED, model.FAILED], model.FAILED),
        ([model.SKIPPED, model.ERROR], model.FAILED),
        ([model.XPASS, model.FAILED], model.FAILED),
    ],
)
def test_step_status(statuses, expected):
    assert model.step_status([check("T1", s) for s in statuses]) == expected


def test_a_check_starts_unknown_not_passed():
    c = Check(nodeid="x.py::test_x", title="x", step="T1")
    assert c.status == model.UNKNOWN and not c.ok and not c.bad


def test_steps_are_all_seventeen_in_order_with_sum_and_failure_messages():
    checks = [
        check("T3", title="lab loads", duration_s=2.0),
        check("P2", title="hub up", duration_s=1.5),
        check("P2", model.FAILED, title="network exists", duration_s=0.5, message="no network jupyterhub-net"),
        check("P2", model.ERROR, title="volume mounted", message="teardown: boom"),
    ]
    steps = model.build_steps(checks, settings.STEPS)
    assert [s.id for s in steps] == list(settings.STEPS)
    by_id = {s.id: s for s in steps}
    assert by_id["P2"].status == model.FAILED
    assert by_id["P2"].duration_s == pytest.approx(2.0)
    assert "no network jupyterhub-net" in by_id["P2"].message
    assert "teardown: boom" in by_id["P2"].message
    assert "hub up" not in by_id["P2"].message
    assert by_id["T3"].status == model.PASSED
    assert by_id["T1"].status == model.NOT_RUN and by_id["T1"].checks == []
    assert by_id["T3"].title == settings.STEPS["T3"]


BUILD_FAILED = {"ok": False, "finished": "2025-11-03T08:00:00+00:00", "images": [
    {"name": "uv-lab", "tag": "local/uv-lab:latest", "ok": True, "seconds": 3.1},
    {"name": "uv-marimo", "tag": "local/uv-marimo:latest", "ok": False, "seconds": 12.3, "error": "pip: boom\nmore"},
]}


@pytest.mark.parametrize(
    ("checks", "fields", "status", "reasons"),
    [
        ([check("T1"), check("T2")], {}, model.OPERATIONAL, []),
        ([check("T1"), check("T2")], {"exit_status": 0, "build_status": {"ok": True, "images": []}},
         model.OPERATIONAL, []),
        ([check("T1")], {}, model.RUN_INCOMPLETE, ["T2: expected step has no checks"]),
        ([check("T1"), check("T2"), check("T2", model.SKIPPED, title="lab loads", message="no lab today")], {},
         model.RUN_INCOMPLETE, ["T2: 1 check skipped: lab loads (no lab today)"]),
        ([check("T1"), check("T2", model.XPASS, message="marked xfail: flaky")], {},
         model.RUN_INCOMPLETE, ["T2: 1 check passed unexpectedly (xpass): a check (marked xfail: flaky)"]),
        ([check("T1"), check("T2", model.UNKNOWN)], {}, model.RUN_INCOMPLETE,
         ["T2: 1 check unfinished (no result): a check"]),
        ([check("T1"), check("T2")], {"interrupted": "KeyboardInterrupt"}, model.RUN_INCOMPLETE,
         ["session interrupted: KeyboardInterrupt"]),
        ([check("T1"), check("T2")], {"exit_status": 1}, model.RUN_INCOMPLETE, ["pytest exited with status 1"]),
        ([check("T1"), check("T2")], {"unit_failures": ["acceptance/unit/test_x.py::test_y"]}, model.RUN_INCOMPLETE,
         ["unit tests failed: acceptance/unit/test_x.py::test_y"]),
        ([check("T1"), check("T2")], {"build_status": {"ok": None, "error": "could not read b.json"}},
         model.RUN_INCOMPLETE, ["image build status unknown: could not read b.json"]),
        ([check("T1"), check("T2")], {"build_status": BUILD_FAILED}, model.DEGRADED,
         ["image build failed: local/uv-marimo:latest (pip: boom)"]),
        ([check("T1")], {"narrowed": "-m 't1'"}, model.PARTIAL,
         ["run narrowed with -m 't1': 1 expected step not run (T2)"]),
        ([check("T1"), check("T2", model.FAILED, message="x\ny")], {}, model.DEGRADED,
         ["T2: 1 check failed: a check (x)"]),
        ([check("T1", model.FAILED), check("T2", model.SKIPPED)], {}, model.RUN_FAILED,
         ["no step passed", "T1: 1 check failed: a check", "T2: 1 check skipped: a check"]),
        ([check("T1"), check("T2")], {"stack_error": "compose up failed\nlog"}, model.RUN_FAILED,
         ["the stack could not start: compose up failed"]),
    ],
)
def test_run_status_fails_closed(tmp_path, checks, fields, status, reasons):
    run = make_run(tmp_path, checks, expected_steps=TWO_STEPS, **fields)
    assert (run.status, run.reasons) == (status, reasons)


def test_expected_steps_default_to_every_step(tmp_path):
    run = make_run(tmp_path, [check("T1")])
    assert run.expected_steps == list(settings.STEPS)
    assert run.status == model.RUN_INCOMPLETE and len(run.reasons) == len(settings.STEPS) - 1
    assert "R4: expected step has no checks" in run.reasons


def test_reasons_come_worst_first_and_the_worst_is_the_status(tmp_path):
    run = make_run(tmp_path, [check("T1", model.SKIPPED), check("T2"), check("T3", model.ERROR, message="boom")],
                   expected_steps=["T1", "T2", "T3"], narrowed="-k lab", exit_status=1, stack_error="no hub")
    order = [model.RUN_STATUSES.index(status) for status, _ in run.assessment]
    assert order == sorted(order) and run.status == model.RUN_FAILED
    assert run.reasons == ["the stack could not start: no hub", "T3: 1 check errored: a check (boom)",
                           "T1: 1 check skipped: a check", "pytest exited with status 1", "run narrowed with -k lab"]


def test_build_status_file_is_read_defensively(tmp_path):
    assert read_build_status(None) is None and read_build_status("") is None
    missing = read_build_status(str(tmp_path / "nope.json"))
    assert missing["ok"] is None and "nope.json" in missing["error"]
    for text in ("{not json", '{"ok": "yes", "images": []}', '{"ok": true}', '{"ok": true, "images": [1]}', "[]"):
        (tmp_path / "b.json").write_text(text)
        assert read_build_status(str(tmp_path / "b.json"))["ok"] is None, text
    (tmp_path / "b.json").write_text(json.dumps(BUILD_FAILED))
    assert read_build_status(str(tmp_path / "b.json")) == BUILD_FAILED
    assert model.build_reasons({"ok": True, "images": [{"name": "a", "ok": False}]}) == [
        (model.DEGRADED, "image build failed: a (no error given)")]   # ok but an image failed: failed


def test_summary_counts(sample_run):
    s = sample_run.summary
    steps = len(settings.STEPS)
    assert (s["steps"], s["steps_passed"], s["steps_failed"], s["steps_not_run"]) == (steps, 1, 1, steps - 2)
    assert (s["checks"], s["checks_passed"], s["checks_failed"]) == (4, 3, 1)


def test_steps_fall_into_their_sections():
    steps = model.build_steps([check("X9")], settings.STEPS)
    sections = {s.id: s.section for s in steps}
    assert {sections[f"P{i}"] for i in range(1, 5)} == {model.PHASES}
    assert {sections[f"T{i}"] for i in range(1, 9)} == {model.TESTS}
    assert {sections[f"R{i}"] for i in range(1, 6)} == {model.RELIABILITY}
    assert sections["X9"] == model.TESTS
    assert [s.id for s in steps if s.is_phase] == ["P1", "P2", "P3", "P4"]


def test_reliability_counts_in_settings_order_then_the_others():
    counts = {"extra": 2, "files lost": 0, "inputs tried": 7}
    assert model.reliability_counts(counts, settings.RELIABILITY_COUNTS) == [
        ("inputs tried", 7),
        ("faults injected", None),
        ("cross-user attempts refused", None),
        ("files lost", 0),
        ("servers lost on hub restart", None),
        ("extra", 2),
    ]
    assert model.reliability_counts({}, ()) == []


def test_add_count_and_tally_accumulate_and_record_zero(tmp_path):
    collector = ReportCollector(tmp_path)
    collector.add_count("inputs tried")
    collector.add_count("inputs tried", 4)
    collector.add_count("files lost", 0)
    assert collector.counts == {"inputs tried": 5, "files lost": 0}

    r3 = check("R3", title="files survive a hub restart")
    tally = Tally(collector, r3)
    assert tally("files lost", 0) == 0
    assert tally("inputs tried", 2) == 2 and tally("inputs tried") == 3
    assert collector.counts == {"inputs tried": 8, "files lost": 0}
    assert r3.facts == {"count: files lost": "0", "count: inputs tried": "3"}   # this test's share
    run = collector.build_run()
    assert run.counts == {"inputs tried": 8, "files lost": 0}
    assert dict(run.ordered_counts)["servers lost on hub restart"] is None


# ---------------------------------------------------------------- writers

def reliability_run(tmp_path: Path) -> Run:
    return make_run(
        tmp_path,
        [
            check("T1", title="signup page loads"),
            check("R2", title="a user cannot open another's server",
                  facts={"count: cross-user attempts refused": "3"}),
            check("R3", model.FAILED, title="servers survive a hub restart", message="jupyter-bob is gone"),
        ],
        counts={"cross-user attempts refused": 3, "files lost": 0, "servers lost on hub restart": 1},
    )


def test_html_has_the_reliability_section_after_the_checklist(tmp_path):
    html = write_reports(reliability_run(tmp_path), tmp_path)["html"].read_text()
    checklist, reliability = html.index('<h2 id="checklist">'), html.index('<h2 id="reliability">')
    assert checklist < reliability < html.index('<h2 id="run">')
    for sid in RELIABILITY_STEPS:
        assert html_escape(settings.STEPS[sid]) not in html[checklist:reliability], sid
        assert f'id="{sid.lower()}"' in html[reliability:] and f'href="#{sid.lower()}"' in html
    section = html[reliability:]
    assert '<tr class="not-measured"><td>inputs tried</td><td class="num">not measured</td></tr>' in section
    assert '<tr><td>cross-user attempts refused</td><td class="num">3</td></tr>' in section
    assert '<tr class="no-loss"><td>files lost</td><td class="num">0</td></tr>' in section
    assert '<tr class="loss"><td>servers lost on hub restart</td><td class="num">1</td></tr>' in section
    assert "jupyter-bob is gone" in section and "count: cross-user attempts refused" in section
    assert "⚠️ DEGRADED" in html                              # R steps count towards the status


def test_markdown_has_the_reliability_section(tmp_path):
    md = write_reports(reliability_run(tmp_path), tmp_path)["md"].read_text()
    checklist, reliability = md.index("## Testing Checklist"), md.index("## Reliability and security")
    assert checklist < reliability < md.index("## Run")
    assert "### Security 2: Isolation ✅" in md[reliability:]
    assert "Security 2" not in md[checklist:reliability]
    assert "| inputs tried | _not measured_ |" in md
    assert "| files lost | 0 ✅ |" in md and "| servers lost on hub restart | 1 ❌ |" in md
    assert "- [ ] servers survive a hub restart — **failed**" in md
    assert "  - count: cross-user attempts refused: **3**" in md


def test_json_reliability_block(tmp_path):
    data = json.loads(write_reports(reliability_run(tmp_path), tmp_path)["json"].read_text())
    assert data["reliability"] == {
        "counts": {"inputs tried": None, "faults injected": None, "cross-user attempts refused": 3,
                   "files lost": 0, "servers lost on hub restart": 1},
        "steps": RELIABILITY_STEPS,
    }
    assert list(data["reliability"]["counts"]) == list(settings.RELIABILITY_COUNTS)
    assert [s["id"] for s in data["steps"]] == list(settings.STEPS)
    assert data["summary"]["steps_failed"] == 1


def test_reliability_section_when_no_reliability_test_ran(sample_run, tmp_path):
    paths = write_reports(sample_run, tmp_path)
    html = paths["html"].read_text()
    section = html[html.index('<h2 id="reliability">'):]
    assert section.count("Not run in this session.") == len(RELIABILITY_STEPS)
    assert section.count(">not measured</td>") == len(settings.RELIABILITY_COUNTS)
    assert "| files lost | _not measured_ |" in paths["md"].read_text()
    data = json.loads(paths["json"].read_text())
    assert set(data["reliability"]["counts"].values()) == {None}


def test_reliability_section_left_out_without_reliability_steps(tmp_path):
    titles = {sid: title for sid, title in settings.STEPS.items() if not sid.startswith("R")}
    run = Run(started=T0, finished=T0, checks=[check("T1")], step_titles=titles,
              count_names=settings.RELIABILITY_COUNTS)
    paths = write_reports(run, tmp_path)
    assert 'id="reliability"' not in paths["html"].read_text()
    assert "Reliability and security" not in paths["md"].read_text()
    assert json.loads(paths["json"].read_text())["reliability"]["steps"] == []


def test_html_is_self_contained_and_escaped(sample_run, tmp_path):
    paths = write_reports(sample_run, tmp_path)
    html = paths["html"].read_text()
    assert "⚠️ DEGRADED" in html
    assert "&lt;b&gt;Admin&lt;/b&gt; label &amp; a &#39;logout&#39; link" in html
    assert "<b>Admin</b>" not in html
    uri = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
    assert uri in html
    assert "&lt;started&gt;" in html                       # text attachment, escaped, in <details><pre>
    for sid, title in settings.STEPS.items():
        assert html_escape(title) in html, sid
    assert "uv Lab - 2 CPU / 4GB" in html and "1.94GB" in html and "1.23 GB" in html
    assert "http://localhost:8000" in html and "5.2.1" in html
    assert "<link " not in html and 'src="http' not in html  # nothing fetched from elsewhere


def test_markdown_shaped_like_the_checklist(sample_run, tmp_path):
    md = write_reports(sample_run, tmp_path)["md"].read_text()
    assert md.startswith(f"# {model.DEFAULT_TITLE}")
    assert "**Status**: ⚠️ **DEGRADED**" in md
    assert "## Phase 1: Image Building ✅" in md
    assert "### Test 1: User Signup & Admin Creation ❌" in md
    assert "- [x] signup page loads" in md
    assert "- [ ] admin sees the Admin label — **failed**" in md
    assert "![logged in](artifacts/t1/1-logged-in.png)" in md
    assert FAILURE in md                                     # in a code block, verbatim
    assert "| `local/uv-lab:latest` | 1.94GB | 1.23 GB | 2.00 GB | ✓ yes |" in md
    assert "| `local/uv-marimo:latest` | 1.98GB | 2.10 GB | 2.00 GB | ✗ no |" in md
    assert "| single-user images together | — | missing | — | — |" in md


def test_json_round_trips(sample_run, tmp_path):
    data = json.loads(write_reports(sample_run, tmp_path)["json"].read_text())
    assert list(data)[:7] == ["title", "status", "reasons", "started", "finished", "duration_s", "stack_error"]
    assert data["status"] == model.DEGRADED
    assert data["duration_s"] == 95
    assert [s["id"] for s in data["steps"]] == list(settings.STEPS)
    steps = {s["id"]: s for s in data["steps"]}
    assert steps["T2"]["status"] == "not run" and steps["T2"]["checks"] == []
    t1 = steps["T1"]
    assert t1["status"] == "failed" and t1["duration_s"] == 4.0 and FAILURE in t1["message"]
    failed = t1["checks"][0]
    assert list(failed) == ["nodeid", "check_id", "title", "status", "failed_on", "duration_s", "message", "facts",
                            "attachments", "phases_s"]
    assert failed["attachments"][0] == {"label": "logged in", "kind": "image", "path": "artifacts/t1/1-logged-in.png"}
    assert steps["P1"]["checks"][0]["facts"] == {"measured size": "1.23 GB"}
    assert data["summary"]["checks_failed"] == 1
    assert data["images"][0]["target_bytes"] == 2_000_000_000


def test_stack_error_makes_the_run_failed(tmp_path):
    run = make_run(tmp_path, [check("P2", model.ERROR, message="Failed: the stack did not start")],
                   stack_error="hub did not answer within 120 s <timeout>")
    run.run_attachments.append(Attachment("hub log", model.TEXT, str(tmp_path / "nowhere.txt"), content="Traceback"))
    paths = write_reports(run, tmp_path / "out")
    html = paths["html"].read_text()
    assert "❌ FAILED" in html and "The stack could not start." in html
    assert "hub did not answer within 120 s &lt;timeout&gt;" in html
    assert "Traceback" in html
    data = json.loads(paths["json"].read_text())
    assert data["status"] == "FAILED" and data["stack_error"].startswith("hub did not answer")
    assert "The stack could not start" in paths["md"].read_text()


def test_banner_says_what_was_not_verified_and_why(tmp_path):
    run = make_run(tmp_path, [check("T1"), check("T2", model.SKIPPED, title="lab <loads>", message="no lab")],
                   expected_steps=TWO_STEPS, exit_status=0, narrowed=None)
    paths = write_reports(run, tmp_path)
    html = paths["html"].read_text()
    banner = html[html.index('<header class="banner incomplete"'):html.index("</header>")]
    assert "🔶 INCOMPLETE" in banner and "✅" not in banner
    assert "<li>T2: 1 check skipped: lab &lt;loads&gt; (no lab)</li>" in banner
    md = paths["md"].read_text()
    assert "**Status**: 🔶 **INCOMPLETE**" in md and r"- T2: 1 check skipped: lab \<loads\> (no lab)" in md
    data = json.loads(paths["json"].read_text())
    assert data["status"] == "INCOMPLETE" and data["reasons"] == ["T2: 1 check skipped: lab <loads> (no lab)"]
    assert data["expected_steps"] == TWO_STEPS and data["exit_status"] == 0 and data["narrowed"] is None
    assert data["pytest_html"] is None and data["expected_state"] is None and data["summary"]["checks_skipped"] == 1


def test_partial_is_not_green(tmp_path):
    run = make_run(tmp_path, [check("T1")], expected_steps=TWO_STEPS, narrowed="-m 't1'")
    html = write_reports(run, tmp_path)["html"].read_text()
    assert '<header class="banner partial"' in html and "🔷 PARTIAL" in html
    assert "run narrowed with -m &#39;t1&#39;: 1 expected step not run (T2)" in html


def test_header_links_pytest_html_and_names_the_expected_state(tmp_path):
    outdir = tmp_path / "reports"
    run = make_run(tmp_path, [check("T1"), check("T2")], expected_steps=TWO_STEPS,
                   pytest_html=str(outdir / "pytest-report.html"),
                   expected_state={"path": "stack/expected-state.yaml", "sha256": "0123456789abcdef" * 4})
    paths = write_reports(run, outdir)
    html = paths["html"].read_text()
    assert "✅ OPERATIONAL" in html and "Not verified" not in html
    assert '<a href="pytest-report.html">pytest-report.html</a>' in html
    assert "Expected state: <code>stack/expected-state.yaml</code> (sha256 <code>0123456789ab</code>)" in html
    md = paths["md"].read_text()
    assert "**Expected state**: `stack/expected-state.yaml` (sha256 `0123456789ab`)" in md
    assert "[pytest-report.html](pytest-report.html)" in md
    data = json.loads(paths["json"].read_text())
    assert data["pytest_html"] == "pytest-report.html" and data["expected_state"]["sha256"].startswith("0123")


MUTANTS = {"finished": "2025-11-03T09:00:00+00:00", "kill_rate": 0.5, "caught": 1, "total": 2, "rows": [
    {"id": "p3-memory-doubled", "breakage": "memory limit doubled", "category": "profile definition",
     "expected_steps": ["P3", "T8"], "caught": True, "failed_steps": ["P3", "T8"], "message": "4G != 8G",
     "duration_s": 41.2},
    {"id": "t6-volume-dropped", "breakage": "no home volume <x>", "category": "spawner",
     "expected_steps": ["T6"], "caught": False, "failed_steps": [], "message": "x" * 400, "duration_s": 30},
]}


def test_mutation_table_from_the_report_dir(sample_run, tmp_path):
    (tmp_path / "mutants.json").write_text(json.dumps(MUTANTS))
    paths = write_reports(sample_run, tmp_path)
    html = paths["html"].read_text()
    section = html[html.index('<h2 id="mutants">Mutation self-test (latest run)</h2>'):html.index('<h2 id="versions">')]
    assert "2025-11-03T09:00:00+00:00" in section and "<strong>50%</strong>" in section
    assert '<tr class="missed">' in section and "no home volume &lt;x&gt;" in section and "P3, T8" in section
    assert "x" * 300 + " …" in section and "x" * 301 not in section
    md = paths["md"].read_text()
    assert "## Mutation self-test (latest run)" in md and "❌ **missed**" in md and "✅ caught (P3, T8)" in md


@pytest.mark.parametrize("text", ["{broken", '{"rows": [1]}', '{"finished": "x"}', "[]"])
def test_a_malformed_mutants_file_is_a_note(sample_run, tmp_path, text):
    (tmp_path / "mutants.json").write_text(text)
    assert read_mutants(tmp_path)["error"].startswith("mutants.json could not be read")
    paths = write_reports(sample_run, tmp_path)
    assert "mutants.json could not be read" in paths["html"].read_text()
    assert "mutants.json could not be read" in paths["md"].read_text()


def test_no_mutation_section_without_the_file(sample_run, tmp_path):
    assert read_mutants(tmp_path) is None
    assert "Mutation self-test" not in write_reports(sample_run, tmp_path)["html"].read_text()


# ---------------------------------------------------------------- the plugin, in-process

# In-process runs go without pytest-playwright: its soft-assertion scope is global and
# cannot nest inside the outer run's. Its artifacts are checked in a subprocess instead.
PLUGIN_ARGS = ("-p", "acceptance.report.plugin", "-p", "no:playwright", "-p", "no:cacheprovider")
ROOT = Path(settings.ROOT)

TESTS = '''
import pytest


class FakePage:
    def screenshot(self, path, full_page):
        assert full_page is False
        open(path, "wb").write(PNG)


PNG = bytes.fromhex("{png}")


@pytest.mark.t1
def test_signup(evidence):
    """Admin signs up and sees the Admin label.

    More words that are not part of the title.
    """
    evidence.fact("user", "admin")
    evidence.screenshot(FakePage(), "home page")
    evidence.text("notes", "line <1>")


@pytest.mark.t2
def test_dropdown():
    """The dropdown lists the six profiles."""
    assert 5 == 6, "only 5 profiles <in> the dropdown"


@pytest.mark.t3
def test_lab_skipped():
    pytest.skip("no lab today")


def test_not_in_the_report():
    pass
'''


def test_plugin_writes_the_report(pytester, tmp_path):
    pytester.makepyfile(test_deploy=TESTS.replace("{png}", tiny_png().hex()))
    outdir = tmp_path / "reports"
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "--report-dir", str(outdir), "--strict-markers")
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    result.stdout.fnmatch_lines([f"deployment report (html): {outdir / 'deployment-report.html'}"])

    data = json.loads((outdir / "deployment-report.json").read_text())
    steps = {s["id"]: s for s in data["steps"]}
    assert len(steps) == len(settings.STEPS) and data["status"] == model.DEGRADED

    [t1] = steps["T1"]["checks"]
    assert steps["T1"]["status"] == "passed"
    assert t1["title"] == "Admin signs up and sees the Admin label."
    assert t1["facts"] == {"user": "admin"}
    assert [(a["label"], a["kind"]) for a in t1["attachments"]] == [("home page", "image"), ("notes", "text")]
    shot = outdir / t1["attachments"][0]["path"]
    assert shot.read_bytes() == tiny_png() and shot.is_relative_to(outdir / "artifacts")

    [t2] = steps["T2"]["checks"]
    assert steps["T2"]["status"] == "failed" and t2["status"] == "failed"
    assert "only 5 profiles <in> the dropdown" in t2["message"]
    assert "only 5 profiles <in> the dropdown" in steps["T2"]["message"]
    assert t2["attachments"] == []

    assert steps["T3"]["status"] == "incomplete" and steps["T3"]["checks"][0]["message"] == "no lab today"
    assert steps["T3"]["checks"][0]["status"] == "skipped"
    assert steps["T4"]["status"] == "not run"
    assert all("not_in_the_report" not in c["nodeid"] for s in data["steps"] for c in s["checks"])

    html = (outdir / "deployment-report.html").read_text()
    assert "only 5 profiles &lt;in&gt; the dropdown" in html
    assert "data:image/png;base64," + base64.b64encode(tiny_png()).decode() in html
    assert "line &lt;1&gt;" in html
    assert (outdir / "deployment-report.md").is_file()


def test_playwright_artifacts_are_attached(pytester, tmp_path, monkeypatch):
    """pytest-playwright's per-test folder (its own output_path fixture) is found and attached."""
    pytester.makepyfile(test_pw='''
import os
import pytest


@pytest.mark.t2
def test_dropdown(output_path):
    os.makedirs(output_path, exist_ok=True)
    open(os.path.join(output_path, "trace.zip"), "wb").write(b"PK")
    open(os.path.join(output_path, "test-failed-1.png"), "wb").write(bytes.fromhex("{png}"))
    open(os.path.join(output_path, "unrelated.txt"), "w").write("x")
    assert False, "dropdown empty"
'''.replace("{png}", tiny_png().hex()))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    outdir, pw = tmp_path / "reports", tmp_path / "pw"
    result = pytester.runpytest_subprocess(
        "-p", "acceptance.report.plugin", "-p", "playwright", "-p", "no:cacheprovider",
        "--report-dir", str(outdir), "--output", str(pw),
    )
    result.assert_outcomes(failed=1)
    [folder] = [p for p in pw.iterdir() if p.is_dir()]
    data = json.loads((outdir / "deployment-report.json").read_text())
    [t2] = next(s for s in data["steps"] if s["id"] == "T2")["checks"]
    got = {a["kind"]: (outdir / a["path"]).resolve() for a in t2["attachments"]}
    assert got == {"trace": (folder / "trace.zip").resolve(), "image": (folder / "test-failed-1.png").resolve()}
    html = (outdir / "deployment-report.html").read_text()
    assert "playwright show-trace" in html and html.count("data:image/png;base64,") == 1


def test_tally_fixture_adds_to_the_counts_and_the_check(pytester, tmp_path):
    pytester.makepyfile(test_reliability='''
import pytest


@pytest.mark.r1
def test_bad_names(tally):
    """Bad user names are refused."""
    tally("inputs tried", 2)
    tally("inputs tried")


@pytest.mark.r3
def test_restart(tally):
    """Files survive a hub restart."""
    tally("files lost", 0)
    tally("inputs tried")
''')
    outdir = tmp_path / "reports"
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "--report-dir", str(outdir))
    result.assert_outcomes(passed=2)
    data = json.loads((outdir / "deployment-report.json").read_text())
    assert data["reliability"]["counts"]["inputs tried"] == 4
    assert data["reliability"]["counts"]["files lost"] == 0
    assert data["reliability"]["counts"]["faults injected"] is None
    steps = {s["id"]: s for s in data["steps"]}
    assert steps["R1"]["checks"][0]["facts"] == {"count: inputs tried": "3"}
    assert steps["R3"]["checks"][0]["facts"] == {"count: files lost": "0", "count: inputs tried": "1"}


def test_stack_error_from_a_fixture_fails_the_report(pytester, tmp_path):
    pytester.makeconftest('''
import pytest
from acceptance.report.collect import get_collector


@pytest.fixture(scope="session")
def stack(request):
    collector = get_collector(request.config)
    collector.set_info("Hub URL", "http://localhost:8000")
    collector.set_stack_error("compose up: hub exited with 1")
    collector.add_run_attachment("hub log", "ImportError: no module named <x>")
    pytest.fail("the stack did not start", pytrace=False)
''')
    pytester.makepyfile('''
import pytest

@pytest.mark.p2
def test_hub_up(stack):
    pass
''')
    outdir = tmp_path / "reports"
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "--report-dir", str(outdir))
    result.assert_outcomes(errors=1)
    data = json.loads((outdir / "deployment-report.json").read_text())
    assert data["status"] == "FAILED" and data["stack_error"] == "compose up: hub exited with 1"
    p2 = next(s for s in data["steps"] if s["id"] == "P2")
    assert p2["status"] == "failed" and p2["checks"][0]["status"] == "error"
    assert "the stack did not start" in p2["checks"][0]["message"]
    assert data["info"]["Hub URL"] == "http://localhost:8000"
    assert data["run_attachments"][0]["label"] == "hub log"
    html = (outdir / "deployment-report.html").read_text()
    assert "ImportError: no module named &lt;x&gt;" in html


def test_no_report_without_step_marked_tests(pytester, tmp_path):
    pytester.makepyfile("def test_unit():\n    pass\n")
    outdir = tmp_path / "reports"
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "--report-dir", str(outdir))
    result.assert_outcomes(passed=1)
    assert not outdir.exists()
    assert "deployment report" not in result.stdout.str()


# The small runs below expect two steps, T1 and T2 (a conftest says so), and pass them.
EXPECT_TWO_STEPS = f'''
from acceptance.report.collect import get_collector


def pytest_configure(config):
    get_collector(config).expect_steps({TWO_STEPS!r})
'''
T1_PASSES = '''
import pytest


@pytest.mark.t1
def test_signup():
    pass
'''
T2_PASSES = T1_PASSES.replace("t1", "t2").replace("test_signup", "test_dropdown")


def run_report(pytester, tmp_path, *args, t2: str = T2_PASSES, conftest: str = EXPECT_TWO_STEPS, **files):
    """Runs test_t1.py (passes) and test_t2.py (`t2`) with the plugin; returns the result and the JSON report."""
    pytester.makeconftest(conftest)
    pytester.makepyfile(test_t1=T1_PASSES, test_t2=t2, **files)
    outdir = tmp_path / "reports"
    # no_reraise_ctrlc: a KeyboardInterrupt in the inner run stays there.
    result = pytester.runpytest_inprocess(*PLUGIN_ARGS, "--report-dir", str(outdir), *args, no_reraise_ctrlc=True)
    return result, json.loads((outdir / "deployment-report.json").read_text())


def steps_of(data) -> dict[str, dict]:
    return {s["id"]: s for s in data["steps"]}


def test_plugin_operational_only_when_every_expected_step_passed(pytester, tmp_path):
    conftest = EXPECT_TWO_STEPS + '''    get_collector(config).set_expected_state("stack/expected.yaml", "ab" * 32)
'''
    result, data = run_report(pytester, tmp_path, conftest=conftest)
    result.assert_outcomes(passed=2)
    assert (data["status"], data["reasons"]) == ("OPERATIONAL", [])
    assert data["expected_steps"] == TWO_STEPS and data["exit_status"] == 0 and data["narrowed"] is None
    assert data["expected_state"] == {"path": "stack/expected.yaml", "sha256": "ab" * 32}
    assert "sha256 <code>abababababab</code>" in (tmp_path / "reports" / "deployment-report.html").read_text()


def test_plugin_every_step_is_expected_by_default(pytester, tmp_path):
    _, data = run_report(pytester, tmp_path, conftest="")
    assert data["status"] == "INCOMPLETE" and data["expected_steps"] == list(settings.STEPS)
    assert "P1: expected step has no checks" in data["reasons"] and len(data["reasons"]) == len(settings.STEPS) - 2


@pytest.mark.parametrize(
    ("body", "check_status", "reason"),
    [
        ("pytest.skip('no lab today')", "skipped", "T2: 1 check skipped: test_dropdown (no lab today)"),
        ("pytest.xfail('flaky')", "skipped", "T2: 1 check skipped: test_dropdown (expected failure: flaky)"),
        ("pass", "xpass", "T2: 1 check passed unexpectedly (xpass): test_dropdown (marked xfail: flaky)"),
    ],
    ids=["skip", "xfail", "xpass"],
)
def test_plugin_a_check_that_did_not_pass_makes_the_run_incomplete(pytester, tmp_path, body, check_status, reason):
    mark = "@pytest.mark.xfail(reason='flaky')\n" if check_status == "xpass" else ""
    _, data = run_report(pytester, tmp_path, t2=T2_PASSES.replace("def test_dropdown():\n    pass",
                                                                  f"{mark}def test_dropdown():\n    {body}"))
    t2 = steps_of(data)["T2"]
    assert (t2["status"], t2["checks"][0]["status"]) == ("incomplete", check_status)
    assert (data["status"], data["reasons"]) == ("INCOMPLETE", [reason])


def test_plugin_a_strict_xpass_is_xpass_too(pytester, tmp_path):
    t2 = T2_PASSES.replace("@pytest.mark.t2", "@pytest.mark.t2\n@pytest.mark.xfail(reason='flaky', strict=True)")
    _, data = run_report(pytester, tmp_path, t2=t2)
    assert steps_of(data)["T2"]["checks"][0]["status"] == "xpass"
    assert data["status"] == "INCOMPLETE" and "pytest exited with status 1" in data["reasons"]


@pytest.mark.parametrize(
    ("body", "interrupted", "exit_status"),
    [("pytest.exit('stack gone')", "pytest.exit: stack gone", 2),
     ("pytest.exit('stack gone', returncode=3)", "pytest.exit: stack gone", 3),
     ("raise KeyboardInterrupt", "KeyboardInterrupt", 2)],
    ids=["exit", "exit-3", "ctrl-c"],
)
def test_plugin_an_interrupted_session_is_incomplete(pytester, tmp_path, body, interrupted, exit_status):
    _, data = run_report(pytester, tmp_path, t2=T2_PASSES.replace("    pass", f"    {body}"))
    assert steps_of(data)["T2"]["checks"][0]["status"] == "unknown"      # setup passed, call never reported
    assert (data["interrupted"], data["exit_status"]) == (interrupted, exit_status)
    assert data["status"] == "INCOMPLETE" and data["reasons"] == [
        "T2: 1 check unfinished (no result): test_dropdown", f"session interrupted: {interrupted}",
        f"pytest exited with status {exit_status}"]


def test_plugin_stopping_at_the_first_failure_is_an_interruption(pytester, tmp_path):
    _, data = run_report(pytester, tmp_path, "-x", test_a="def test_unit():\n    assert False\n")
    assert data["interrupted"] == "stopped early: stopping after 1 failures"
    assert steps_of(data)["T1"]["checks"] == [] and data["status"] == "FAILED"


def test_plugin_a_narrowed_run_is_partial(pytester, tmp_path):
    _, data = run_report(pytester, tmp_path, "-m", "t1")
    assert data["narrowed"] == "-m 't1'; 1 test deselected"
    assert (data["status"], data["reasons"]) == (
        "PARTIAL", ["run narrowed with -m 't1'; 1 test deselected: 1 expected step not run (T2)"])


@pytest.mark.parametrize(("args", "narrowed"), [
    ((), None),
    (("tests",), None),
    ((".",), None),
    (("tests/test_t1.py", "tests/test_t2.py"), "arguments tests/test_t1.py tests/test_t2.py"),
    (("tests/test_t1.py::test_signup", "tests"), "arguments tests/test_t1.py::test_signup"),
])
def test_plugin_arguments_narrower_than_the_testpaths(pytester, tmp_path, args, narrowed):
    pytester.makeini("[pytest]\ntestpaths = tests\n")
    pytester.makeconftest(EXPECT_TWO_STEPS)
    tests = pytester.mkdir("tests")
    (tests / "test_t1.py").write_text(T1_PASSES)
    (tests / "test_t2.py").write_text(T2_PASSES)
    outdir = tmp_path / "reports"
    pytester.runpytest_inprocess(*PLUGIN_ARGS, "--report-dir", str(outdir), *args).assert_outcomes(passed=2)
    data = json.loads((outdir / "deployment-report.json").read_text())
    assert data["narrowed"] == narrowed and data["status"] == ("PARTIAL" if narrowed else "OPERATIONAL")


def test_plugin_a_failing_unit_test_in_the_run_is_not_operational(pytester, tmp_path):
    result, data = run_report(pytester, tmp_path, test_unit="def test_helper():\n    assert 1 == 2\n")
    result.assert_outcomes(passed=2, failed=1)
    assert data["unit_failures"] == ["test_unit.py::test_helper"]
    assert (data["status"], data["reasons"]) == (
        "INCOMPLETE", ["pytest exited with status 1", "unit tests failed: test_unit.py::test_helper"])


@pytest.mark.parametrize(
    ("build", "status", "reason"),
    [
        (None, "INCOMPLETE", "image build status unknown: could not read "),
        (BUILD_FAILED, "DEGRADED", "image build failed: local/uv-marimo:latest (pip: boom)"),
        ({**BUILD_FAILED, "ok": True, "images": BUILD_FAILED["images"][:1]}, "OPERATIONAL", None),
    ],
    ids=["missing", "failed", "ok"],
)
def test_plugin_reads_the_image_build_status(pytester, tmp_path, monkeypatch, build, status, reason):
    path = tmp_path / "build-status.json"
    if build is not None:
        path.write_text(json.dumps(build))
    monkeypatch.setenv("IMAGE_BUILD_STATUS", str(path))
    _, data = run_report(pytester, tmp_path)
    assert data["status"] == status
    if reason:
        assert [r for r in data["reasons"] if r.startswith(reason)], data["reasons"]
    else:
        assert data["reasons"] == [] and data["info"]["Images built"] == "1 image, finished 2025-11-03T08:00:00+00:00"


def test_plugin_links_the_pytest_html_report(pytester, tmp_path):
    _, data = run_report(pytester, tmp_path, f"--html={tmp_path / 'reports' / 'pytest-report.html'}")
    assert data["pytest_html"] == "pytest-report.html"
    assert (tmp_path / "reports" / "pytest-report.html").is_file()


def test_check_title_is_the_docstrings_first_paragraph_on_one_line():
    from types import SimpleNamespace

    from acceptance.report.collect import check_title

    def fn():
        """The hub restarts while servers run: they keep running,
        and no file is lost.

        Details that are not part of the title."""

    item = SimpleNamespace(function=fn, name="test_x", originalname="test_x")
    assert check_title(item) == "The hub restarts while servers run: they keep running, and no file is lost."


def test_check_title_names_the_parameter_but_not_the_browser():
    from types import SimpleNamespace

    from acceptance.report.collect import check_title

    def fn():
        """A bad signup is refused."""

    callspec = SimpleNamespace(params={"browser_name": "chromium", "username": "x"}, id="chromium-short password")
    item = SimpleNamespace(function=fn, name="test_x", originalname="test_x", callspec=callspec)
    assert check_title(item) == "A bad signup is refused. [short password]"


def test_the_latest_benchmark_is_a_section_of_the_report(sample_run, tmp_path):
    from acceptance.timing import run as run_timing

    assert "Benchmark (latest" not in write_reports(sample_run, tmp_path)["html"].read_text()
    bench = {"date": "2027-01-15T08:00:00+00:00", "host": {"cores": 2},
             "targets": run_timing.targets({"spawn_p50": 3.6}), "stack": None,
             "baseline": {"label": "baseline (X=0)", "summary": {"all": {"total": {"p50": 8.1, "p95": 10.1}}}}}
    (tmp_path / "benchmark.json").write_text(json.dumps(bench))
    paths = write_reports(sample_run, tmp_path)
    html = paths["html"].read_text()
    section = html[html.index('<h2 id="benchmark">'):html.index('<h2 id="versions">')]
    assert "2027-01-15T08:00:00+00:00" in section and "3.6 s" in section and "--suite cold" in section
    assert "| spawn request to ready, p50 | 3.6 s | 2.0 s | no |" in paths["md"].read_text()
    assert "Compared with baseline (X=0): request -&gt; ready p50 8.10 s" in section
    assert json.loads(paths["json"].read_text())["steps"][0]["checks"][0]["phases_s"] is not None
