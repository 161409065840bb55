"""The hub's forms and routes, written once for both hub clients: the harness's HubSession and HubAPI
(acceptance/client/hub_api.py, httpx) and the load stage's journeys and admin (acceptance/load/journey.py and
runner.py, requests, which Locust's gevent makes cooperative). What is here is JupyterHub's and
NativeAuthenticator's: the routes, the form fields, where the _xsrf token is, how a refused signup or login
looks, the token request. Sending is the clients' business: this module does no I/O and imports no HTTP
library, so that either client can use it."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookiejar import Cookie
from urllib.parse import quote, urlsplit

from acceptance.client.forms import field_value

# --- routes ----------------------------------------------------------------------------------------------
SIGNUP = "/hub/signup"      # NativeAuthenticator's signup form
LOGIN = "/hub/login"        # its login form
API = "/hub/api"            # JupyterHub's REST API


def user_path(user: str) -> str:
    """A user's model on the REST API (DELETE: the user goes, a running server is stopped first)."""
    return f"{API}/users/{quote(user)}"


def server_path(user: str, server: str = "") -> str:
    """A user's server on the REST API: the default one (""), else a named one. POST starts, DELETE stops;
    `/progress` below it is the spawn's event stream."""
    return f"{user_path(user)}/servers/{quote(server)}" if server else f"{user_path(user)}/server"


def tokens_path(user: str) -> str:
    """A user's API tokens (POST with the login cookie and the XSRF header: a new token)."""
    return f"{user_path(user)}/tokens"


# --- _xsrf -----------------------------------------------------------------------------------------------
XSRF = "_xsrf"                  # the cookie and the forms' hidden field
XSRF_HEADER = "X-XSRFToken"     # the header a cookie-authenticated API request carries it in


def xsrf_cookie_path(base_url: str) -> str:
    """The path JupyterHub sets its _xsrf cookie on: the hub's own ({base_url}hub/), not a user server's."""
    return f"{urlsplit(base_url).path.rstrip('/')}/hub/"


def xsrf_from_cookies(cookies: Iterable[Cookie], base_url: str) -> str:
    """The hub's _xsrf cookie among these (a client's cookie jar); "" when it has none. User servers set _xsrf
    cookies of their own on their paths: only one on a path ending in /hub/ is the hub's, the one on the base
    URL's hub path first (a proxy in front may serve the hub under another prefix than the cookie names)."""
    hubs = [c for c in cookies if c.name == XSRF and c.path.endswith("/hub/")]
    path = xsrf_cookie_path(base_url)
    cookie = next((c for c in hubs if c.path == path), hubs[0] if hubs else None)
    return (cookie.value or "") if cookie is not None else ""


def xsrf_from_form(html: str) -> str:
    """The _xsrf hidden field of a hub page's form; "" when the page has none."""
    return field_value(html, XSRF) or ""


def form_xsrf(cookies: Iterable[Cookie], base_url: str, html: str) -> str:
    """The _xsrf to post with a form just fetched: the hub's cookie, else the form's hidden field."""
    return xsrf_from_cookies(cookies, base_url) or xsrf_from_form(html)


# --- signup ----------------------------------------------------------------------------------------------
_ALERT = re.compile(r'<div class="alert ([\w-]+)"[^>]*>\s*(.*?)\s*</div>', re.S)


def page_text(html: str) -> str:
    """A piece of a page as text: tags dropped, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def signup_form(username: str, password: str, xsrf: str, confirmation: str | None = None,
                two_factor: bool = False) -> dict[str, str]:
    """The signup form's fields (the confirmation: the password unless given; two_factor: ask for an OTP key)."""
    return {"username": username, "signup_password": password,
            "signup_password_confirmation": password if confirmation is None else confirmation, XSRF: xsrf,
            **({"2fa": "2fa"} if two_factor else {})}


@dataclass
class SignupResult:
    ok: bool
    alert: str      # alert-success / alert-danger ...
    message: str


def signup_result(status: int, html: str) -> SignupResult:
    """What the hub said to a signup: accepted only with HTTP 200 and an alert-success (an account that may log
    in); a refusal, or an account waiting for the admin's approval (alert-info), is not ok."""
    m = _ALERT.search(html)
    alert, message = (m.group(1), page_text(m.group(2))) if m else ("", "")
    return SignupResult(ok=status == 200 and alert == "alert-success", alert=alert, message=message)


# --- login -----------------------------------------------------------------------------------------------
_LOGIN_ERROR = re.compile(r'<p class="login_error">\s*(.*?)\s*</p>', re.S)


def login_form(username: str, password: str, xsrf: str, otp: str | None = None) -> dict[str, str]:
    """The login form's fields (otp: the two-factor code, only when given)."""
    return {"username": username, "password": password, XSRF: xsrf, **({"2fa": otp} if otp else {})}


def login_accepted(status: int) -> bool:
    """The hub accepts a login by redirecting (302); a refused one gets the form again (200) with its error."""
    return status == 302


def login_error(html: str) -> str:
    """The login page's error message ("" when it shows none)."""
    m = _LOGIN_ERROR.search(html)
    return page_text(m.group(1)) if m else ""


# --- tokens ----------------------------------------------------------------------------------------------
def token_request(note: str, expires_in: int | None = None) -> dict:
    """The body of a token request (POST tokens_path): its note and, when given, its lifetime in seconds."""
    return {"note": note, **({"expires_in": expires_in} if expires_in else {})}


def token_of(answer: dict) -> str:
    """The new token in the hub's answer to a token request."""
    return answer["token"]
