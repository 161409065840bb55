"""Test 7: Admin Panel."""
import pytest
from playwright.sync_api import expect

from acceptance.client.pages import AdminPage, LoginPage, SignupPage

pytestmark = pytest.mark.t7
@pytest.fixture(scope="session")
def second_user(stack, browser, browser_context_args, accounts, admin, run_users, admin_api):
    """A second user who signed up (approved by the admin where signups wait for it) and logged in, in
    their own browser context (the hub makes its user record at the first login)."""
    name = run_users.name("analyst")
    if name not in accounts.passwords:
        password = accounts.new_password()
        context = browser.new_context(**browser_context_args)
        try:
            page = context.new_page()
            message = SignupPage(page).open().sign_up(name, password)
            if "sent to the admin" in message:
                admin_api.approve(name)
            else:
                assert "signup was successful" in message, f"signup of {name}: {message!r}"
            LoginPage(page).open().log_in(name, password)
        finally:
            context.close()
        accounts.passwords[name] = password
    return name


def test_admin_panel_loads_and_lists_users(admin_page, admin, mode, evidence):
    """/hub/admin loads and lists the users (admin included)."""
    panel = AdminPage(admin_page).open()
    names = panel.usernames()
    if not mode.verify:  # a deployment's panel shows its users: no picture of them in the report
        evidence.screenshot(admin_page, "admin panel")
    evidence.fact("users listed", f"{len(names)} users" if mode.verify else ", ".join(names))
    assert admin[0] in names


def test_new_signup_appears_in_admin_panel(second_user, admin_page, mode, evidence):
    """A user who signs up appears in the admin panel."""
    panel = AdminPage(admin_page).open()
    expect(panel.names.filter(has_text=second_user)).to_have_count(1)
    if not mode.verify:
        evidence.screenshot(admin_page, f"{second_user} listed")


def test_admin_stops_a_users_server_from_the_panel(second_user, admin_page, servers, expected, evidence):
    """The admin stops the second user's running server with the panel's Stop Server button: it is gone."""
    servers.start(second_user, "", expected.profiles[0])
    assert servers.container_exists(second_user)
    panel = AdminPage(admin_page).open()
    panel.stop_server(second_user)
    evidence.fact("stopped from the panel", second_user)
    servers.wait_stopped_and_removed(second_user)
