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
from acceptance.report.model import Attachment, Check, Run
from acceptance.report.plugin import ReportCollector, Tally
from acceptance.report.render import write_reports

pytest_plugins = ["pytester"]

T0 = datetime(2025, 11, 3, 8, 2, 57, tzinfo=UTC)
FAILURE = "AssertionError: expected <b>Admin</b> label & a 'logout' link"


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG, built by hand."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x20\x80\xc0" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


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
        ([model.PASSED, model.SKIPPED], model.PASSED),
        ([model.SKIPPED, model.SKIPPED], model.SKIPPED),
        ([model.PASSED, model.FAILED], model.FAILED),
        ([model.SKIPPED, model.ERROR], model.FAILED),
    ],
)
def test_step_status(statuses, expected):
    assert model.step_status([check("T1", s) for s in statuses]) == expected


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


def test_overall_status(tmp_path):
    ok = check("T1")
    bad = check("T2", model.FAILED, message="x")
    assert make_run(tmp_path, [ok]).status == model.OPERATIONAL          # partial run: T1 alone
    assert make_run(tmp_path, [ok, bad]).status == model.DEGRADED
    assert make_run(tmp_path, [bad, check("T3", model.ERROR)]).status == model.RUN_FAILED
    assert make_run(tmp_path, [check("T1", model.SKIPPED)]).status == model.RUN_FAILED
    assert make_run(tmp_path, [ok], stack_error="compose up failed").status == model.RUN_FAILED


def test_summary_counts(sample_run):
    s = sample_run.summary
    assert (s["steps"], s["steps_passed"], s["steps_failed"], s["steps_not_run"]) == (17, 1, 1, 15)
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
    for sid in ("R1", "R2", "R3", "R4", "R5"):
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
        "steps": ["R1", "R2", "R3", "R4", "R5"],
    }
    assert list(data["reliability"]["counts"]) == list(settings.RELIABILITY_COUNTS)
    assert [s["id"] for s in data["steps"]] == list(settings.STEPS)
    assert data["summary"]["steps_failed"] == 1


def test_reliability_section_when_no_reliability_test_ran(sample_run, tmp_path):
    paths = write_reports(sample_run, tmp_path)
    html = paths["html"].read_text()
    section = html[html.index('<h2 id="reliability">'):]
    assert section.count("Not run in this session.") == 5
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
    assert list(data)[:6] == ["title", "status", "started", "finished", "duration_s", "stack_error"]
    assert data["status"] == model.DEGRADED
    assert data["duration_s"] == 95
    assert [s["id"] for s in data["steps"]] == list(settings.STEPS)
    steps = {s["id"]: s for s in data["steps"]}
    assert steps["T2"]["status"] == "not run" and steps["T2"]["checks"] == []
    t1 = steps["T1"]
    assert t1["status"] == "failed" and t1["duration_s"] == 4.0 and FAILURE in t1["message"]
    failed = t1["checks"][0]
    assert list(failed) == ["nodeid", "title", "status", "duration_s", "message", "facts", "attachments"]
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
    assert len(steps) == 17 and data["status"] == model.DEGRADED

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

    assert steps["T3"]["status"] == "skipped" and steps["T3"]["checks"][0]["message"] == "no lab today"
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
from acceptance.report.plugin import get_collector


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


def test_check_title_is_the_docstrings_first_paragraph_on_one_line():
    from types import SimpleNamespace

    from acceptance.report.plugin import check_title

    def fn():
        """The hub restarts while servers run: they keep running,
        and no file is lost.

        Details that are not part of the title."""

    item = SimpleNamespace(function=fn, name="test_x", originalname="test_x")
    assert check_title(item) == "The hub restarts while servers run: they keep running, and no file is lost."


def test_check_title_names_the_parameter_but_not_the_browser():
    from types import SimpleNamespace

    from acceptance.report.plugin import check_title

    def fn():
        """A bad signup is refused."""

    callspec = SimpleNamespace(params={"browser_name": "chromium", "username": "x"}, id="chromium-short password")
    item = SimpleNamespace(function=fn, name="test_x", originalname="test_x", callspec=callspec)
    assert check_title(item) == "A bad signup is refused. [short password]"
