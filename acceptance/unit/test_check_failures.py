"""Acceptance checks made to fail on their assertion by a unit test: the check's own function, called with a
deployment that is wrong. The mutation self-test's coverage table counts these (acceptance/mutants.py,
UNIT_CATCHES) beside the breakages: a check seen failing is one that can fail."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from acceptance.expected import load as load_expected
from acceptance.tests import test_p1_images as p1  # the modules: their checks are not collected here
from acceptance.tests import test_p3_profiles as p3
from images.build import HUB_IMAGE, INPUTS_LABEL

SPEC = load_expected()   # the specification's expected state (acceptance/expected/), what the checks are given


def _deployment_with_image_label(label: str):
    image = SimpleNamespace(id="sha256:" + "0" * 64, attrs={"Config": {"Labels": {INPUTS_LABEL: label}}})
    return SimpleNamespace(docker=SimpleNamespace(images=SimpleNamespace(get=lambda tag: image)))


EVIDENCE = SimpleNamespace(fact=lambda *args, **kwargs: None)


@pytest.mark.parametrize("tag", [*SPEC.images, HUB_IMAGE])
def test_the_build_check_fails_on_a_stale_image(tag, monkeypatch):
    """P1's build check on an image whose build-inputs label is not the checkout's (the hub image has no
    breakage of its own: its rebuild would replace the real one)."""
    monkeypatch.delenv("IMAGE_BUILD_STATUS", raising=False)
    with pytest.raises(AssertionError, match="is stale: built from inputs 000000000000"):
        p1.test_image_is_built_from_this_checkout(_deployment_with_image_label("0" * 64), tag, EVIDENCE)


@pytest.mark.parametrize("tag", [*SPEC.images, HUB_IMAGE])
def test_the_build_check_fails_on_an_image_whose_build_failed_in_this_run(tag, tmp_path, monkeypatch):
    status = tmp_path / "image-build.json"
    status.write_text(f'{{"images": [{{"tag": "{tag}", "ok": false, "error": "exit 3"}}]}}')
    monkeypatch.setenv("IMAGE_BUILD_STATUS", str(status))
    with pytest.raises(AssertionError, match=f"the build of {tag} failed in this run: exit 3"):
        p1.test_image_is_built_from_this_checkout(_deployment_with_image_label("0" * 64), tag, EVIDENCE)


def _survey(profile, **facts):
    from acceptance.survey import ProfileSurvey
    return {profile.name: ProfileSurvey(profile, server=f"survey-{profile.id}", container=f"jupyter-u-{profile.id}",
                                        image=profile.image, **facts)}


@pytest.mark.parametrize("profile", SPEC.profiles, ids=lambda p: p.id)
def test_the_imports_check_fails_when_the_servers_python_does_not_run(profile):
    """P3's imports check on a server whose python3 does not run (the specification's six list no imports:
    that the server's Python runs is what their check can find wrong)."""
    survey = _survey(profile, python_error="the imports probe failed (exit 127): sh: 1: python3: not found")
    with pytest.raises(AssertionError, match="python3: not found"):
        p3.test_profile_python_imports_its_packages(survey, profile, EVIDENCE)


@pytest.mark.parametrize("profile", SPEC.profiles, ids=lambda p: p.id)
def test_the_imports_check_fails_on_a_module_that_does_not_import_and_a_command_not_on_path(profile):
    survey = _survey(profile, python={
        "python": "/opt/venv/bin/python3", "version": "3.11.2", "kernel": "/opt/venv/bin/python",
        "imports": {"polars": {"ok": False, "error": "ModuleNotFoundError: No module named 'polars'"}},
        "commands": {"duckdb": None}})
    with pytest.raises(AssertionError, match=r"cannot import polars \(ModuleNotFoundError.*duckdb is not on PATH"):
        p3.test_profile_python_imports_its_packages(survey, profile, EVIDENCE)


class _Image(SimpleNamespace):
    def history(self):
        return [{"Id": f"sha256:{self.tag}", "Size": self.attrs["Size"]}]


