"""Test 3: JupyterLab Profile (2CPU/4GB)."""
import pytest

from acceptance.client.pages import LabPage, MarimoPage, VSCodePage
from acceptance.tests.flows import start_from_hub_home

pytestmark = pytest.mark.t3


@pytest.fixture
def lab(user_page, checklist_user, servers, expected):
    """The user's default server started from the spawn form with the Lab 2 CPU / 4GB profile, on /lab."""
    start_from_hub_home(user_page, servers, expected.checklist_profile("T3"), checklist_user[0])
    return LabPage(user_page).wait_loaded()


def test_lab_profile_lands_on_lab_with_launcher_entries(user_page, checklist_user, servers, expected, evidence):
    """Start "uv Lab - 2 CPU / 4GB": lands on /lab, JupyterLab loads, the Launcher shows Lab, VS Code and Marimo."""
    # the start is part of the check (not the `lab` fixture's setup): landing elsewhere fails on its assertion
    profile = expected.checklist_profile("T3")
    start_from_hub_home(user_page, servers, profile, checklist_user[0])
    lands_on_lab_with_launcher_entries(LabPage(user_page).wait_loaded(), checklist_user, profile, evidence)


def lands_on_lab_with_launcher_entries(lab, checklist_user, profile, evidence) -> None:
    """The landing check's judgement of a loaded Lab (unit-tested: acceptance/unit/test_check_failures.py)."""
    entries = lab.launcher_entries()
    evidence.screenshot(lab.page, "JupyterLab launcher")
    evidence.fact("launcher", " | ".join(entries))
    assert lab.page.url.split("?")[0].endswith(f"/user/{checklist_user[0]}{profile.lands_on}")
    missing = [e for e in ("VS Code", "Marimo") if e not in entries]
    assert not missing, f"launcher lacks {missing}; it shows {entries}"
    assert any("Python 3" in e for e in entries), f"launcher has no notebook (Lab) entry: {entries}"


def test_launcher_vscode_entry_opens_vscode(lab, checklist_user, evidence):
    """The Launcher's VS Code entry opens a working VS Code workbench."""
    vscode = VSCodePage(lab.open_from_launcher("VS Code")).wait_loaded()
    evidence.screenshot(vscode.page, "VS Code from the launcher")
    assert f"/user/{checklist_user[0]}/vscode/" in vscode.page.url


def test_launcher_marimo_entry_opens_marimo(lab, checklist_user, evidence):
    """The Launcher's Marimo entry opens the marimo editor."""
    marimo = MarimoPage(lab.open_from_launcher("Marimo")).wait_home_loaded()
    evidence.screenshot(marimo.page, "marimo from the launcher")
    assert f"/user/{checklist_user[0]}/proxy/marimo/" in marimo.page.url
