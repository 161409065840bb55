"""Accounts on the hub, as a client makes them: the run's passwords (Accounts), a sign-up over HTTP (the browser
flow is Test 1's), a signed-up user with a session and a token of their own (hub_user), and the admin's password
for the checks that need it."""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from acceptance.client.hub_api import HubAPI, HubSession


@dataclass
class Accounts:
    """Accounts created during the run: username -> password."""

    passwords: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def new_password() -> str:
        return "Pw-" + secrets.token_urlsafe(12)


def sign_up(hub_url: str, username: str, password: str | None = None, approver: HubAPI | None = None,
            ca_bundle: str | Path | None = None) -> str:
    """Sign a user up over HTTP (the browser flow is Test 1's); returns the password. A signup that waits
    for the admin's approval is approved by `approver` (the admin's API) when one is given. `ca_bundle`: the
    deployment's (Deployment.ca_bundle)."""
    password = password or Accounts.new_password()
    with HubSession(hub_url, ca_bundle) as session:
        result = session.signup(username, password)
    pending = "has been sent to the admin" in result.message
    if not result.ok and not pending:
        pytest.fail(f"could not sign up {username!r} at {hub_url}: {result.message or result.alert}", pytrace=False)
    if pending and approver is not None:
        approver.approve(username)
    return password


@dataclass
class HubUser:
    """A signed-up user with a logged-in session (cookies) and an API token of their own."""

    name: str
    password: str
    session: HubSession
    api: HubAPI

    def close(self) -> None:
        self.session.close()
        self.api.close()


@contextmanager
def hub_user(hub_url: str, name: str, approver: HubAPI | None = None, ca_bundle: str | Path | None = None):
    """Sign `name` up, log in (the hub makes its user record at the first login), make a token. `ca_bundle`: the
    deployment's (Deployment.ca_bundle)."""
    password = sign_up(hub_url, name, approver=approver, ca_bundle=ca_bundle)
    session = HubSession(hub_url, ca_bundle)
    session.login(name, password)
    user = HubUser(name, password, session,
                   HubAPI(hub_url, session.create_token(name, "acceptance harness"), ca_bundle))
    try:
        yield user
    finally:
        user.close()


def admin_password(admin) -> str:
    """The admin's password, for checks in the admin's browser; skipped as not verifiable without it."""
    if admin[1] is None:
        pytest.skip("not verifiable with a token only: the admin's browser checks need "
                    "JUPYTERHUB_ADMIN_USER and JUPYTERHUB_ADMIN_PASSWORD")
    return admin[1]
