"""The required-checks manifest (acceptance/required.py): in step with the collected checks, and read strictly."""
from __future__ import annotations

import subprocess
import sys

import pytest

from acceptance import required
from acceptance.settings import ROOT


def test_the_manifest_is_in_step_with_the_collected_checks():
    """A check added, renamed or removed without the manifest fails here (and the verdict names it missing)."""
    done = subprocess.run([sys.executable, "-m", "acceptance.required", "--check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.mark.parametrize(("nodeid", "cid"), [
    ("acceptance/tests/test_t1.py::test_signup[chromium]", "test_t1.py::test_signup"),
    ("acceptance/tests/test_r1.py::test_bad[chromium-short password]", "test_r1.py::test_bad[short password]"),
    ("acceptance/tests/test_p3.py::test_limits[lab-2cpu-4gb]", "test_p3.py::test_limits[lab-2cpu-4gb]"),
    ("acceptance/tests/test_p1.py::test_sizes", "test_p1.py::test_sizes"),
])
def test_a_checks_id_drops_the_browser_and_the_folder(nodeid, cid):
    assert required.check_id(nodeid) == cid


def test_templates_expand_over_the_expected_profiles_and_images():
    profiles, images = ["lab-2cpu-4gb", "marimo-1cpu-2gb"], ["local/uv-lab:latest"]
    assert required.template_of("m.py::t[marimo-1cpu-2gb]", profiles, images) == "m.py::t[{profile}]"
    assert required.template_of("m.py::t[local/uv-lab:latest]", profiles, images) == "m.py::t[{image}]"
    assert required.template_of("m.py::t[hub]", profiles, images) == "m.py::t[hub]"
    assert required.expand("m.py::t[{profile}]", profiles, images) == ["m.py::t[lab-2cpu-4gb]",
                                                                       "m.py::t[marimo-1cpu-2gb]"]


@pytest.mark.parametrize("data", [None, [], {"p1": {"m.py::t": []}}, {"P1": {"no-module": []}},
                                  {"P1": {"m.py::t": "disruptive"}}, {"P1": ["m.py::t"]}])
def test_a_malformed_manifest_is_refused(data):
    with pytest.raises(required.ManifestError):
        required.parse(data)


def test_every_step_of_the_checklist_requires_checks_on_the_own_stack():
    from acceptance import expected
    from acceptance.deployments.mode import RunMode
    from acceptance.settings import STEPS
    from acceptance.verify import required_checks

    needed, _ = required_checks(RunMode(), expected.load())
    assert set(needed.values()) == set(STEPS) - {"R7", "L1"}     # the production stack's and the load's own
    needed, left_out = required_checks(RunMode(hub_url="http://127.0.0.1:8000", read_only=True), expected.load())
    assert set(needed.values()) == {"P2", "P4", "R2", "R6"} and left_out
