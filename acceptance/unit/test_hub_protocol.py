"""The hub's forms and routes (acceptance/client/hub_protocol.py) against NativeAuthenticator's own templates,
rendered here as the hub renders them, and the two clients that speak them: the harness's HubSession (httpx)
and the load journey (requests' cookie jar)."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import jinja2
import pytest
import requests
from nativeauthenticator.handlers import TEMPLATE_DIR

from acceptance.client import hub_protocol as hub
from acceptance.client.hub_api import HubSession
from acceptance.load.journey import JourneyRun, PhaseFailed
from acceptance.unit.test_load_journey import _ctx

XSRF = "2|5f0c1d2e|9a8b7c6d5e4f|1764550000"    # the forms' hidden field
COOKIE = "2|0d1e2f3a|4b5c6d7e8f9a|1764550000"  # the _xsrf cookie

# NativeAuthenticator's signup.html and native-login.html; JupyterHub's page.html around them is stubbed
_TEMPLATES = jinja2.Environment(loader=jinja2.ChoiceLoader([
    jinja2.DictLoader({"page.html": "<html><body>{% block main %}{% endblock %}"
                                    "{% block script %}{% endblock %}</body></html>"}),
    jinja2.FileSystemLoader(TEMPLATE_DIR)]), autoescape=True)


def signup_page(alert: str = "", message: str = "", two_factor_code: str = "") -> str:
    return _TEMPLATES.get_template("signup.html").render(
        post_url="/hub/signup", xsrf=XSRF, alert=alert, result_message=message, base_url="/hub/",
        two_factor_auth=True, two_factor_auth_user=bool(two_factor_code), two_factor_auth_value=two_factor_code)


def login_page(error: str = "") -> str:
    return _TEMPLATES.get_template("native-login.html").render(
        post_url="/hub/login", xsrf=XSRF, login_error=error, base_url="/hub/", two_factor_auth=True)


def test_the_templates_post_the_fields_the_forms_send():
    """The protocol posts exactly the fields the hub's forms have (with two-factor on: its checkbox, its code)."""
    for page, form in ((signup_page(), hub.signup_form("alice", "pw", XSRF, two_factor=True)),
                       (login_page(), hub.login_form("alice", "pw", XSRF, otp="123456"))):
        assert set(form) == set(re.findall(r'name="([^"]+)"', page))


def test_the_xsrf_is_read_from_the_forms_hidden_field():
    assert hub.xsrf_from_form(signup_page()) == XSRF == hub.xsrf_from_form(login_page())
    assert hub.xsrf_from_form("<html>no form</html>") == ""


@pytest.mark.parametrize(("alert", "message", "ok"), [
    ("alert-success", "The signup was successful! You can now go to the home page and log in to the system", True),
    ("alert-info", "Your information has been sent to the admin.", False),
    ("alert-danger", "The password is too short: use at least 8 characters.", False),
])
def test_a_signup_is_accepted_only_with_an_alert_success(alert, message, ok):
    result = hub.signup_result(200, signup_page(alert, message))
    assert (result.ok, result.alert, result.message) == (ok, alert, message)


def test_a_signup_answered_with_another_status_or_no_alert_is_not_accepted():
    assert not hub.signup_result(500, signup_page("alert-success", "The signup was successful!")).ok
    assert hub.signup_result(200, signup_page()) == hub.SignupResult(ok=False, alert="", message="")


def test_the_signup_message_is_text_with_the_two_factor_key():
    result = hub.signup_result(200, signup_page("alert-success", "Signed   up.", two_factor_code="ABCD1234"))
    assert result.ok and result.message.startswith("Signed up. Attention! You have configured two factor")
    assert result.message.endswith("Your two factor authentication code is ABCD1234 .")


def test_a_login_is_accepted_by_a_redirect_and_refused_with_the_forms_error():
    assert hub.login_accepted(302) and not hub.login_accepted(200)
    assert hub.login_error(login_page("Invalid username or password.")) == "Invalid username or password."
    assert hub.login_error(login_page()) == ""


def test_the_routes_quote_user_and_server_names():
    assert hub.user_path("a b") == "/hub/api/users/a%20b"
    assert hub.server_path("alice") == "/hub/api/users/alice/server"
    assert hub.server_path("alice", "my lab") == "/hub/api/users/alice/servers/my%20lab"
    assert hub.tokens_path("alice") == "/hub/api/users/alice/tokens"
    assert hub.token_request("load") == {"note": "load"}
    assert hub.token_request("site", expires_in=3600) == {"note": "site", "expires_in": 3600}


def _jar(*cookies: tuple[str, str, str]) -> requests.cookies.RequestsCookieJar:
    jar = requests.cookies.RequestsCookieJar()
    for name, value, path in cookies:
        jar.set(name, value, domain="hub.example", path=path)
    return jar


