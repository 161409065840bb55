"""The gate CI reads is the exit status: a run that leaves out a required check must exit non-zero, however it
was left out. Here a whole step's module is --ignore'd (as a typo in a CI script would): the real harness, the
real manifest, a nested pytest run (no stack starts: nothing is collected)."""
from __future__ import annotations

import json
import subprocess
import sys

from acceptance.settings import ROOT


def test_a_run_with_a_steps_module_ignored_is_not_green(tmp_path):
    reports = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "acceptance/tests", "-m", "p4", "--ignore", "acceptance/tests/test_p4_auth.py",
         "-p", "no:cacheprovider", "--report-dir", str(reports)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0, done.stdout[-3000:]
    report = json.loads((reports / "deployment-report.json").read_text())
    p4 = next(s for s in report["steps"] if s["id"] == "P4")
    missing = sorted(c["check_id"] for c in p4["checks"] if c["status"] == "missing")
    assert p4["status"] == "incomplete" and "test_p4_auth.py::test_the_admin_user_is_an_admin" in missing
    assert report["status"] not in ("OPERATIONAL", "PARTIAL")
    assert done.stdout.rstrip().splitlines()[-1].startswith(f"verdict: {report['status']}")
    assert (reports / "junit.xml").exists()          # the run's JUnit went with its --report-dir
