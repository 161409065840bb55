"""jhub_platform.auth: which signups are refused and why, account locks, who is allowed in."""
from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from jhub_platform.auth import USERNAME_PATTERN, USERNAME_RULE, PlatformAuthenticator

# nativeauthenticator 1.3.0 on import; not ours
pytestmark = pytest.mark.filterwarnings("ignore:'locale.getdefaultlocale' is deprecated:DeprecationWarning")


@pytest.fixture
def auth():
    a = PlatformAuthenticator(add_new_table=False)  # no database: get_user is replaced where needed
    a.username_pattern = USERNAME_PATTERN
    a.minimum_password_length = 8
    a.check_common_password = True
    return a


@pytest.mark.parametrize("username", ["", "   ", "a" * 33, "jürgen", "<script>x</script>", "a b", "a/b", "-dash"])
def test_bad_usernames_are_refused_naming_the_rule(auth, username):
    message = auth.signup_refusal(username, "a-Good-passw0rd")
    assert message in ("Choose a username.", f"That username is not allowed. A username has {USERNAME_RULE}.")


@pytest.mark.parametrize("username", ["alice", "a" * 32, "bob.smith", "x_1-2", "Carol"])
def test_good_usernames_pass(auth, username):
    assert auth.signup_refusal(username, "a-Good-passw0rd") is None


def test_short_and_common_passwords_are_named(auth):
    assert auth.signup_refusal("alice", "abc12") == "The password is too short: use at least 8 characters."
    assert "too common" in auth.signup_refusal("alice", "password1")


def test_lock_counts_down_and_lifts(auth):
    auth.allowed_failed_logins, auth.seconds_before_next_try = 3, 20
    assert auth.seconds_locked("alice") == 0
    auth.login_attempts["alice"] = {"count": 3, "time": datetime.now() - timedelta(seconds=5)}
    assert 14 <= auth.seconds_locked("Alice") <= 15
    auth.login_attempts["alice"]["time"] = datetime.now() - timedelta(seconds=25)
    assert auth.seconds_locked("alice") == 0
    auth.allowed_failed_logins = 0  # never lock
    auth.login_attempts["alice"]["time"] = datetime.now()
    assert auth.seconds_locked("alice") == 0


def test_allowed_with_allow_all_off_listed_or_approved_only(auth, monkeypatch):
    auth.allow_all = False
    auth.allowed_users = {"admin", "listed"}
    users = {"approved": SimpleNamespace(is_authorized=True), "pending": SimpleNamespace(is_authorized=False)}
    monkeypatch.setattr(auth, "get_user", users.get)
    assert [u for u in ("admin", "listed", "approved", "pending", "stranger") if auth.check_allowed(u)] == \
        ["admin", "listed", "approved"]