@pytest.mark.parametrize(("base_url", "cookies", "expected"), [
    ("https://hub.example", [("_xsrf", "hub", "/hub/")], "hub"),
    ("https://hub.example/", [("_xsrf", "hub", "/hub/")], "hub"),
    # a user server's _xsrf is not the hub's
    ("https://hub.example", [("_xsrf", "lab", "/user/alice/"), ("_xsrf", "hub", "/hub/")], "hub"),
    ("https://hub.example", [("_xsrf", "lab", "/user/alice/")], ""),
    # under a base URL the hub's path is {base_url}hub/, preferred to another one ending in /hub/
    ("https://hub.example/jupyter", [("_xsrf", "other", "/hub/"), ("_xsrf", "hub", "/jupyter/hub/")], "hub"),
    ("https://hub.example/jupyter", [("_xsrf", "hub", "/hub/")], "hub"),
    ("https://hub.example", [("other", "x", "/hub/")], ""),
])
def test_the_hubs_xsrf_cookie_is_the_one_on_its_hub_path(base_url, cookies, expected):
    assert hub.xsrf_from_cookies(_jar(*cookies), base_url) == expected
    jar = httpx.Cookies()
    for name, value, path in cookies:
        jar.set(name, value, domain="hub.example", path=path)
    assert hub.xsrf_from_cookies(jar.jar, base_url) == expected


def test_the_cookie_wins_over_the_forms_field():
    assert hub.form_xsrf(_jar(("_xsrf", "cookie", "/hub/")), "http://hub.example", signup_page()) == "cookie"
    assert hub.form_xsrf(_jar(), "http://hub.example", signup_page()) == XSRF


class FakeHub:
    """NativeAuthenticator's forms on httpx's MockTransport: GET sets the _xsrf cookie, POSTs are recorded."""

    def __init__(self):
        self.posts: list[tuple[str, dict, dict]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET":
            page = signup_page() if path.endswith("/signup") else login_page()
            return httpx.Response(200, text=page, headers={"set-cookie": f"_xsrf={COOKIE}; Path=/jupyter/hub/"})
        body = (json.loads(request.content) if path.endswith("/tokens")
                else {k: v[0] for k, v in parse_qs(request.content.decode()).items()})
        self.posts.append((path, body, dict(request.headers)))
        if path.endswith("/signup"):
            return httpx.Response(200, text=signup_page("alert-success", "The signup was successful!"))
        if path.endswith("/login"):
            return httpx.Response(302, headers={"location": "/jupyter/hub/home"})
        return httpx.Response(201, json={"token": "t0k3n"})


def test_the_harness_session_posts_the_protocols_forms_with_the_hubs_xsrf():
    fake = FakeHub()
    with HubSession("http://hub.example/jupyter/") as session:
        session.http = httpx.Client(base_url=session.base_url, transport=httpx.MockTransport(fake))
        assert session.signup("alice", "pw-pw-pw-pw").ok
        session.login("alice", "pw-pw-pw-pw")
        assert session.create_token("alice", "harness", expires_in=60) == "t0k3n"
    (signup, form, _), (login, credentials, _), (tokens, body, headers) = fake.posts
    assert (signup, form) == ("/jupyter/hub/signup", hub.signup_form("alice", "pw-pw-pw-pw", COOKIE))
    assert (login, credentials) == ("/jupyter/hub/login", hub.login_form("alice", "pw-pw-pw-pw", COOKIE))
    assert (tokens, body) == ("/jupyter/hub/api/users/alice/tokens", hub.token_request("harness", 60))
    assert headers["x-xsrftoken"] == COOKIE


class JourneySession:
    """The requests Session a journey logs in with: a real cookie jar with the hub's _xsrf, answers in order."""

    def __init__(self, answers):
        self.cookies = _jar(("_xsrf", COOKIE, "/hub/"), ("_xsrf", "lab", "/user/load-001/"))
        self.answers, self.sent = list(answers), []

    def request(self, method, url, **kw):
        self.sent.append((method, url, kw.get("data"), kw.get("json"), kw.get("headers")))
        status, body = self.answers.pop(0)
        response = requests.Response()
        response.status_code, response._content = status, json.dumps(body).encode()
        return response

    def post(self, url, **kw):
        return self.request("POST", url, **kw)


def test_the_load_journey_posts_the_same_forms_with_the_hubs_xsrf():
    run = JourneyRun(_ctx(), 1)
    run.http = JourneySession([(200, ""), (200, ""), (200, ""), (302, ""), (201, {"token": "t0k3n"})])
    run.login(time.monotonic() + 5)
    base = "http://127.0.0.1:1"
    assert run.http.sent == [
        ("GET", f"{base}/hub/signup", None, None, None),
        ("POST", f"{base}/hub/signup", hub.signup_form("load-001", run.password, COOKIE), None, None),
        ("GET", f"{base}/hub/login", None, None, None),
        ("POST", f"{base}/hub/login", hub.login_form("load-001", run.password, COOKIE), None, None),
        ("POST", f"{base}/hub/api/users/load-001/tokens", None, {"note": "load"}, {"X-XSRFToken": COOKIE})]
    assert run.token == "t0k3n"


def test_a_refused_login_fails_the_journeys_login_phase():
    run = JourneyRun(_ctx(), 1)
    run.http = JourneySession([(200, ""), (200, ""), (200, ""), (200, "")])
    with pytest.raises(PhaseFailed, match=r"login as load-001: HTTP 200 \(no redirect: refused\)"):
        run.login(time.monotonic() + 5)


def test_the_hub_protocol_module_imports_no_http_client():
    """Both clients import it: the load stage's under gevent, so it stays free of httpx and requests."""
    source = Path(hub.__file__).read_text()
    assert "import httpx" not in source and "import requests" not in source
