"""Test 6: Volume Persistence."""
import pytest
from dockerspawner import DockerSpawner
from playwright.sync_api import expect

from acceptance.client.pages import HomePage, LabPage
from acceptance.settings import Timeouts
from acceptance.tests.flows import start_from_hub_home

pytestmark = pytest.mark.t6
NOTEBOOK = "test-persist.ipynb"
CODE = 'print("Hello from JupyterHub")'


def _start_lab_from_form(page, servers, user, expected) -> LabPage:
    start_from_hub_home(page, servers, expected.checklist_profile("T6"), user)
    return LabPage(page).wait_loaded()


def _notebook_code(servers, user) -> str:
    """The notebook's cells read through the server's contents API (independent of the Lab UI)."""
    r = servers.api.server_get(f"/user/{user}/api/contents/{NOTEBOOK}", timeout=Timeouts.http)
    assert r.status_code == 200, f"{NOTEBOOK} is not in the home directory: HTTP {r.status_code}"
    return "\n".join("".join(c["source"]) for c in r.json()["content"]["cells"])


def test_notebook_survives_a_server_stop_and_start(user_page, checklist_user, servers, expected, evidence):
    """test-persist.ipynb saved in Lab is intact after the server is stopped and started again from
    /hub/home."""
    user = checklist_user[0]
    lab = _start_lab_from_form(user_page, servers, user, expected)
    first = servers.api.server(user, "")["started"]
    lab.new_notebook()
    lab.type_in_first_cell(CODE)
    lab.save_as(NOTEBOOK)
    evidence.screenshot(user_page, "notebook saved")
    assert CODE in _notebook_code(servers, user)

    HomePage(user_page).open().stop_default_server()
    assert servers.api.server(user, "") is None, "the server still runs after Stop"
    lab = _start_lab_from_form(user_page, servers, user, expected)
    assert servers.api.server(user, "")["started"] != first, "the server was not started anew"
    lab.open_file(f"user/{user}/", NOTEBOOK)
    expect(user_page.locator(".jp-NotebookPanel:visible .jp-Cell .cm-content").first).to_contain_text(CODE)
    evidence.screenshot(user_page, "notebook after restart")
    assert CODE in _notebook_code(servers, user)


def test_home_is_the_users_named_volume_and_outlives_the_container(checklist_user, servers, stack, expected,
                                                                    evidence):
    """The server's home (/home/nebula) is the user's named volume (jupyterhub-user-<name>); stopping the
    server removes its container and keeps the volume."""
    user = checklist_user[0]
    server = servers.start(user, "", expected.checklist_profile("T6"))
    home = expected.users["home"]
    volume = expected.name("home_volume", prefix=stack.prefix, username=DockerSpawner._escape(user))
    home_mount = next((m for m in server.container.attrs["Mounts"] if m["Destination"] == home), None)
    assert home_mount and home_mount["Type"] == "volume", f"{home} is not a named volume: {home_mount}"
    assert home_mount["Name"] == volume, f"the home volume is {home_mount['Name']}, expected {volume}"
    evidence.fact("home volume", f"{home_mount['Name']} at {home}")
    servers.stop(user, "")
    assert not servers.container_exists(user), "the stopped server's container still exists"
    assert stack.docker.volumes.get(volume), f"{volume} is gone with the container"
    evidence.fact("after stop", f"container {server.container.name} removed, {volume} kept")
