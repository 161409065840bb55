"""Security 6: Known Advisories - one regression check per published advisory of the platform's components
(JupyterHub, DockerSpawner, jupyter-server, jupyter-server-proxy). Each check makes the advisory's attack on
the deployment it is given (the `stack` fixture) and fails when the deployment is open to it. A check that
fails on a pinned version means that version is upgraded, not the check weakened.

"Evil" destinations are made-up hosts (evil.example): a check reads the Location header or the page the hub
renders; it never follows a redirect away from the hub."""
from __future__ import annotations

import contextlib
import re
import time
import uuid
from urllib.parse import quote, urljoin, urlsplit

import pytest

from acceptance.client.accounts import hub_user
from acceptance.client.hub_api import HubSession, headers_not_matching, websocket_handshake
from acceptance.client.polling import WaitTimeout, wait_for
from acceptance.client.servers import Servers
from acceptance.settings import Timeouts

pytestmark = pytest.mark.r6

EVIL = "evil.example"
XSS_MARK = "window.__r6xss=1"
NEXT_PAYLOADS = (f'/hub/home"><script>{XSS_MARK}</script>', f"javascript:{XSS_MARK}//")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"/[^\"]+\.py\", line \d+")


@pytest.fixture(scope="session")
def mallory(stack, run_users, admin_api):
    """A user the advisories' attacks are made with and against (a session cookie and a token of her own)."""
    with hub_user(stack.hub_url, run_users.name("mallory6"), approver=admin_api, ca_bundle=stack.ca_bundle) as user:
        yield user


@pytest.fixture(scope="session")
def proxied_apps(stack, mallory, admin_api, offered_profiles, expected):
    """Mallory's running VS Code and marimo servers: {app: URL path of the app (its `lands_on`)}."""
    servers = Servers(mallory.api, stack, offered_profiles, admin_api)
    apps = {}
    try:
        for app in ("vscode", "marimo"):
            profile = expected.of_app(app)[0]
            running = servers.start(mallory.name, f"r6{app}", profile)
            apps[app] = running.url + profile.lands_on.lstrip("/")
        yield apps
    finally:
        servers.stop_all_started()


def lands_on(location: str, hub_url: str) -> str:
    """The URL a browser goes to for this Location header: browsers drop tabs and newlines, read '\\' as '/'
    in http(s) URLs, take any run of leading slashes as "//" (urljoin does not) and resolve the rest against
    the page's URL."""
    cleaned = re.sub(r"[\t\r\n]|^[\x00-\x20]+|[\x00-\x20]+$", "", location).replace("\\", "/")
    return urljoin(hub_url + "/", re.sub(r"^/{3,}", "//", cleaned))


def stays_on_hub(location: str | None, hub_url: str) -> bool:
    if location is None:
        return True
    target, hub = urlsplit(lands_on(location, hub_url)), urlsplit(hub_url)
    return (target.scheme, target.netloc) == (hub.scheme, hub.netloc)


def test_ghsa_m68r_v472_jgq9_cross_site_form_posts_need_the_xsrf_token(mallory, admin_api, servers, expected,
                                                                         evidence):
    """GHSA-m68r-v472-jgq9: a cookie-authenticated form POST without the XSRF token is refused, also with
    Sec-Fetch-Mode: no-cors (JupyterHub 4.1-5.4.4 took that for same-origin: a cross-site page could
    start a user's server or accept a share for her)."""
    evidence.fact("advisory", "GHSA-m68r-v472-jgq9: JupyterHub's XSRF check let Sec-Fetch-Mode: no-cors form "
                              "POSTs through (/hub/spawn, /hub/accept-share)")
    server = "r6xsrf"
    profile = servers.form_value(expected.profiles[0])
    posts = {"spawn": (f"/hub/spawn/{quote(mallory.name)}/{server}", {"profile": profile}),
             "accept-share": ("/hub/accept-share?code=r6-no-such-code", {})}
    let_through = {}
    try:
        for what, (path, form) in posts.items():
            for site in ("cross-site", "same-site", "same-origin"):
                r = mallory.session.http.post(path, data=form, headers={"Sec-Fetch-Mode": "no-cors",
                                                                        "Sec-Fetch-Site": site})
                refused = r.status_code == 403 and re.search("xsrf", r.text, re.I)
                evidence.fact(f"{what}, no-cors {site}", f"HTTP {r.status_code} {r.headers.get('location') or ''}")
                if not refused:
                    let_through[f"{what} ({site})"] = r.status_code
        started = admin_api.server(mallory.name, server)
    finally:
        admin_api.remove_server(mallory.name, server)
    assert not let_through, f"form POSTs without the XSRF token were not refused for XSRF: {let_through}"
    assert started is None, "a cross-site form POST started a server"