def _images(run_output: bytes = b"", **attrs):
    """A deployment whose Docker host has every image with these attrs (Config, Size)."""
    client = SimpleNamespace(images=SimpleNamespace(get=lambda tag: _Image(tag=tag, attrs=attrs)),
                             containers=SimpleNamespace(run=lambda *args, **kwargs: run_output))
    return SimpleNamespace(require_docker=lambda why: client, docker=client, scratch_name=lambda name: name)


def _request():
    from acceptance.report.collect import REPORT_KEY
    collector = SimpleNamespace(set_images=lambda rows: None, set_versions=lambda versions: None)
    return SimpleNamespace(config=SimpleNamespace(stash={REPORT_KEY: collector}))


def test_the_size_check_fails_on_images_larger_than_their_bounds():
    """P1's size check on a host whose single-user images are 20 GB each."""
    with pytest.raises(AssertionError, match="is 20.00 GB, larger than its bound"):
        p1.test_image_sizes_are_recorded(_images(Size=20 * 10**9), SPEC, EVIDENCE, _request())


NEBULA = {"WorkingDir": "/home/nebula", "Cmd": ["jupyterhub-singleuser"]}


@pytest.mark.parametrize("tag", SPEC.images)
@pytest.mark.parametrize(("config", "output", "says"), [
    ({**NEBULA, "WorkingDir": "/root"}, b"", "starts in '/root', expected /home/nebula"),
    ({**NEBULA, "Cmd": ["start-notebook.sh"]}, b"", r"command is \['start-notebook.sh'\]"),
    (NEBULA, b"0\nuv 0.13.9\n5.4.0\n4.4.0\n0.17.0\n-\n", "runs as uid 0, expected 1000"),
], ids=["working-dir", "command", "root"])
def test_the_singleuser_image_check_fails_on_an_image_not_run_as_nebula(tag, config, output, says):
    with pytest.raises(AssertionError, match=says):
        p1.test_single_user_image_runs_jupyterhub_singleuser_as_nebula(
            _images(output, Config=config), SPEC, tag, EVIDENCE, _request())


# ---- checks whose facts come from the hub's API or the browser, given a wrong deployment's answers

def test_the_authenticator_check_fails_on_an_authenticator_that_is_not_native():
    from acceptance.tests import test_p4_auth as p4
    api = SimpleNamespace(info=lambda: {"authenticator": {"class": "jupyterhub.auth.DummyAuthenticator"},
                                        "version": "6.1.1"})
    stack = SimpleNamespace(is_subclass=lambda cls, base: cls.endswith(base.rsplit(".", 1)[-1]))
    with pytest.raises(AssertionError, match="DummyAuthenticator is not a nativeauthenticator"):
        p4.test_authenticator_is_native_authenticator_on_a_supported_jupyterhub(stack, api, SPEC, EVIDENCE)


def test_the_authenticator_check_fails_on_a_jupyterhub_older_than_the_specification():
    from acceptance.tests import test_p4_auth as p4
    api = SimpleNamespace(info=lambda: {"authenticator": {"class": "nativeauthenticator.NativeAuthenticator"},
                                        "version": "4.1.6"})
    stack = SimpleNamespace(is_subclass=lambda cls, base: True)
    with pytest.raises(AssertionError, match="JupyterHub 4.1.6 is older than 5.0"):
        p4.test_authenticator_is_native_authenticator_on_a_supported_jupyterhub(stack, api, SPEC, EVIDENCE)


class _Hub:
    """A HubSession whose hub answers /hub/health with `health` and /hub/api/ with `version`."""
    def __init__(self, health: int, version: str):
        answer = {"/hub/api/": SimpleNamespace(status_code=200, json=lambda: {"version": version})}
        self.http = SimpleNamespace(get=lambda path: answer.get(path, SimpleNamespace(status_code=health)))

    def __call__(self, url, ca_bundle=None):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize(("health", "version", "says"), [(503, "6.1.1", "answered HTTP 503"),
                                                         (200, "4.1.6", "JupyterHub 4.1.6 is older than 5.0")],
                         ids=["unhealthy", "old"])
