"""Test 1: User Signup & Admin Creation."""
import httpx
import pytest
from playwright.sync_api import expect

from acceptance.hub_api import HubSession
from acceptance.pages import HomePage, LoginPage, SignupPage

pytestmark = pytest.mark.t1


def test_admin_signs_up_logs_in_and_sees_admin_access(stack, accounts, page, evidence):
    """Sign up `admin` with an 8+ character password at /hub/signup, log in, see the Admin link."""
    password = accounts.new_password()
    assert len(password) >= 8
    message = SignupPage(page).open().sign_up("admin", password)
    evidence.screenshot(page, "signup")
    assert "signup was successful" in message, f"signup of admin said: {message!r}"
    accounts.passwords["admin"] = password

    home = LoginPage(page).open().log_in("admin", password)
    home = HomePage(page).open()
    expect(home.admin_link).to_be_visible()
    expect(home.start_button).to_be_visible()
    evidence.screenshot(page, "home as admin")


def test_weak_password_is_refused_with_a_clear_message(stack, page):
    """A 5-character password is refused with a message that names the 8-character minimum; no account is made."""
    message = SignupPage(page).open().sign_up("weakling", "abc12")
    assert "at least 8 characters" in message, f"weak password message: {message!r}"
    with HubSession(stack.hub_url) as session:
        assert not session.try_login("weakling", "abc12"), "the refused signup still created a working account"


def test_taken_username_is_refused_and_the_account_kept(stack, admin, page):
    """Signing up `admin` again is refused as taken; the admin's password still works."""
    message = SignupPage(page).open().sign_up("admin", "another-Passw0rd-123")
    assert "already in use" in message, f"taken-username message: {message!r}"
    with HubSession(stack.hub_url) as session:
        session.login(*admin)  # raises if the original password no longer works
    assert httpx.get(f"{stack.hub_url}/hub/health", timeout=10).status_code == 200