def open_redirect_targets(hub_url: str) -> list[str]:
    host = urlsplit(hub_url).netloc
    return [f"//{EVIL}/", f"///{EVIL}/", f"\\\\{EVIL}/", f"/\\{EVIL}/", f"\\/{EVIL}/", f"https://{EVIL}/",
            f"{hub_url}//{EVIL}/", f"{host}//{EVIL}/", f"//{host}//{EVIL}/", f"/\t/{EVIL}/"]


def test_ghsa_3vff_hjqv_m7h8_next_never_redirects_off_the_hub(stack, mallory, evidence):
    """GHSA-3vff-hjqv-m7h8: `next` after a login (and on the login page of a logged-in user) never sends the
    browser to another host: //evil, ///evil, \\\\evil, HOST//evil and the like stay on the hub."""
    evidence.fact("advisory", "GHSA-3vff-hjqv-m7h8: JupyterHub open redirect through ?next= (path confusion "
                              "with the hub's own host)")
    off_hub = {}
    for target in open_redirect_targets(stack.hub_url):
        with HubSession(stack.hub_url, stack.ca_bundle) as fresh:
            after_login = fresh.post_login(mallory.name, mallory.password, next_url=target)
        logged_in = mallory.session.http.get("/hub/login", params={"next": target})
        for how, r in (("after login", after_login), ("logged in", logged_in)):
            location = r.headers.get("location")
            evidence.fact(f"next={target!r} {how}", f"HTTP {r.status_code} -> {location!r}")
            assert r.status_code in (302, 303), f"next={target!r} {how}: HTTP {r.status_code}, not a redirect"
            if not stays_on_hub(location, stack.hub_url):
                off_hub[f"{target!r} {how}"] = location
    assert not off_hub, f"redirects off the hub: {off_hub}"


def test_ghsa_hfgr_h3vc_p6c2_user_options_cannot_choose_the_image(stack, mallory, servers, expected, evidence):
    """GHSA-hfgr-h3vc-p6c2: an image named in the spawn request's user_options (the REST API body) is never
    run: the hub refuses the request or runs the profile's own image."""
    evidence.fact("advisory", "GHSA-hfgr-h3vc-p6c2: DockerSpawner < 13 ran any image a user named in "
                              "user_options when allowed_images was unset")
    lab = expected.profiles[0]
    other = next(image for image in expected.images if image != lab.image)
    requests = {"r6image": {"image": other},
                "r6profimage": {"profile": servers.form_value(lab), "image": other}}
    for server, body in requests.items():
        r = mallory.api.http.post(f"/hub/api/users/{quote(mallory.name)}/servers/{server}", json=body)
        servers.started.append((mallory.name, server))
        evidence.fact(f"POST {body}", f"HTTP {r.status_code} {r.text[:200]}")
        if r.status_code >= 400:
            assert servers.admin_api.server(mallory.name, server) is None, f"refused, yet {server} is running"
            servers.api.remove_server(mallory.name, server)   # the refused named server's record
            continue
        servers.api.wait_ready(mallory.name, server)
        image = servers.container(mallory.name, server).attrs["Config"]["Image"]
        evidence.fact(f"{server} runs", image)
        assert image != other, f"user_options chose the image: {server} runs {image}"
        assert image == lab.image, f"{server} runs {image}, not its profile's {lab.image}"