def test_the_reachability_check_fails_on_an_unhealthy_or_old_hub(health, version, says, monkeypatch):
    from acceptance.tests import test_p2_reachability as p2r
    monkeypatch.setattr(p2r, "HubSession", _Hub(health, version))
    with pytest.raises(AssertionError, match=says):
        p2r.test_the_hub_answers_its_health_check_and_api(SimpleNamespace(hub_url="http://hub", ca_bundle=None), SPEC,
                                                          EVIDENCE)


def test_the_lab_launcher_check_fails_on_a_launcher_without_marimo():
    """T3's landing check's judgement on a Lab whose launcher shows no Marimo entry (jupyter-server-proxy's entry
    disabled). The check itself is seen failing by the breakage t3-lab-lands-on-tree."""
    from acceptance.tests import test_t3_lab_profile as t3
    page = SimpleNamespace(url="http://hub/user/alice/lab?reset")
    lab = SimpleNamespace(page=page, launcher_entries=lambda: ["Python 3 (ipykernel)", "VS Code", "Terminal"])
    evidence = SimpleNamespace(fact=lambda *a, **k: None, screenshot=lambda *a, **k: None)
    with pytest.raises(AssertionError, match=r"launcher lacks \['Marimo'\]"):
        t3.lands_on_lab_with_launcher_entries(lab, ("alice", "pw"), SPEC.checklist_profile("T3"), evidence)


def test_the_load_metrics_check_fails_when_the_hub_counts_fewer_spawns_than_the_users_saw():
    from acceptance.tests import test_l1_load as l1
    run = {"users": 5, "hub_errors": [], "hub_vs_client": {
        "rows": [{"what": "successful spawns", "hub": 3, "client": 5}], "findings": []}}
    evidence = SimpleNamespace(fact=lambda *a, **k: None, text=lambda *a, **k: None)
    with pytest.raises(AssertionError, match="the hub counted 3 successful spawns, the users 5"):
        l1.test_the_hubs_own_metrics_agree_with_what_the_users_measured({"runs": [run]}, evidence)


def test_the_load_cleanup_check_fails_on_users_left_behind():
    from acceptance.tests import test_l1_load as l1
    load_run = {"runs": [{"records": [{"user": "load-1"}, {"user": "load-2"}], "cleanup_problems": []}],
                "cleanup": ["deleted 0 users"]}
    api = SimpleNamespace(http=SimpleNamespace(get=lambda path: SimpleNamespace(status_code=200)))
    with pytest.raises(AssertionError, match=r"users left by the load: \['load-1', 'load-2'\]"):
        l1.test_the_load_leaves_no_user_server_or_volume(load_run, api, SimpleNamespace(),
                                                         SimpleNamespace(docker=False), SPEC, EVIDENCE)


# ---- R6: the advisories' checks, given the answers of a deployment open to each attack

def _answer(status: int = 200, text: str = "", location: str | None = None, content_type: str = "text/html"):
    headers = {"content-type": content_type, **({"location": location} if location else {})}
    return SimpleNamespace(status_code=status, text=text, headers=headers, url=SimpleNamespace(path="/"),
                           json=lambda: {})


class _Session:
    """A HubSession (class and instance) whose every answer is `answer`."""
    def __init__(self, answer):
        self.answer = answer
        self.http = SimpleNamespace(get=lambda *a, **k: answer, request=lambda *a, **k: answer)

    def __call__(self, url, ca_bundle=None):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def post_login(self, *args, **kwargs):
        return self.answer


