"""Test 5: Marimo Profile (1CPU/2GB)."""
import secrets

import pytest
from playwright.sync_api import expect

from acceptance.client.pages import MarimoPage
from acceptance.client.polling import wait_for
from acceptance.settings import Timeouts
from acceptance.tests.flows import start_from_hub_home

pytestmark = pytest.mark.t5
SERVER = "marimo-test"


def test_named_marimo_server_runs_a_reactive_notebook_saved_in_home(user_page, checklist_user, servers, expected,
                                                                    evidence):
    """Add server "marimo-test" with Marimo 1 CPU / 2GB: lands on /proxy/marimo/, a reactive notebook is saved."""
    user = checklist_user[0]
    start_from_hub_home(user_page, servers, expected.checklist_profile("T5"), user, SERVER)
    marimo = MarimoPage(user_page).wait_home_loaded()
    evidence.screenshot(user_page, "marimo home")

    filename = f"reactive-{secrets.token_hex(4)}.py"
    marimo.new_notebook(filename)
    marimo.set_cell(0, "x = 2")
    marimo.add_python_cell()
    marimo.set_cell(1, "x * 21")
    expect(marimo.output_of_last_cell()).to_have_text("42")
    marimo.set_cell(0, "x = 5")  # edit only the first cell: marimo re-runs the second by itself
    expect(marimo.output_of_last_cell()).to_have_text("105")
    evidence.screenshot(user_page, "reactive notebook")
    marimo.save()

    def saved_notebook():
        text = servers.home_file(user, SERVER, filename)
        return text if text and "x = 5" in text and "x * 21" in text else None

    source = wait_for(saved_notebook, timeout=Timeouts.ui, what=f"/home/nebula/{filename} with both cells")
    evidence.text(f"/home/nebula/{filename}", source)
