"""Test 4: VS Code Profile (2CPU/4GB)."""
import secrets

import pytest

from acceptance.client.pages import VSCodePage
from acceptance.client.polling import wait_for
from acceptance.settings import Timeouts
from acceptance.tests.flows import start_from_hub_home

pytestmark = pytest.mark.t4
SERVER = "vscode-test"


def test_named_vscode_server_terminal_creates_a_file_in_home(user_page, checklist_user, servers, expected, evidence):
    """Add server "vscode-test" with VS Code 2 CPU / 4GB: lands on /vscode/, a terminal there creates a file."""
    user = checklist_user[0]
    start_from_hub_home(user_page, servers, expected.checklist_profile("T4"), user, SERVER)
    vscode = VSCodePage(user_page).wait_loaded()
    vscode.trust_workspace_if_asked()
    evidence.screenshot(user_page, "VS Code workbench")

    token = secrets.token_hex(8)
    filename = f"made-in-vscode-{token}.txt"
    vscode.run_in_new_terminal(f"echo {token} > ~/{filename}")
    evidence.screenshot(user_page, "terminal")

    # independent check: read the file in the container, not through VS Code
    content = wait_for(lambda: servers.home_file(user, SERVER, filename), timeout=Timeouts.ui,
                       what=f"/home/nebula/{filename} in the {SERVER} container")
    evidence.fact("file made in the VS Code terminal", f"/home/nebula/{filename}")
    assert content.strip() == token
