"""Test 1: User Signup & Admin Creation. (Weak passwords and taken usernames: Reliability 1.)"""
import pytest
from playwright.sync_api import expect

from acceptance.pages import HomePage, LoginPage, SignupPage

pytestmark = pytest.mark.t1


def test_admin_signs_up_logs_in_and_sees_admin_access(stack, accounts, expected, page, evidence, request):
    """Sign up `admin` at /hub/signup, log in, see the Admin link; the hub records `admin` as an admin."""
    name = expected.admin
    password = accounts.new_password()
    message = SignupPage(page).open().sign_up(name, password)
    evidence.screenshot(page, "signup")
    assert "signup was successful" in message, f"signup of {name} said: {message!r}"
    accounts.passwords[name] = password

    LoginPage(page).open().log_in(name, password)
    home = HomePage(page).open()
    expect(home.start_button).to_be_visible()
    evidence.screenshot(page, "home as admin")
    expect(home.admin_link).to_be_visible()
    # only now: the admin_api fixture would otherwise sign the admin up over HTTP first
    record = request.getfixturevalue("admin_api").user(name)
    evidence.fact("hub user record", f"name={record['name']} admin={record['admin']}")
    assert record["admin"] is True