def test_ghsa_w3vc_fx9p_wp4v_proxied_apps_refuse_anonymous_websockets(stack, mallory, proxied_apps, evidence):
    """GHSA-w3vc-fx9p-wp4v: a websocket to the proxied VS Code (code-server) and marimo without a cookie or
    token is refused; the owner's (with her token) is accepted, so the endpoint does take websockets."""
    evidence.fact("advisory", "GHSA-w3vc-fx9p-wp4v: jupyter-server-proxy < 4.1.1 proxied websockets without "
                              "authentication")
    accepted = {}
    for app, path in proxied_apps.items():
        owner = websocket_handshake(mallory.api, path)
        with HubSession(stack.hub_url, stack.ca_bundle) as anonymous:
            stranger = websocket_handshake(anonymous, path)
        evidence.fact(f"{app} {path}", f"owner HTTP {owner.status_code}, anonymous HTTP {stranger.status_code}")
        assert owner.status_code == 101, f"{app}: the owner's websocket was not accepted (HTTP {owner.status_code})"
        if stranger.status_code == 101:
            accepted[app] = path
    assert not accepted, f"anonymous websockets accepted: {accepted}"


def failed_login_log_problem(log: str, marker: str, limit: int) -> str | None:
    """What is wrong with the hub's log after a failed login whose username starts with `marker`: no line names
    the login (it never reached the log, or the log is not the hub's), or a line longer than `limit`. None: the
    login is logged, briefly."""
    lines = log.splitlines()
    if not any(marker in line for line in lines):
        return f"no line of the hub's log names the failed login ({marker}...): {len(log)} characters read"
    longest = max(len(line) for line in lines)
    if longest > limit:
        return f"a log line of {longest} characters (more than {limit}) after the failed login"
    return None


def test_ghsa_p43p_whwx_q52h_a_megabyte_username_does_not_flood_the_hub_log(stack, expected, evidence):
    """GHSA-p43p-whwx-q52h: a failed login with a 1 MB username reaches the hub's log (its first characters) and
    adds no long line to it."""
    evidence.fact("advisory", "GHSA-p43p-whwx-q52h: JupyterHub < 5.5.0 logged a failed login's username "
                              "unbounded")
    stack.require_docker("the hub's log")
    limit = expected.data["advisories"]["failed_login_log_max_chars"]
    marker = "r6flood" + uuid.uuid4().hex[:8]   # within the first 16 characters, which the hub may keep
    since = int(time.time()) - 1
    with HubSession(stack.hub_url, stack.ca_bundle) as session:
        accepted, message = session.login_attempt(marker + "a" * 1_000_000, "Not-The-Passw0rd")
    assert not accepted
    log = ""

    def read_log() -> bool:
        nonlocal log
        log = stack.hub_logs(since=since)
        return marker in log

    with contextlib.suppress(WaitTimeout):   # the engine may show the hub's line a moment after its answer;
        wait_for(read_log, timeout=Timeouts.http, what="the failed login in the hub's log")   # judged below
    lines = [line for line in log.splitlines() if marker in line]
    evidence.fact("hub log lines naming the login", [line[:300] for line in lines] or "none")
    evidence.fact("hub log since the login", f"{len(log)} characters")
    problem = failed_login_log_problem(log, marker, limit)
    assert problem is None, problem


def test_ghsa_c4gm_pwx9_9w8j_next_is_escaped_in_login_spawn_and_accept_share(stack, mallory, run_users, admin_api,
                                                                             proxied_apps, evidence):
    """GHSA-c4gm-pwx9-9w8j: a `next` carrying markup or a javascript: URL is rendered inert in the login, spawn
    and accept-share pages (a share of Mallory's VS Code server, opened by another user)."""
    evidence.fact("advisory", "GHSA-c4gm-pwx9-9w8j: JupyterHub 5.0-5.5.0 rendered ?next= unescaped in the "
                              "accept-share page (XSS)")
    made = admin_api.http.post(f"/hub/api/share-codes/{quote(mallory.name)}/r6vscode", json={})
    evidence.fact("share code", f"HTTP {made.status_code}")
    assert made.status_code in (200, 201), f"the admin could not share Mallory's server: HTTP {made.status_code}"
    code = made.json()["code"]
    spawn_probe = "r6nextprobe"
    unsafe = {}
    with hub_user(stack.hub_url, run_users.name("guest6"), approver=admin_api, ca_bundle=stack.ca_bundle) as guest, \
            HubSession(stack.hub_url, stack.ca_bundle) as anonymous:
        try:
            for payload in NEXT_PAYLOADS:
                pages = {
                    "login": anonymous.http.get("/hub/login", params={"next": payload}),
                    "spawn": mallory.session.http.get(f"/hub/spawn/{quote(mallory.name)}/{spawn_probe}",
                                                      params={"next": payload}),
                    "accept-share": guest.session.http.get("/hub/accept-share", params={"code": code,
                                                                                         "next": payload}),
                }
                for page, r in pages.items():
                    evidence.fact(f"{page} next={payload!r}", f"HTTP {r.status_code}")
                    assert r.status_code == 200, f"the {page} page answered HTTP {r.status_code}"
                    if f"<script>{XSS_MARK}" in r.text or re.search(r"""(href|action|src)=["']?\s*javascript:""",
                                                                      r.text, re.I):
                        unsafe[f"{page} ({payload!r})"] = next(
                            (line.strip()[:200] for line in r.text.splitlines() if XSS_MARK in line), "")
        finally:
            admin_api.remove_server(mallory.name, spawn_probe)   # GET /hub/spawn/<user>/<name> records it
            admin_api.http.delete(f"/hub/api/share-codes/{quote(mallory.name)}/r6vscode")
    assert not unsafe, f"`next` rendered live: {unsafe}"


