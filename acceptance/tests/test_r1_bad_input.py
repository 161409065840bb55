"""Reliability 1: Bad Input - signup and login refuse bad input with a clear message, create or
change no account, render every payload as text, keep the hub healthy, and lock an account
after repeated failed logins until the configured time has passed."""
import re
import time

import httpx
import pytest

from acceptance.client.accounts import sign_up
from acceptance.client.hub_api import HubSession
from acceptance.client.pages import LoginPage, SignupPage
from acceptance.client.polling import wait_for
from acceptance.settings import HARNESS_STACK_ENV, Timeouts

pytestmark = pytest.mark.r1
GOOD_PASSWORD = "Fine-Passw0rd-42"
NOT_ALLOWED = r"That username is not allowed\. A username has 1 to 32 characters"
# payloads that set window.__xss if the page ever runs them
SCRIPT_PAYLOAD = "<script>window.__xss=1</script>"
MARKUP_PAYLOAD = '"><img src=x onerror="window.__xss=1">'

SIGNUP_CASES = [
    # (id, username, password, confirmation, the message that must show). A username of a run user's
    # form is given the run's prefix ({run}); {admin} is the admin's name.
    ("short password", "{run}shortpw", "abc12", None, r"too short: use at least 8 characters"),
    ("common password", "{run}commonpw", "password", None, r"too common"),
    ("mismatched confirmation", "{run}mismatch", GOOD_PASSWORD, GOOD_PASSWORD + "x",
     r"did not match the confirmation"),
    ("taken username", "{admin}", GOOD_PASSWORD, None, r"already in use"),
    ("taken username in uppercase", "{ADMIN}", GOOD_PASSWORD, None, r"already in use"),
    ("too long username", "a" * 40, GOOD_PASSWORD, None, NOT_ALLOWED),
    ("username with spaces", "john smith", GOOD_PASSWORD, None, NOT_ALLOWED),
    ("username with a slash", "john/smith", GOOD_PASSWORD, None, NOT_ALLOWED),
    ("unicode username", "jürgen", GOOD_PASSWORD, None, NOT_ALLOWED),
    ("script payload username", SCRIPT_PAYLOAD, GOOD_PASSWORD, None, NOT_ALLOWED),
    ("markup payload username", MARKUP_PAYLOAD, GOOD_PASSWORD, None, NOT_ALLOWED),
]


@pytest.fixture
def watched_page(page):
    """The test's page, recording any dialog a payload might open."""
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    return page


def assert_nothing_ran(page) -> None:
    """No payload executed: no dialog, no global it would set, no element it would inject."""
    assert page.dialogs == [], f"a dialog opened: {page.dialogs}"
    assert page.evaluate("window.__xss") is None, "an injected script ran"
    assert page.locator("img[src=x]").count() == 0, "injected markup became an element"


def assert_hub_healthy(stack) -> None:
    assert httpx.get(f"{stack.hub_url}/hub/health", timeout=Timeouts.http).status_code == 200
    assert stack.hub_state() == "running"


@pytest.mark.parametrize(("username", "password", "confirmation", "wanted"),
                         [c[1:] for c in SIGNUP_CASES], ids=[c[0] for c in SIGNUP_CASES])
def test_bad_signup_is_refused_clearly_and_changes_nothing(stack, admin, run_users, watched_page, tally, evidence,
                                                           username, password, confirmation, wanted):
    """A bad signup shows a clear message, creates or changes no account, runs no payload; the hub stays healthy."""
    username = run_users.track(username.format(run=run_users.prefix, admin=admin[0], ADMIN=admin[0].upper()))
    before = stack.native_accounts([username, admin[0]])
    message = SignupPage(watched_page).open().sign_up(username, password, confirmation)
    tally("inputs tried")
    evidence.fact("message", message)
    assert re.search(wanted, message), f"signup of {username!r}: {message!r}, expected /{wanted}/"
    assert_nothing_ran(watched_page)
    assert stack.native_accounts([username, admin[0]]) == before, "the refused signup created or changed an account"
    assert_hub_healthy(stack)


def test_empty_username_is_refused_by_the_form_and_the_hub(stack, admin, page, tally, evidence):
    """An empty username: the browser will not send the form; sent anyway, the hub says to choose one."""
    before = stack.native_accounts([""])
    signup = SignupPage(page).open()
    signup.fill("", GOOD_PASSWORD)
    browser_message = signup.browser_refusal()
    evidence.fact("browser says", browser_message)
    assert browser_message, "the browser sent a signup with no username"
    with HubSession(stack.hub_url, stack.ca_bundle) as session:
        result = session.signup("", GOOD_PASSWORD)
    tally("inputs tried", 2)
    evidence.fact("hub says", result.message)
    assert result.message == "Choose a username.", f"empty username: {result.message!r}"
    assert stack.native_accounts([""]) == before
    assert_hub_healthy(stack)


