"""Security 4: Hardened (Production) Mode - the specification's production settings, run as a second
stack (AUTH_MODE=production): a self-signup waits for the admin's approval at /hub/authorize,
allow_all is off so only listed or approved users get in, and two-factor login (OTP) works."""
import time

import pytest

from acceptance.client.accounts import sign_up
from acceptance.client.hub_api import HubSession
from acceptance.client.pages import AuthorizePage, LoginPage, SignupPage
from acceptance.client.polling import wait_for
from acceptance.client.totp import totp
from acceptance.tests.flows import another_stack

pytestmark = [pytest.mark.r4, pytest.mark.disruptive]  # a second stack
LISTED, OTP_USER = "listed", "otpuser"
PRODUCTION_ENV = {"AUTH_MODE": "production", "ALLOWED_USERS": f"{LISTED},{OTP_USER}", "ENABLE_OTP": "true"}
NOT_YET = "has not been authorized by an administrator yet"


@pytest.fixture(scope="session")
def production(request):
    with another_stack(request, "production", extra_env=PRODUCTION_ENV) as run:
        yield run


@pytest.fixture(scope="session")
def production_admin(production):
    return "admin", sign_up(production.hub_url, "admin", ca_bundle=production.ca_bundle)


@pytest.fixture
def on_production(browser, production):
    """A browser context on the production stack: new_page() per actor (closed at the end)."""
    context = browser.new_context(base_url=production.hub_url + "/")
    yield context
    context.close()


def login_result(hub, username: str, password: str, otp: str | None = None) -> tuple[bool, str]:
    """Log in to the deployment `hub` over HTTP: (whether it was accepted, the hub's message)."""
    with HubSession(hub.hub_url, hub.ca_bundle) as session:
        return session.login_attempt(username, password, otp)


def test_a_self_signup_can_log_in_only_while_the_admin_approves_it(production, production_admin, on_production,
                                                                  tally, evidence):
    """A self-signup is pending until the admin authorizes it at /hub/authorize; then it logs in, and
    after "Unauthorize" it is refused again."""
    newcomer = on_production.new_page()
    password = "Newcomer-Passw0rd-7"
    message = SignupPage(newcomer).open().sign_up("newcomer", password)
    evidence.fact("signup says", message)
    assert "sent to the admin" in message, f"production signup: {message!r}"
    refused = LoginPage(newcomer).open().refused("newcomer", password)
    evidence.fact("login before approval", refused)
    assert NOT_YET in refused

    admin = on_production.browser.new_context(base_url=production.hub_url + "/").new_page()
    try:
        LoginPage(admin).open().log_in(*production_admin)
        area = AuthorizePage(admin).open()
        area.authorize("newcomer")
        evidence.screenshot(admin, "approved at /hub/authorize")
        assert login_result(production, "newcomer", password)[0], "approved, but the login is refused"
        area.unauthorize("newcomer")
    finally:
        admin.context.close()
    accepted, again = login_result(production, "newcomer", password)
    tally("inputs tried", 2)
    evidence.fact("login after Unauthorize", again)
    assert not accepted and NOT_YET in again


def test_only_listed_or_approved_users_get_in(production, production_admin, tally, evidence):
    """A listed user logs in right after signup; an unlisted, unapproved one and an unknown one are refused."""
    listed = "Listed-Passw0rd-5"
    with HubSession(production.hub_url, production.ca_bundle) as session:
        signup = session.signup(LISTED, listed)
    evidence.fact("listed user's signup says", signup.message)
    assert signup.ok and "approved in advance" in signup.message, f"listed user's signup: {signup.message!r}"
    stranger = sign_up(production.hub_url, "stranger", ca_bundle=production.ca_bundle)
    results = {LISTED: login_result(production, LISTED, listed),
               "stranger": login_result(production, "stranger", stranger),
               "unknown": login_result(production, "unknown", "Whatever-Passw0rd")}
    tally("inputs tried", 2)
    for user, (accepted, message) in results.items():
        evidence.fact(user, "logged in" if accepted else f"refused: {message}")
    assert {user: accepted for user, (accepted, _m) in results.items()} == \
        {LISTED: True, "stranger": False, "unknown": False}


def test_two_factor_login_needs_the_current_code(production, on_production, tally, evidence):
    """A user who sets up OTP at signup is refused without a code and with a wrong one; the current code works."""
    page = on_production.new_page()
    password = "Otp-User-Passw0rd-3"
    signup = SignupPage(page).open()
    signup.sign_up(OTP_USER, password, two_factor=True)
    secret = signup.two_factor_secret()
    evidence.screenshot(page, "OTP secret shown at signup")
    login = LoginPage(page)
    without = login.open().refused(OTP_USER, password, otp="")
    wrong = login.open().refused(OTP_USER, password, otp=f"{(int(totp(secret)) + 1) % 1_000_000:06d}")
    tally("inputs tried", 2)
    evidence.fact("without a code", without)
    evidence.fact("with a wrong code", wrong)
    # a code is valid for its 30 s step: start the login early in a step
    wait_for(lambda: time.time() % 30 < 25, timeout=10, what="the start of a fresh 30 s OTP step", interval=0.5)
    login.open().log_in(OTP_USER, password, otp=totp(secret))
    evidence.fact("with the current code", f"logged in, at {page.url}")
