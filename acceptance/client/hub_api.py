"""One HTTP wrapper for the hub: base URL, timeouts, XSRF, tokens; and the REST calls tests use. The hub's
forms and routes themselves are in hub_protocol.py, which the load stage's journeys speak too."""
from __future__ import annotations

import base64
import os
import re
import ssl
from typing import Self
from urllib.parse import quote

import httpx

from acceptance.client import hub_protocol as hub
from acceptance.client.polling import PollAbort, wait_for
from acceptance.settings import Timeouts


def tls_verify(ca_bundle: str | os.PathLike | None) -> ssl.SSLContext | bool:
    """What httpx verifies an https:// hub against: the deployment's CA bundle (a verify run's --ca-bundle, the
    production stack's own certificate: Deployment.ca_bundle), else (None) the system's CAs."""
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True

def headers_not_matching(response: httpx.Response, wanted: dict[str, str]) -> dict[str, str | None]:
    """The headers of `wanted` (header -> regular expression) the response lacks or sends with another value."""
    return {header: response.headers.get(header) for header, pattern in wanted.items()
            if not re.search(pattern, response.headers.get(header) or "")}


def websocket_handshake(hub: HubSession | HubAPI, path: str) -> httpx.Response:
    """Open a websocket at `path` with the session's or API client's credentials (its headers and cookies; a fresh
    session's: anonymous) on a connection of its own, and return the answer to the handshake: 101 means the
    websocket was accepted. Only the handshake is made: the connection is closed without sending a frame."""
    client = hub.http
    headers = {**client.headers, "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}
    with httpx.Client(base_url=client.base_url, timeout=Timeouts.http, verify=tls_verify(hub.ca_bundle),
                      cookies=client.cookies) as one_off:
        return one_off.get(path, headers=headers)


class _HubClient:
    """What both clients share: one httpx client (`http`), closed on leaving a `with` block."""

    http: httpx.Client

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class HubSession(_HubClient):
    """A browser-like session (cookies, _xsrf) for the hub's HTML forms."""

    def __init__(self, base_url: str, ca_bundle: str | os.PathLike | None = None):
        """`ca_bundle`: what an https:// hub is verified with (the deployment's: Deployment.ca_bundle)."""
        self.base_url, self.ca_bundle = base_url.rstrip("/"), ca_bundle
        self.http = httpx.Client(base_url=self.base_url, timeout=Timeouts.http, follow_redirects=False,
                                 verify=tls_verify(ca_bundle))

    def _xsrf(self, path: str) -> str:
        """GET the form at `path`; the _xsrf to post it with."""
        r = self.http.get(path)
        r.raise_for_status()
        return hub.form_xsrf(self.http.cookies.jar, self.base_url, r.text)

    def signup(self, username: str, password: str, confirmation: str | None = None,
               two_factor: bool = False) -> hub.SignupResult:
        form = hub.signup_form(username, password, self._xsrf(hub.SIGNUP), confirmation, two_factor)
        r = self.http.post(hub.SIGNUP, data=form)
        return hub.signup_result(r.status_code, r.text)

    def post_login(self, username: str, password: str, otp: str | None = None,
                   next_url: str | None = None) -> httpx.Response:
        """The hub's answer to the login form (with `?next=next_url` when given), redirects not followed."""
        form = hub.login_form(username, password, self._xsrf(hub.LOGIN), otp)
        return self.http.post(hub.LOGIN, data=form, params={"next": next_url} if next_url is not None else None)

    def login_attempt(self, username: str, password: str, otp: str | None = None) -> tuple[bool, str]:
        """(accepted, the login page's error message): accepted when the hub redirects."""
        r = self.post_login(username, password, otp)
        if r.status_code not in (200, 302):
            raise AssertionError(f"login as {username!r}: unexpected HTTP {r.status_code}")
        return hub.login_accepted(r.status_code), hub.login_error(r.text)

    def try_login(self, username: str, password: str) -> bool:
        """True when the hub accepts the credentials (it redirects), False when it shows the form again."""
        return self.login_attempt(username, password)[0]

    def login(self, username: str, password: str) -> None:
        if not self.try_login(username, password):
            raise AssertionError(f"login as {username!r} was refused")

    def create_token(self, username: str, note: str, expires_in: int | None = None) -> str:
        xsrf = hub.xsrf_from_cookies(self.http.cookies.jar, self.base_url)
        r = self.http.post(hub.tokens_path(username), json=hub.token_request(note, expires_in),
                           headers={hub.XSRF_HEADER: xsrf})
        r.raise_for_status()
        return hub.token_of(r.json())


class HubAPI(_HubClient):
    """The hub's REST API with an API token."""

    def __init__(self, base_url: str, token: str, ca_bundle: str | os.PathLike | None = None):
        """`ca_bundle`: what an https:// hub is verified with (the deployment's: Deployment.ca_bundle)."""
        self.base_url, self.token = base_url.rstrip("/"), token   # the token: handed to the load stage (L1)
        self.ca_bundle = ca_bundle
        self.http = httpx.Client(base_url=self.base_url, timeout=Timeouts.http, verify=tls_verify(ca_bundle),
                                 headers={"Authorization": f"token {token}"})

    def delete_tokens_noted(self, user: str, note: str) -> None:
        """Delete `user`'s tokens with this note (the ones a run made for itself)."""
        for t in self.get(f"/users/{quote(user)}/tokens").get("api_tokens", []):
            if t.get("note") == note:
                self.http.delete(f"{hub.tokens_path(user)}/{t['id']}")

    # the admin's logged-in session, when there is one: JupyterHub 6 page handlers (NativeAuthenticator's
    # /hub/authorize among them) take no token, only the login cookie
    session: HubSession | None = None

    def approve(self, user: str) -> None:
        """Approve a NativeAuthenticator signup that waits for the admin (/hub/authorize toggles it)."""
        client = self.session.http if self.session is not None else self.http
        r = client.get(f"/hub/authorize/{quote(user)}", follow_redirects=False)
        if r.status_code not in (200, 302):
            raise AssertionError(f"approving {user} at /hub/authorize: HTTP {r.status_code}")

    def get(self, path: str) -> dict:
        r = self.http.get(f"{hub.API}{path}")
        r.raise_for_status()
        return r.json()

    def user(self, name: str) -> dict:
        return self.get(f"/users/{quote(name)}")

    def server(self, user: str, server: str = "", state: bool = False) -> dict | None:
        """The active server's model (None: not running). With state=True it must carry its `state`
        (the token needs admin:server_state), which names the server's container."""
        model = self.user(user).get("servers", {}).get(server)
        if state and model is not None and "state" not in model:
            raise AssertionError("this token cannot read server state (admin:server_state)")
        return model

    def info(self) -> dict:
        """/hub/api/info: JupyterHub's version and its spawner's and authenticator's classes and versions."""
        return self.get("/info")

    def remove_server(self, user: str, server: str) -> None:
        """Delete a named server's record (stopping it first if it runs)."""
        r = self.http.request("DELETE", hub.server_path(user, server), json={"remove": True})
        if r.status_code not in (202, 204, 404):
            raise AssertionError(f"removing {user}/{server}: HTTP {r.status_code} {r.text}")
        self.wait_stopped(user, server)

    def start_server(self, user: str, server: str, profile_key: str) -> None:
        r = self.http.post(hub.server_path(user, server), json={"profile": profile_key})
        if r.status_code not in (201, 202):
            raise AssertionError(
                f"starting {user}/{server or '(default)'} with {profile_key}: HTTP {r.status_code} {r.text}")

    def stop_server(self, user: str, server: str = "") -> None:
        r = self.http.delete(hub.server_path(user, server))
        if r.status_code not in (202, 204, 404):
            raise AssertionError(f"stopping {user}/{server or '(default)'}: HTTP {r.status_code} {r.text}")

    def wait_ready(self, user: str, server: str = "", timeout: float = Timeouts.spawn) -> dict:
        def ready():
            s = self.server(user, server)
            if s and s.get("ready"):
                return s
            if s is None:  # the hub drops a server whose spawn failed
                raise PollAbort(f"spawn of {user}/{server or '(default)'} failed: the hub dropped the server "
                                "(the hub log says why)")
            return None
        return wait_for(ready, timeout=timeout, what=f"server {user}/{server or '(default)'} to be ready", interval=1)

    def wait_stopped(self, user: str, server: str = "", timeout: float = Timeouts.stop) -> None:
        wait_for(lambda: self.server(user, server) is None, timeout=timeout,
                 what=f"server {user}/{server or '(default)'} to stop", interval=0.5)

    def server_get(self, path: str, **kw) -> httpx.Response:
        """GET a path on the proxy (e.g. a user server's URL) with this token."""
        return self.http.get(path, follow_redirects=True, **kw)
