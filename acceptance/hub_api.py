"""One HTTP wrapper for the hub: base URL, timeouts, XSRF, tokens; and the REST calls tests use."""
from __future__ import annotations

import base64
import os
import re
import ssl
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from acceptance import mode
from acceptance.polling import PollAbort, wait_for
from acceptance.settings import Timeouts


def tls_verify() -> ssl.SSLContext | bool:
    """What httpx verifies an https:// hub against: the run's --ca-bundle, else the system's CAs."""
    return ssl.create_default_context(cafile=mode.current.ca_bundle) if mode.current.ca_bundle else True

_ALERT = re.compile(r'<div class="alert ([\w-]+)"[^>]*>\s*(.*?)\s*</div>', re.S)
_LOGIN_ERROR = re.compile(r'<p class="login_error">\s*(.*?)\s*</p>', re.S)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def headers_not_matching(response: httpx.Response, wanted: dict[str, str]) -> dict[str, str | None]:
    """The headers of `wanted` (header -> regular expression) the response lacks or sends with another value."""
    return {header: response.headers.get(header) for header, pattern in wanted.items()
            if not re.search(pattern, response.headers.get(header) or "")}


def websocket_handshake(client: httpx.Client, path: str) -> httpx.Response:
    """Open a websocket at `path` with the client's credentials (its headers and cookies; none: anonymous) on
    a connection of its own, and return the answer to the handshake: 101 means the websocket was accepted.
    Only the handshake is made: the connection is closed without sending a frame."""
    headers = {**client.headers, "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}
    with httpx.Client(base_url=client.base_url, timeout=Timeouts.http, verify=tls_verify(),
                      cookies=client.cookies) as one_off:
        return one_off.get(path, headers=headers)


@dataclass
class SignupResult:
    ok: bool
    alert: str      # alert-success / alert-danger ...
    message: str


class HubSession:
    """A browser-like session (cookies, _xsrf) for the hub's HTML forms."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=Timeouts.http, follow_redirects=False,
                                 verify=tls_verify())

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HubSession:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _xsrf(self, path: str) -> str:
        r = self.http.get(path)
        r.raise_for_status()
        token = self.http.cookies.get("_xsrf", path=f"{httpx.URL(self.base_url).path.rstrip('/')}/hub/")
        if not token:
            m = re.search(r'name="_xsrf" value="([^"]+)"', r.text)
            token = m.group(1) if m else ""
        return token

    def signup(self, username: str, password: str, confirmation: str | None = None,
               two_factor: bool = False) -> SignupResult:
        xsrf = self._xsrf("/hub/signup")
        form = {"username": username, "signup_password": password,
                "signup_password_confirmation": password if confirmation is None else confirmation, "_xsrf": xsrf}
        r = self.http.post("/hub/signup", data={**form, **({"2fa": "2fa"} if two_factor else {})})
        m = _ALERT.search(r.text)
        alert, message = (m.group(1), _text(m.group(2))) if m else ("", "")
        return SignupResult(ok=r.status_code == 200 and alert == "alert-success", alert=alert, message=message)

    def post_login(self, username: str, password: str, otp: str | None = None,
                   next_url: str | None = None) -> httpx.Response:
        """The hub's answer to the login form (with `?next=next_url` when given), redirects not followed."""
        xsrf = self._xsrf("/hub/login")
        form = {"username": username, "password": password, "_xsrf": xsrf, **({"2fa": otp} if otp else {})}
        return self.http.post("/hub/login", data=form, params={"next": next_url} if next_url is not None else None)

    def login_attempt(self, username: str, password: str, otp: str | None = None) -> tuple[bool, str]:
        """(accepted, the login page's error message): accepted when the hub redirects."""
        r = self.post_login(username, password, otp)
        if r.status_code not in (200, 302):
            raise AssertionError(f"login as {username!r}: unexpected HTTP {r.status_code}")
        m = _LOGIN_ERROR.search(r.text)
        return r.status_code == 302, _text(m.group(1)) if m else ""

    def try_login(self, username: str, password: str) -> bool:
        """True when the hub accepts the credentials (it redirects), False when it shows the form again."""
        return self.login_attempt(username, password)[0]

    def login(self, username: str, password: str) -> None:
        if not self.try_login(username, password):
            raise AssertionError(f"login as {username!r} was refused")

    def create_token(self, username: str, note: str, expires_in: int | None = None) -> str:
        xsrf = self.http.cookies.get("_xsrf", path=f"{httpx.URL(self.base_url).path.rstrip('/')}/hub/") or ""
        body = {"note": note, **({"expires_in": expires_in} if expires_in else {})}
        r = self.http.post(f"/hub/api/users/{quote(username)}/tokens", json=body, headers={"X-XSRFToken": xsrf})
        r.raise_for_status()
        return r.json()["token"]


class HubAPI:
    """The hub's REST API with an API token."""

    def __init__(self, base_url: str, token: str):
        self.base_url, self.token = base_url.rstrip("/"), token   # the token: handed to the load stage (L1)
        self.http = httpx.Client(base_url=self.base_url, timeout=Timeouts.http, verify=tls_verify(),
                                 headers={"Authorization": f"token {token}"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HubAPI:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def delete_tokens_noted(self, user: str, note: str) -> None:
        """Delete `user`'s tokens with this note (the ones a run made for itself)."""
        for t in self.get(f"/users/{quote(user)}/tokens").get("api_tokens", []):
            if t.get("note") == note:
                self.http.delete(f"/hub/api/users/{quote(user)}/tokens/{t['id']}")

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
        r = self.http.get(f"/hub/api{path}")
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
        r = self.http.request("DELETE", self._server_path(user, server), json={"remove": True})
        if r.status_code not in (202, 204, 404):
            raise AssertionError(f"removing {user}/{server}: HTTP {r.status_code} {r.text}")
        self.wait_stopped(user, server)

    @staticmethod
    def _server_path(user: str, server: str) -> str:
        base = f"/hub/api/users/{quote(user)}"
        return f"{base}/servers/{quote(server)}" if server else f"{base}/server"

    def start_server(self, user: str, server: str, profile_key: str) -> None:
        r = self.http.post(self._server_path(user, server), json={"profile": profile_key})
        if r.status_code not in (201, 202):
            raise AssertionError(
                f"starting {user}/{server or '(default)'} with {profile_key}: HTTP {r.status_code} {r.text}")

    def stop_server(self, user: str, server: str = "") -> None:
        r = self.http.delete(self._server_path(user, server))
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
