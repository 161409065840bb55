"""Test 6: Volume Persistence."""
import pytest
from playwright.sync_api import expect

from acceptance.expected import current
from acceptance.pages import HomePage, LabPage
from acceptance.settings import Timeouts
from acceptance.tests.flows import start_from_hub_home

pytestmark = pytest.mark.t6
LAB = current().checklist_profile("T6")
NOTEBOOK = "test-persist.ipynb"
CODE = 'print("Hello from JupyterHub")'


def _start_lab_from_form(page, servers) -> LabPage:
    start_from_hub_home(page, servers, LAB)
    return LabPage(page).wait_loaded()


def _notebook_code(servers) -> str:
    """The notebook's cells read through the server's contents API (independent of the Lab UI)."""
    r = servers.api.server_get(f"/user/admin/api/contents/{NOTEBOOK}", timeout=Timeouts.http)
    assert r.status_code == 200, f"{NOTEBOOK} is not in the home directory: HTTP {r.status_code}"
    return "\n".join("".join(c["source"]) for c in r.json()["content"]["cells"])


def test_notebook_survives_server_stop_start_and_container_removal(admin_page, servers, stack, expected, evidence):
    """test-persist.ipynb saved in Lab is intact after stop (container removed) and start from /hub/home;
    the home is the user's named volume."""
    lab = _start_lab_from_form(admin_page, servers)
    container = servers.container("admin")
    home = expected.users["home"]
    volume = expected.name("home_volume", prefix=stack.prefix, username="admin")
    home_mount = next((m for m in container.attrs["Mounts"] if m["Destination"] == home), None)
    assert home_mount and home_mount["Type"] == "volume", f"{home} is not a named volume: {home_mount}"
    assert home_mount["Name"] == volume, f"the home volume is {home_mount['Name']}, expected {volume}"
    evidence.fact("home volume", f"{home_mount['Name']} at {home}")

    lab.new_notebook()
    lab.type_in_first_cell(CODE)
    lab.save_as(NOTEBOOK)
    evidence.screenshot(admin_page, "notebook saved")
    assert CODE in _notebook_code(servers)
    first_container_id = container.id

    home = HomePage(admin_page).open()
    home.stop_default_server()
    assert not servers.container_exists("admin"), "the stopped server's container still exists"
    evidence.fact("after stop", f"container {first_container_id[:12]} removed")

    lab = _start_lab_from_form(admin_page, servers)
    assert servers.container("admin").id != first_container_id
    lab.open_file("/user/admin/", NOTEBOOK)
    expect(admin_page.locator(".jp-NotebookPanel:visible .jp-Cell .cm-content").first).to_contain_text(CODE)
    evidence.screenshot(admin_page, "notebook after restart")
    assert CODE in _notebook_code(servers)
