"""Test 1: User Signup & Admin Creation. (Weak passwords and taken usernames: Reliability 1.)"""
import pytest
from playwright.sync_api import expect

from acceptance.client.accounts import admin_password
from acceptance.client.pages import HomePage, LoginPage, SignupPage

pytestmark = pytest.mark.t1


def test_a_user_signs_up_and_logs_in(stack, mode, accounts, expected, page, evidence, request):
    """Sign up at /hub/signup with an 8+ character password and log in: on the harness's own stack this is
    the admin account `admin`; on a deployment given by URL, a user the run makes (and deletes)."""
    # run_users only in a verify run: on the own stack it would sign the admin up over HTTP first
    name = request.getfixturevalue("run_users").name("newcomer") if mode.verify else expected.admin
    password = accounts.new_password()
    message = SignupPage(page).open().sign_up(name, password)
    evidence.screenshot(page, "signup")
    if mode.verify and "sent to the admin" in message:
        request.getfixturevalue("admin_api").approve(name)   # production mode: the admin approves
    else:
        assert "signup was successful" in message, f"signup of {name} said: {message!r}"
    accounts.passwords[name] = password
    LoginPage(page).open().log_in(name, password)
    home = HomePage(page).open()
    expect(home.start_button).to_be_visible()
    evidence.screenshot(page, "home after login")


def test_the_admin_logs_in_and_sees_admin_access(admin, page, evidence, request):
    """The admin logs in, sees the Admin link, and the hub records them as an admin."""
    LoginPage(page).open().log_in(admin[0], admin_password(admin))
    home = HomePage(page).open()
    expect(home.start_button).to_be_visible()
    evidence.screenshot(page, "home as admin")
    expect(home.admin_link, f"{admin[0]}'s home page shows no Admin link: not an admin").to_be_visible()
    record = request.getfixturevalue("admin_api").user(admin[0])
    evidence.fact("hub user record", f"name={record['name']} admin={record['admin']}")
    assert record["admin"] is True, f"the hub does not record {admin[0]} as an admin"