def test_the_open_redirect_check_fails_on_a_hub_that_follows_next_off_the_hub(monkeypatch):
    """GHSA-3vff-hjqv-m7h8's check on a hub that redirects to whatever `next` says."""
    from acceptance.tests import test_r6_advisories as r6
    evil = _Session(_answer(302, location="//evil.example/"))
    monkeypatch.setattr(r6, "HubSession", evil)
    mallory = SimpleNamespace(name="mallory", password="pw", session=evil)
    with pytest.raises(AssertionError, match="redirects off the hub: .*evil.example"):
        r6.test_ghsa_3vff_hjqv_m7h8_next_never_redirects_off_the_hub(
            SimpleNamespace(hub_url="http://127.0.0.1:8000", ca_bundle=None), mallory, EVIDENCE)


def test_the_websocket_check_fails_on_proxied_apps_that_take_anonymous_websockets(monkeypatch):
    """GHSA-w3vc-fx9p-wp4v's check on a jupyter-server-proxy that upgrades a websocket without a cookie or token."""
    from acceptance.tests import test_r6_advisories as r6
    monkeypatch.setattr(r6, "HubSession", _Session(_answer()))
    monkeypatch.setattr(r6, "websocket_handshake", lambda http, path: SimpleNamespace(status_code=101))
    mallory = SimpleNamespace(api=SimpleNamespace(http=None))
    apps = {"vscode": "/user/mallory/r6vscode/vscode/", "marimo": "/user/mallory/r6marimo/proxy/marimo/"}
    with pytest.raises(AssertionError, match="anonymous websockets accepted: .*vscode.*marimo"):
        r6.test_ghsa_w3vc_fx9p_wp4v_proxied_apps_refuse_anonymous_websockets(
            SimpleNamespace(hub_url="http://127.0.0.1:8000", ca_bundle=None), mallory, apps, EVIDENCE)


def test_the_traceback_check_fails_on_api_errors_that_carry_the_traceback():
    """GHSA-h56g-gq9v-vc8r's check on servers whose API errors carry the traceback (jupyter-server < 2.11.2)."""
    from acceptance.tests import test_r6_advisories as r6
    leak = _answer(500, 'Traceback (most recent call last):\n  File "/opt/venv/lib/handlers.py", line 7, in put')
    mallory = SimpleNamespace(name="mallory", api=SimpleNamespace(http=SimpleNamespace(request=lambda *a, **k: leak)))
    apps = {"vscode": "/user/mallory/r6vscode/vscode/", "marimo": "/user/mallory/r6marimo/proxy/marimo/"}
    with pytest.raises(AssertionError, match="tracebacks in API errors"):
        r6.test_ghsa_h56g_gq9v_vc8r_api_errors_carry_no_traceback(
            SimpleNamespace(hub_url="http://127.0.0.1:8000", ca_bundle=None), mallory, apps, EVIDENCE)


# ---- R1: the bad-input checks, given the pages of a hub that accepts whatever it is sent

class _AcceptingPage:
    """The signup or login page of a hub that accepts everything: every signup succeeds, no login is refused,
    the browser sends empty forms."""
    def __init__(self, page):
        self.page = page

    def open(self):
        return self

    def sign_up(self, *args):
        return "The signup was successful. You can now go to the home page and log in to the system"

    def refused(self, *args, **kwargs):
        return ""

    def log_in(self, *args, **kwargs):
        return None

    def fill(self, *args):
        return None

    def browser_refusal(self):
        return ""


def _r1(monkeypatch):
    from acceptance.tests import test_r1_bad_input as r1
    monkeypatch.setattr(r1, "SignupPage", _AcceptingPage)
    monkeypatch.setattr(r1, "LoginPage", _AcceptingPage)
    return r1


_R1_STACK = SimpleNamespace(native_accounts=lambda names: {}, hub_url="http://127.0.0.1:8000")
_TALLY = lambda *args: None  # noqa: E731


def _r1_cases(name):
    from acceptance.tests import test_r1_bad_input as r1
    return pytest.mark.parametrize("case", getattr(r1, name), ids=[c[0] for c in getattr(r1, name)])