LOGIN_CASES = [
    # (id, username, password): each must be refused with the same message ({victim}: the run's victim)
    ("wrong password", "{victim}", "Not-The-Passw0rd"),
    ("unknown user", "{run}nobody-here", GOOD_PASSWORD),
    ("empty password", "{victim}", ""),
    ("markup payload username", MARKUP_PAYLOAD, GOOD_PASSWORD),
    ("script payload username", SCRIPT_PAYLOAD, GOOD_PASSWORD),
]


@pytest.fixture(scope="session")
def login_victim(stack, run_users, admin_api):
    name = run_users.name("loginvictim")
    return name, sign_up(stack.hub_url, name, approver=admin_api, ca_bundle=stack.ca_bundle)


@pytest.mark.parametrize(("username", "password"), [c[1:] for c in LOGIN_CASES], ids=[c[0] for c in LOGIN_CASES])
def test_bad_login_is_refused_clearly_and_changes_nothing(stack, login_victim, run_users, watched_page, tally,
                                                          evidence, username, password):
    """A bad login shows "Invalid username or password.", runs no payload, changes no account."""
    username = username.format(victim=login_victim[0], run=run_users.prefix)
    before = stack.native_accounts([login_victim[0]])
    message = LoginPage(watched_page).open().refused(username, password)
    tally("inputs tried")
    evidence.fact("message", message)
    assert message == "Invalid username or password.", f"login as {username!r}: {message!r}"
    assert "/hub/login" in watched_page.url
    assert_nothing_ran(watched_page)
    # the login page renders the username back into its form: as inert text, intact
    echoed = watched_page.locator("#username_input").get_attribute("val")
    assert echoed == username, f"the username came back as {echoed!r}"
    assert stack.native_accounts([login_victim[0]]) == before
    assert_hub_healthy(stack)
    LoginPage(watched_page).open().log_in(*login_victim)  # the real password still works (resets the count)


def test_empty_login_form_is_refused(stack, page, tally, evidence):
    """Empty username and password: the browser will not send the form; sent anyway, the hub refuses it."""
    LoginPage(page).open()
    page.locator("#login_submit").click()
    browser_message = page.locator("#username_input").evaluate("el => el.validationMessage")
    evidence.fact("browser says", browser_message)
    assert browser_message and "/hub/login" in page.url
    with HubSession(stack.hub_url, stack.ca_bundle) as session:
        accepted, message = session.login_attempt("", "")
    tally("inputs tried", 2)
    evidence.fact("hub says", message)
    assert not accepted and message == "Invalid username or password."
    assert_hub_healthy(stack)


def test_repeated_failed_logins_lock_the_account_until_the_lock_time_passes(stack, mode, expected, run_users,
                                                                           admin_api, page, tally, evidence):
    """After 5 wrong passwords even the right one is refused ("locked"); after the lock time (the harness's
    stacks: 10 s) it works again. (On a deployment the harness did not configure, the lock time is the
    site's: the lock is shown, its lifting not awaited.)"""
    failures = expected.users["login_lock_after_failures"]
    lock_seconds = None if mode.verify else int(HARNESS_STACK_ENV["LOGIN_LOCK_SECONDS"])
    evidence.fact("expected", f"lock after {failures} failed logins" + (f", for {lock_seconds} s" if lock_seconds
                                                                         else ""))
    name = run_users.name("locky")
    password = sign_up(stack.hub_url, name, approver=admin_api, ca_bundle=stack.ca_bundle)
    with HubSession(stack.hub_url, stack.ca_bundle) as session:
        for _ in range(failures):
            assert not session.try_login(name, "Wrong-Passw0rd")
        locked_at = time.monotonic()
        tally("inputs tried", failures)
        message = LoginPage(page).open().refused(name, password)
        evidence.screenshot(page, "locked")
        evidence.fact("with the right password while locked", message)
        assert re.search(r"locked for \d+ more seconds", message), f"locked account: {message!r}"
        if lock_seconds is None:
            return
        wait_for(lambda: session.try_login(name, password), timeout=lock_seconds + Timeouts.http,
                 what=f"the lock of {name!r} to lift ({lock_seconds} s configured)", interval=1)
        lifted_after = time.monotonic() - locked_at
    evidence.fact("lock lifted after", f"{lifted_after:.0f} s")
    assert lifted_after >= lock_seconds - 1, f"the lock lifted after {lifted_after:.0f} s, before {lock_seconds} s"