def test_ghsa_h56g_gq9v_vc8r_api_errors_carry_no_traceback(stack, mallory, proxied_apps, evidence):
    """GHSA-h56g-gq9v-vc8r: an API request that makes the user server (jupyter-server) or the hub fail gets
    an error without a traceback (no server paths or code)."""
    evidence.fact("advisory", "GHSA-h56g-gq9v-vc8r: jupyter-server < 2.11.2 sent the traceback of an unhandled "
                              "error in its API responses")
    server = proxied_apps["vscode"].split("/vscode/")[0] + "/"
    malformed = "[1]"   # JSON, but not the object the handlers read: an unhandled error in jupyter-server < 2.11.2
    attempts = {
        "user server: PUT contents": ("PUT", f"{server}api/contents/r6.txt"),
        "user server: POST kernels": ("POST", f"{server}api/kernels"),
        "user server: POST sessions": ("POST", f"{server}api/sessions"),
        "hub: POST tokens": ("POST", f"/hub/api/users/{quote(mallory.name)}/tokens"),
        "hub: POST server": ("POST", f"/hub/api/users/{quote(mallory.name)}/servers/r6%2Fbad"),
        "hub: unknown API": ("GET", "/hub/api/r6-no-such-endpoint"),
    }
    leaked, errors = {}, 0
    for what, (method, path) in attempts.items():
        r = mallory.api.http.request(method, path, content=malformed, headers={"Content-Type": "application/json"})
        evidence.fact(what, f"HTTP {r.status_code} {r.text[:160]}")
        errors += r.status_code >= 400
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if TRACEBACK.search(r.text) or (isinstance(body, dict) and body.get("traceback")):
            leaked[what] = r.text[:300]
    assert errors == len(attempts), "a malformed request was not an error: the check provoked nothing"
    assert not leaked, f"tracebacks in API errors: {leaked}"


@pytest.mark.read_only
def test_csp_frame_ancestors_on_every_hub_page(stack, expected, evidence, request):
    """CSP frame-ancestors on the hub's pages (login, signup, and with a login home, token, spawn, error pages):
    no other site may frame them (clickjacking). Security 2 checks the login page's headers; this, every page."""
    evidence.fact("advisory", "CSP frame-ancestors: hub pages refuse framing by other sites (clickjacking; "
                              "JupyterHub 4.1 made 'none' the default)")
    wanted = {"Content-Security-Policy": expected.data["http"]["security_headers"]["Content-Security-Policy"]}
    paths = ["/hub/login", "/hub/signup", "/hub/r6-no-such-page"]
    with HubSession(stack.hub_url, stack.ca_bundle) as session:
        responses = {path: session.http.get(path) for path in paths}
        if not request.config.getoption("--read-only", default=False):
            user = request.getfixturevalue("mallory")
            responses |= {path: user.session.http.get(path) for path in ("/hub/home", "/hub/token", "/hub/spawn")}
    missing = {}
    for path, r in responses.items():
        evidence.fact(f"{path} (HTTP {r.status_code})", r.headers.get("Content-Security-Policy"))
        if headers_not_matching(r, wanted):
            missing[path] = r.headers.get("Content-Security-Policy")
    assert not missing, f"pages without {wanted}: {missing}"