@_r1_cases("SIGNUP_CASES")
def test_the_bad_signup_check_fails_on_a_hub_that_accepts_every_signup(case, monkeypatch):
    r1 = _r1(monkeypatch)
    run_users = SimpleNamespace(track=lambda name: name, prefix="r1-")
    with pytest.raises(AssertionError, match="signup of .*: 'The signup was successful"):
        r1.test_bad_signup_is_refused_clearly_and_changes_nothing(
            _R1_STACK, ("admin", "pw"), run_users, SimpleNamespace(), _TALLY, EVIDENCE, *case[1:])


@_r1_cases("LOGIN_CASES")
def test_the_bad_login_check_fails_on_a_hub_that_refuses_no_login(case, monkeypatch):
    r1 = _r1(monkeypatch)
    run_users = SimpleNamespace(prefix="r1-")
    with pytest.raises(AssertionError, match="login as .*: ''"):
        r1.test_bad_login_is_refused_clearly_and_changes_nothing(
            _R1_STACK, ("victim", "pw"), run_users, SimpleNamespace(), _TALLY, EVIDENCE, *case[1:])


def test_the_empty_username_check_fails_when_the_browser_sends_an_empty_signup(monkeypatch):
    r1 = _r1(monkeypatch)
    with pytest.raises(AssertionError, match="the browser sent a signup with no username"):
        r1.test_empty_username_is_refused_by_the_form_and_the_hub(_R1_STACK, ("admin", "pw"), SimpleNamespace(),
                                                                 _TALLY, EVIDENCE)


def test_the_empty_login_check_fails_when_the_browser_sends_an_empty_login(monkeypatch):
    r1 = _r1(monkeypatch)
    element = SimpleNamespace(click=lambda: None, evaluate=lambda script: "")
    page = SimpleNamespace(locator=lambda selector: element, url="http://127.0.0.1:8000/hub/spawn")
    with pytest.raises(AssertionError):
        r1.test_empty_login_form_is_refused(_R1_STACK, page, _TALLY, EVIDENCE)


# ---- R5: the secrets checks, given a deployment whose secret was committed or is shared

SECRET = "ab" * 32


def test_the_secrets_scan_fails_on_a_secret_committed_to_the_repository(tmp_path, monkeypatch):
    from acceptance.tests import test_r5_secrets as r5
    committed = tmp_path / "stack" / "jupyterhub_config.py"
    committed.parent.mkdir()
    committed.write_text(f'c.ConfigurableHTTPProxy.auth_token = "{SECRET}"\n')
    monkeypatch.setattr(r5, "ROOT", tmp_path)
    monkeypatch.setattr(r5, "repository_files", lambda: [committed])
    stack = SimpleNamespace(secrets=lambda: {"jupyterhub_cookie_secret": "cd" * 32, "proxy_auth_token": SECRET})
    with pytest.raises(AssertionError, match=r"secrets in the repository: \['stack/jupyterhub_config.py'\]"):
        r5.test_secrets_are_in_no_repository_file_image_or_container_setting(stack, EVIDENCE)


def test_the_fresh_stacks_check_fails_when_two_stacks_share_their_secrets(monkeypatch):
    """Two fresh stacks with the same secrets (a fixed token, a volume shared by name)."""
    from acceptance.tests import test_r5_secrets as r5
    same = {"jupyterhub_cookie_secret": "cd" * 32, "proxy_auth_token": SECRET}
    other = SimpleNamespace(up=lambda: None, down=lambda: None, secrets=lambda: same, project="jhv-other")
    monkeypatch.setattr(r5, "StackRun", lambda: other)
    stack = SimpleNamespace(secrets=lambda: same, project="jhv-ours")
    with pytest.raises(AssertionError, match="two fresh stacks share the jupyterhub_cookie_secret"):
        r5.test_two_fresh_stacks_get_different_secrets(stack, EVIDENCE)


