"""Phase 4: Authentication & Authorization - NativeAuthenticator in bootstrap mode with the admin, as the
running hub behaves: /hub/api/info, the admin's user record, what signup and login do."""
import secrets

import pytest

from acceptance.client.hub_api import HubSession

pytestmark = pytest.mark.p4


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3] if part.isdigit())


def random_password(length: int) -> str:
    """A password of exactly `length` characters that is in no list of common passwords."""
    return ("Q7#" + secrets.token_hex(length))[:length]


def test_authenticator_is_native_authenticator_on_a_supported_jupyterhub(stack, admin_api, expected, evidence):
    """/hub/api/info: the authenticator is NativeAuthenticator (or built on it), JupyterHub at least 5.0."""
    info = admin_api.info()
    authenticator = info["authenticator"]
    evidence.fact("authenticator", f"{authenticator['class']} {authenticator.get('version', '')}")
    evidence.fact("JupyterHub", info["version"])
    assert stack.is_subclass(authenticator["class"], expected.users["authenticator"]), \
        f"the hub's authenticator {authenticator['class']} is not a {expected.users['authenticator']}"
    minimum = expected.versions["jupyterhub"]
    assert version_tuple(info["version"]) >= version_tuple(minimum), \
        f"JupyterHub {info['version']} is older than {minimum}"


def test_the_admin_user_is_an_admin(admin_api, expected, evidence):
    """The user `admin` is an admin in the hub's user records."""
    record = admin_api.user(expected.admin)
    evidence.fact(f"{expected.admin} is admin", record["admin"])
    assert record["admin"] is True, f"{expected.admin} is not an admin"


def test_signup_and_login_behave_as_the_auth_mode_says(stack, expected, run_users, evidence):
    """Bootstrap mode (open_signup, allow_all): a new user's signup is accepted and they log in right away."""
    mode_name = expected.users["auth_mode"]
    mode = expected.auth_modes[mode_name]
    name, password = run_users.name("p4-newcomer"), random_password(16)
    with HubSession(stack.hub_url, stack.ca_bundle) as session:
        signup = session.signup(name, password)
        logged_in = session.try_login(name, password)
    evidence.fact("auth mode (expected)", mode_name)
    evidence.fact("signup says", signup.message)
    evidence.fact("login right after", "accepted" if logged_in else "refused")
    waits = "sent to the admin" in signup.message
    assert (signup.ok and not waits) == (mode["signup"] == "open"), f"{mode_name} mode, signup: {signup.message!r}"
    assert logged_in == mode["login_after_signup"], \
        f"login right after signup was {'accepted' if logged_in else 'refused'} in {mode_name} mode"


def test_passwords_need_the_minimum_length(stack, expected, run_users, evidence):
    """A password one character short of the minimum (8) is refused with a message naming it; one of exactly
    the minimum is accepted."""
    minimum = expected.users["minimum_password_length"]
    with HubSession(stack.hub_url, stack.ca_bundle) as session:
        short = session.signup(run_users.name("p4-short"), random_password(minimum - 1))
        exact = session.signup(run_users.name("p4-exact"), random_password(minimum))
    evidence.fact(f"{minimum - 1} characters", short.message)
    evidence.fact(f"{minimum} characters", exact.message)
    assert not short.ok and f"at least {minimum} characters" in short.message, \
        f"a {minimum - 1}-character password: {short.message!r}"
    assert exact.ok or "sent to the admin" in exact.message, \
        f"a {minimum}-character password was refused: {exact.message!r}"


@pytest.mark.read_only
def test_signup_and_login_pages_are_served(stack):
    """/hub/signup is served (self-signup on) and /hub/login uses NativeAuthenticator's form."""
    with HubSession(stack.hub_url, stack.ca_bundle) as session:
        signup, login = session.http.get("/hub/signup"), session.http.get("/hub/login")
    assert signup.status_code == 200 and 'id="signup_submit"' in signup.text
    assert login.status_code == 200 and 'id="login_submit"' in login.text
