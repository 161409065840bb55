"""Test 7: Admin Panel."""
import pytest
from playwright.sync_api import expect

from acceptance.pages import AdminPage, LoginPage, SignupPage

pytestmark = pytest.mark.t7
SECOND_USER = "analyst"


@pytest.fixture(scope="module")
def second_user(stack, browser, accounts, admin):
    """A second user who signed up and logged in, in their own browser context (the hub makes
    its user record at the first login)."""
    if SECOND_USER not in accounts.passwords:
        password = accounts.new_password()
        context = browser.new_context(base_url=stack.hub_url)
        try:
            page = context.new_page()
            message = SignupPage(page).open().sign_up(SECOND_USER, password)
            assert "signup was successful" in message, f"signup of {SECOND_USER}: {message!r}"
            LoginPage(page).open().log_in(SECOND_USER, password)
        finally:
            context.close()
        accounts.passwords[SECOND_USER] = password
    return SECOND_USER


def test_admin_panel_loads_and_lists_users(admin_page, expected, evidence):
    """/hub/admin loads and lists the users (admin included)."""
    panel = AdminPage(admin_page).open()
    names = panel.usernames()
    evidence.screenshot(admin_page, "admin panel")
    evidence.fact("users listed", ", ".join(names))
    assert expected.admin in names


def test_new_signup_appears_in_admin_panel(second_user, admin_page, evidence):
    """A user who signs up appears in the admin panel."""
    panel = AdminPage(admin_page).open()
    expect(panel.names.filter(has_text=second_user)).to_have_count(1)
    evidence.screenshot(admin_page, f"{second_user} listed")


def test_admin_stops_a_users_server_from_the_panel(second_user, admin_page, servers, expected, evidence):
    """The admin stops the second user's running server with the panel's Stop Server button: it is gone."""
    servers.start(second_user, "", expected.profiles[0])
    assert servers.container_exists(second_user)
    panel = AdminPage(admin_page).open()
    evidence.screenshot(admin_page, "server running")
    panel.stop_server(second_user)
    evidence.screenshot(admin_page, "server stopped")
    servers.wait_stopped_and_removed(second_user)