def test_the_next_escaping_check_fails_on_pages_that_render_next_live(monkeypatch):
    """GHSA-c4gm-pwx9-9w8j's check on a hub whose login, spawn and accept-share pages render `next` unescaped."""
    import contextlib

    from acceptance.tests import test_r6_advisories as r6
    live = _Session(_answer(200, text=f'<a href="/hub/home"><script>{r6.XSS_MARK}</script>">next</a>'))
    monkeypatch.setattr(r6, "HubSession", live)
    monkeypatch.setattr(r6, "hub_user", lambda *args, **kwargs: contextlib.nullcontext(SimpleNamespace(session=live)))
    made = SimpleNamespace(status_code=201, json=lambda: {"code": "share-code"})
    admin_api = SimpleNamespace(http=SimpleNamespace(post=lambda *a, **k: made, delete=lambda *a, **k: None),
                                remove_server=lambda *a: None)
    mallory = SimpleNamespace(name="mallory", session=live)
    run_users = SimpleNamespace(name=lambda name: name)
    with pytest.raises(AssertionError, match="`next` rendered live: .*login.*spawn.*accept-share"):
        r6.test_ghsa_c4gm_pwx9_9w8j_next_is_escaped_in_login_spawn_and_accept_share(
            SimpleNamespace(hub_url="http://127.0.0.1:8000", ca_bundle=None), mallory, run_users, admin_api, {},
            EVIDENCE)


@pytest.mark.parametrize(("after", "says"), [
    ('{status="success"} 3\n', "the spawn count went from 3.0 to 3.0"),
    ('{status="success"} 4\n', r"spawns slower than 30.0 s"),
], ids=["not-counted", "slower-than-the-buckets"])
def test_the_spawn_metrics_check_fails_on_a_hub_whose_metrics_miss_the_spawn(after, says, monkeypatch):
    """R7's spawn-metrics check on a hub whose /hub/metrics does not count the spawn, or whose histogram's
    largest finite bucket is below a spawn it saw."""
    from acceptance.tests import test_r7_production as r7
    prod = SPEC.data["stacks"]["production"]["production"]
    counter, histogram = prod["metrics"]["spawn_counter"], prod["metrics"]["spawn_histogram"]
    pages = iter([f'{counter}{{status="success"}} 3\n',
                  f"{counter}{after}{histogram}{{le=\"30.0\",status=\"success\"}} 3\n"
                  f"{histogram}{{le=\"+Inf\",status=\"success\"}} 4\n"])
    monkeypatch.setattr(r7, "metrics", lambda url, token: SimpleNamespace(text=next(pages)))
    monkeypatch.setattr(r7, "read_offered_profiles", lambda *args: {})
    spawned = SimpleNamespace(spawn_seconds=42.0)
    monkeypatch.setattr(r7, "Servers", lambda *args: SimpleNamespace(start=lambda *a: spawned,
                                                                     stop_all_started=lambda: None))
    paula = SimpleNamespace(name="paula", password="pw", api=None)
    with pytest.raises(AssertionError, match=says):
        r7.test_spawn_metrics_move_with_spawns_and_buckets_cover_the_slowest(
            SimpleNamespace(hub_url="https://127.0.0.1", ca_bundle=None), paula, None, "token", prod, SPEC, EVIDENCE)


def test_the_certificate_check_fails_on_a_certificate_about_to_expire(monkeypatch):
    """R2's certificate check on an https:// hub whose certificate expires in 3 days."""
    import contextlib
    import ssl
    from datetime import UTC, datetime, timedelta

    from acceptance.tests import test_r2_transport as r2t
    expires = (datetime.now(UTC) + timedelta(days=3, hours=12)).strftime("%b %d %H:%M:%S %Y GMT")
    cert = {"notAfter": expires, "subject": ((("commonName", "hub.example.org"),),)}
    tls = SimpleNamespace(getpeercert=lambda: cert)
    context = SimpleNamespace(wrap_socket=lambda raw, server_hostname: contextlib.nullcontext(tls))
    monkeypatch.setattr(r2t, "ssl", SimpleNamespace(create_default_context=lambda cafile: context,
                                                    cert_time_to_seconds=ssl.cert_time_to_seconds))
    monkeypatch.setattr(r2t, "socket", SimpleNamespace(create_connection=lambda *a, **k: contextlib.nullcontext()))
    with pytest.raises(AssertionError, match="the certificate expires in 3 days"):
        r2t.test_the_tls_certificate_is_valid_and_not_about_to_expire(
            SimpleNamespace(hub_url="https://hub.example.org", ca_bundle=None), SPEC, EVIDENCE)


def test_the_browser_isolation_check_fails_when_bob_reaches_alices_lab(monkeypatch):
    """R2's browser check on a hub that lets Bob's browser open Alice's Lab (HTTP 200 at her URL)."""
    from acceptance.tests import test_r2_isolation as r2
    monkeypatch.setattr(r2, "LoginPage", _AcceptingPage)
    page = SimpleNamespace(url="http://127.0.0.1:8000/user/alice/lab", goto=lambda url: SimpleNamespace(status=200))
    evidence = SimpleNamespace(fact=lambda *a, **k: None, screenshot=lambda *a, **k: None)
    alice, bob = SimpleNamespace(name="alice"), SimpleNamespace(name="bob", password="pw")
    with pytest.raises(AssertionError, match="Bob reached http://127.0.0.1:8000/user/alice/lab"):
        r2.test_another_user_in_the_browser_sees_no_server_of_anothers(None, alice, bob, None, page, _TALLY, evidence)


def test_the_cpu_cap_check_fails_on_a_container_that_uses_more_than_its_cap():
    """T8's CPU-burn check on a 4-core host whose 1-CPU server burns 3.9 CPUs (its cap not applied)."""
    from acceptance.tests import test_t8_resource_limits as t8
    burn = SimpleNamespace(exit_code=0, output=b"burners 4\n3.90\n")
    running = SimpleNamespace(container=SimpleNamespace(exec_run=lambda *a, **k: burn))
    servers = SimpleNamespace(start=lambda *a: running, stop=lambda *a: None)
    stack = SimpleNamespace(require_docker=lambda why: SimpleNamespace(info=lambda: {"NCPU": 4}))
    with pytest.raises(AssertionError, match=r"used 3.90 CPUs, its cap is 1"):
        t8.test_cpu_use_is_capped_at_the_profile_quota(servers, stack, ("alice", "pw"), SPEC, EVIDENCE)


# ---- checks that start servers, given a deployment whose servers behave wrongly

def test_the_restart_check_fails_when_the_restarts_lose_a_token(monkeypatch):
    """R7's restart check on a production stack whose PostgreSQL and hub restarts lose paula's token."""
    from acceptance.tests import test_r7_production as r7
    states = iter([{"paula": {"servers": ["db-restart"], "tokens": ["a1", "a2"]}},
                   {"paula": {"servers": ["db-restart"], "tokens": ["a1"]}}])
    monkeypatch.setattr(r7, "hub_state", lambda api: next(states))
    monkeypatch.setattr(r7, "read_offered_profiles", lambda *args: {})
    monkeypatch.setattr(r7, "Servers", lambda *args: SimpleNamespace(start=lambda *a: None,
                                                                     stop_all_started=lambda: None))
    stack = SimpleNamespace(hub_url="https://127.0.0.1", restart_db=lambda: None, restart_hub=lambda: None)
    admin_api = SimpleNamespace(server=lambda *a: {"ready": True})
    paula = SimpleNamespace(name="paula", password="pw", api=None)
    with pytest.raises(AssertionError, match="changed by the restarts"):
        r7.test_hub_and_database_restarts_lose_no_user_server_or_token(stack, paula, admin_api, SPEC, EVIDENCE,
                                                                       _TALLY)


def test_the_named_servers_check_fails_when_a_named_server_stops_the_default_one():
    from acceptance.tests import test_p2_stack as p2
    models = {"": {"ready": False}, "side-by-side": {"ready": True}}
    servers = SimpleNamespace(start=lambda *a: None, api=SimpleNamespace(user=lambda user: {"servers": models}))
    with pytest.raises(AssertionError, match="starting the named server stopped the default one"):
        p2.test_named_servers_run_side_by_side(servers, ("alice", "pw"), SPEC, EVIDENCE)


def test_the_admin_access_check_fails_when_the_admin_gets_403_at_a_users_server():
    from acceptance.tests import test_p2_stack as p2
    admin_api = SimpleNamespace(http=SimpleNamespace(post=lambda *a: None, delete=lambda *a: None),
                                server_get=lambda *a, **k: SimpleNamespace(status_code=403))
    servers = SimpleNamespace(start=lambda *a: SimpleNamespace(url="/user/p2-user/"), stop_all_started=lambda: None)
    run_users = SimpleNamespace(name=lambda name: name)
    with pytest.raises(AssertionError, match="the admin got HTTP 403 at /user/p2-user/api/status"):
        p2.test_the_admin_reaches_a_users_server(None, admin_api, servers, run_users, SPEC, EVIDENCE)


class _App:
    """A VS Code or marimo page that loads at `url` (the launcher opened the wrong thing)."""
    def __init__(self, page):
        self.page = page

    def wait_loaded(self):
        return self

    wait_home_loaded = wait_loaded


def _launcher(monkeypatch, page_class: str):
    """T3's module with `page_class` loading whatever page the launcher opened, and a Lab whose launcher entries
    open the Lab itself."""
    from acceptance.tests import test_t3_lab_profile as t3
    monkeypatch.setattr(t3, page_class, _App)
    opened = SimpleNamespace(url="http://127.0.0.1:8000/user/alice/lab/tree")
    return t3, SimpleNamespace(open_from_launcher=lambda title: opened)


_SCREENSHOTS = SimpleNamespace(fact=lambda *a, **k: None, screenshot=lambda *a, **k: None)


def test_the_launcher_vscode_check_fails_when_the_entry_opens_something_else(monkeypatch):
    t3, lab = _launcher(monkeypatch, "VSCodePage")
    with pytest.raises(AssertionError, match="/user/alice/vscode/"):
        t3.test_launcher_vscode_entry_opens_vscode(lab, ("alice", "pw"), _SCREENSHOTS)


def test_the_launcher_marimo_check_fails_when_the_entry_opens_something_else(monkeypatch):
    t3, lab = _launcher(monkeypatch, "MarimoPage")
    with pytest.raises(AssertionError, match="/user/alice/proxy/marimo/"):
        t3.test_launcher_marimo_entry_opens_marimo(lab, ("alice", "pw"), _SCREENSHOTS)


def test_the_culler_check_fails_when_the_culler_stops_the_active_server_too(monkeypatch):
    """R7's culler check on a stack whose culler stops both servers (it never sees the active one's use)."""
    from acceptance.tests import test_r7_production as r7
    session = SimpleNamespace(login=lambda *a: None, create_token=lambda *a: "token")
    api = SimpleNamespace(server=lambda user, name: None, server_get=lambda *a, **k: None)
    monkeypatch.setattr(r7, "sign_up", lambda hub, name, ca_bundle: "pw")
    monkeypatch.setattr(r7, "HubSession", lambda hub, ca_bundle: _Context(session))
    monkeypatch.setattr(r7, "HubAPI", lambda hub, token, ca_bundle: _Context(api))
    monkeypatch.setattr(r7, "read_offered_profiles", lambda *args: {})
    monkeypatch.setattr(r7, "Servers", lambda *args: SimpleNamespace(start=lambda *a: None,
                                                                     write_home_file=lambda *a: None,
                                                                     stop_all_started=lambda: None))
    monkeypatch.setattr(r7, "wait_for", lambda predicate, **kwargs: predicate())
    prod = SPEC.data["stacks"]["production"]["production"]
    with pytest.raises(AssertionError, match="the culler stopped the active server"):
        r7.test_the_culler_stops_an_idle_server_keeps_an_active_one_and_files_survive(
            SimpleNamespace(hub_url="https://127.0.0.1", ca_bundle=None), prod, SPEC, EVIDENCE)


class _Context:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False
