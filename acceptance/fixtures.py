"""Fixtures: the stack a run starts, hub sessions and accounts, the browser."""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import expect

from acceptance import expected as expected_state
from acceptance import mode
from acceptance.deployment import Deployment, ExistingDeployment
from acceptance.expected import ExpectedState
from acceptance.hub_api import HubAPI, HubSession
from acceptance.pages import LoginPage
from acceptance.production import ProductionRun
from acceptance.report.plugin import get_collector
from acceptance.servers import Servers, read_offered_profiles
from acceptance.settings import Timeouts
from acceptance.stack import StackError, StackRun
from acceptance.survey import ProfileSurvey, survey_profile
from acceptance.swarm import SwarmRun
from acceptance.verify import RunUsers, environment_docker

expect.set_options(timeout=Timeouts.ui * 1000)
STACKS = {"compose": StackRun, "swarm": SwarmRun, "production": ProductionRun}   # --stack

CHROMIUM_FLAGS = [
    "--no-sandbox",  # runs as root on CI hosts
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # keep Chromium from calling out to the internet (tests reach 127.0.0.1 only)
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Workaround (Chromium, not the platform): Chromium ends HTTP/2 streams in flight with ERR_NETWORK_CHANGED
    # when Docker adds or removes a container's veth on the host the browser runs on, so a Stop through the
    # production stack's nginx (HTTP/2) lost its answer. Goes when the browser runs off the Docker host.
    "--disable-http2",
]


def pytest_addoption(parser):
    group = parser.getgroup("acceptance")
    group.addoption("--keep-stack", action="store_true", help="leave the test stack running after the run (debugging)")
    group.addoption("--expect", metavar="FILE", default=None,
                    help=f"the expected-state file to verify against (default: {expected_state.DEFAULT_FILE})")
    group.addoption("--expect-extra", metavar="FILE", action="append", default=[],
                    help="an overlay adding profiles (a site's custom images) to the expected state, with what "
                         "each must import; repeatable (acceptance/expected.py, overlay)")


def pytest_configure(config):
    # before collection: test modules parametrize over the expected profiles
    try:
        state = expected_state.use(config.getoption("--expect"), config.getoption("--expect-extra"))
        state = expected_state.use_stack(config.getoption("--stack"))
    except expected_state.ExpectedStateError as exc:
        raise pytest.UsageError(str(exc)) from None
    get_collector(config).set_expected_state(str(state.path), state.sha256)
    for i, (path, sha256) in enumerate(state.overlays, 1):
        added = [p.name for p in state.profiles if p.source == path.name]
        get_collector(config).set_info(f"Expected-state overlay ({i})", f"{path} (sha256 {sha256[:16]}): adds "
                                                                        + " | ".join(added))


def pytest_collection_modifyitems(config, items):
    # Test 1 signs up the admin account the other steps log in with: run it first; the load stage last.
    items.sort(key=lambda item: 0 if item.get_closest_marker("t1") else 2 if item.get_closest_marker("l1") else 1)


@dataclass
class Accounts:
    """Accounts created during the run: username -> password."""

    passwords: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def new_password() -> str:
        return "Pw-" + secrets.token_urlsafe(12)


@pytest.fixture(scope="session")
def stack(request, expected) -> Deployment:
    """The platform under test: started once per run, removed at the end (and the removal checked); in a
    verify run, the deployment at --hub-url, left as it is."""
    collector = get_collector(request.config)
    if mode.current.verify:
        yield existing_deployment(mode.current, expected, collector)
        return
    run = STACKS[mode.current.stack]()
    collector.set_info("Stack", f"{mode.current.stack} ({run.kind_text})")
    for i, difference in enumerate(expected.stack_differences(), 1):
        collector.set_info(f"Differs from compose ({i})", difference)
    collector.set_info("Compose project" if run.kind == "compose" else "Stack name", run.project)
    collector.set_info("Name prefix", run.prefix)
    collector.set_info("Hub URL", run.hub_url)
    try:
        run.up()
    except StackError as exc:
        collector.set_stack_error(str(exc))
        collector.add_run_attachment("hub log", run.hub_logs(400))
        _teardown(run, request, collector)
        pytest.fail(f"the stack did not start: {exc}", pytrace=False)
    collector.set_versions(_versions(run))
    yield run
    if request.session.testsfailed:
        for label, text in run.diagnostics().items():
            collector.add_run_attachment(label, text)
    _teardown(run, request, collector)


def existing_deployment(m: mode.RunMode, expected, collector) -> ExistingDeployment:
    deployment = ExistingDeployment(m.hub_url, environment_docker() if m.docker else None,
                                    expected.name("hub_container", prefix=m.deployment_prefix, project=m.project),
                                    m.deployment_prefix, m.project)
    try:
        with HubSession(m.hub_url) as session:
            info = session.http.get("/hub/api/")
        version = info.json()["version"]
    except Exception as exc:  # noqa: BLE001 - any way of not answering is the same finding
        collector.set_stack_error(f"the deployment at {m.hub_url} does not answer as a JupyterHub: {exc}")
        pytest.fail(f"the deployment at {m.hub_url} does not answer as a JupyterHub: {exc}", pytrace=False)
    collector.set_versions({"JupyterHub (deployment)": version})
    return deployment


def _teardown(run: StackRun, request, collector) -> None:
    if request.config.getoption("--keep-stack"):
        collector.set_info("Stack kept", f"{run.project} at {run.hub_url} (--keep-stack)")
        return
    try:
        run.down()
    except StackError as exc:
        collector.add_run_attachment("clean-up", str(exc))
        raise


def _versions(run: StackRun) -> dict[str, str]:
    script = (
        "import importlib.metadata as m, platform\n"
        "for d in ('jupyterhub','dockerspawner','wrapspawner','jupyterhub-nativeauthenticator'):\n"
        "    print(d, m.version(d))\n"
        "print('python', platform.python_version())\n"
    )
    out = run.hub_python(script)
    versions = dict(line.split(" ", 1) for line in out.strip().splitlines())
    versions["configurable-http-proxy"] = run.hub_exec("configurable-http-proxy", "--version").strip()
    info = run.docker.version()
    versions["Docker engine"] = f"{info.get('Version')} (API {info.get('ApiVersion')})"
    versions["docker compose"] = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True,
                                                text=True).stdout.strip()
    return versions


def another_stack(request, label: str, **kwargs):
    """A second compose stack: another_stack_of(StackRun, ...)."""
    return another_stack_of(StackRun, request, label, **kwargs)


@contextmanager
def another_stack_of(kind: type[StackRun], request, label: str, **kwargs):
    """A second copy of the platform (its own project, prefix and port): started with `kwargs`
    (StackRun's extra_env, extra_profiles), removed afterwards, clean-up checked. Its hub log and
    containers are attached to the report when a test failed meanwhile.
    Use it from session-scoped fixtures: pytest-playwright's browser parametrization reorders tests
    across modules, so a module-scoped fixture may be set up twice."""
    collector = get_collector(request.config)
    run = kind(**kwargs)
    collector.set_info(f"{label} stack", f"{run.project} at {run.hub_url}")
    failed_before = request.session.testsfailed
    try:
        run.up()
        yield run
    finally:
        if request.session.testsfailed > failed_before:
            for name, text in run.diagnostics().items():
                collector.add_run_attachment(f"{label} stack: {name}", text)
        run.down()


def sign_up(hub_url: str, username: str, password: str | None = None, approver: HubAPI | None = None) -> str:
    """Sign a user up over HTTP (the browser flow is Test 1's); returns the password. A signup that waits
    for the admin's approval is approved by `approver` (the admin's API) when one is given."""
    password = password or Accounts.new_password()
    with HubSession(hub_url) as session:
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
def hub_user(hub_url: str, name: str, approver: HubAPI | None = None):
    """Sign `name` up, log in (the hub makes its user record at the first login), make a token."""
    password = sign_up(hub_url, name, approver=approver)
    session = HubSession(hub_url)
    session.login(name, password)
    user = HubUser(name, password, session, HubAPI(hub_url, session.create_token(name, "acceptance harness")))
    try:
        yield user
    finally:
        user.close()


@pytest.fixture(scope="session")
def accounts() -> Accounts:
    return Accounts()


@pytest.fixture(scope="session")
def expected() -> ExpectedState:
    """What the specification says the deployment is (acceptance/expected/, or --expect FILE)."""
    return expected_state.current()


@pytest.fixture(scope="session")
def admin(stack, accounts, expected) -> tuple[str, str | None]:
    """The admin's (username, password). Test 1 signs it up in the browser; when Test 1
    was not selected (or failed before signing up) it is signed up here over HTTP. In a verify
    run: the credentials given (password None when only a token was)."""
    if mode.current.verify:
        creds = mode.current.credentials
        if creds.username and creds.password:
            return creds.username, creds.password
        with HubAPI(stack.hub_url, creds.token) as api:
            return api.get("/user")["name"], None
    name = expected.admin
    if name not in accounts.passwords:
        accounts.passwords[name] = sign_up(stack.hub_url, name)
    return name, accounts.passwords[name]


def admin_password(admin) -> str:
    """The admin's password, for checks in the admin's browser; skipped as not verifiable without it."""
    if admin[1] is None:
        pytest.skip("not verifiable with a token only: the admin's browser checks need "
                    "JUPYTERHUB_ADMIN_USER and JUPYTERHUB_ADMIN_PASSWORD")
    return admin[1]


@pytest.fixture(scope="session")
def admin_api(stack, admin) -> HubAPI:
    """The hub REST API with a token of the admin (a verify run's given token, or one made for the run
    and deleted at its end)."""
    if mode.current.verify and mode.current.credentials.token:
        api = HubAPI(stack.hub_url, mode.current.credentials.token)
        yield api
        api.close()
        return
    note = f"acceptance harness {mode.current.user_prefix}".strip()
    with HubSession(stack.hub_url) as session:
        session.login(*admin)
        token = session.create_token(admin[0], note, expires_in=4 * 3600)
        api = HubAPI(stack.hub_url, token)
        api.session = session   # approvals at /hub/authorize need the admin's login cookie
        yield api
        api.session = None
    if mode.current.verify:
        api.delete_tokens_noted(admin[0], note)
    api.close()


@pytest.fixture(scope="session")
def run_users(stack, admin_api, request) -> RunUsers:
    """Names every user the run makes (`run_users.name("alice")`); in a verify run they carry the run's
    prefix and are deleted at the end, with their servers and, with Docker access, their volumes."""
    users = RunUsers(mode.current)
    yield users
    if not mode.current.verify:
        return
    collector = get_collector(request.config)
    left = users.remove_all(admin_api, stack, collector)
    collector.set_info("Clean-up", f"{len(users.made)} user names the run used: removed with their servers"
                       + (f"; LEFT: {left}" if left else "; nothing left"))
    if left:
        raise AssertionError(f"the verify run could not remove what it made: {left}")


@pytest.fixture(scope="session")
def checklist_user(stack, admin, run_users, accounts, request) -> tuple[str, str]:
    """(name, password) of the user who performs the checklist's server steps (Tests 2-6): the admin on
    the harness's own stack, as the specification does; a user the run makes in a verify run (the
    deployment's admin keeps its servers)."""
    if not mode.current.verify:
        return admin[0], admin_password(admin)
    name = run_users.name("checker")
    if name not in accounts.passwords:
        accounts.passwords[name] = sign_up(stack.hub_url, name, approver=request.getfixturevalue("admin_api"))
    return name, accounts.passwords[name]


# --- browser -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, playwright):
    """Playwright's own Chromium where installed, else the system one (PLAYWRIGHT_CHROMIUM or PATH)."""
    args = {**browser_type_launch_args, "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_FLAGS]}
    if not Path(playwright.chromium.executable_path).exists():
        system = os.environ.get("PLAYWRIGHT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
        if not system:
            pytest.exit("no Chromium found: run stack/provision-host.sh (or set PLAYWRIGHT_CHROMIUM)", returncode=4)
        args["executable_path"] = system
    return args


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, stack):
    # a base URL ending in "/": page objects open relative paths ("hub/login"), so a hub under a prefix works.
    # Chromium cannot be given the run's --ca-bundle: it skips certificate checks then, and the TLS check
    # verifies the certificate with the bundle instead.
    return {**browser_context_args, "base_url": stack.hub_url + "/", "viewport": {"width": 1400, "height": 900},
            "ignore_https_errors": bool(mode.current.ca_bundle)}


@pytest.fixture
def context(context, request):
    get_collector(request.config).set_versions({"Chromium": context.browser.version})
    context.set_default_timeout(Timeouts.ui * 1000)
    context.set_default_navigation_timeout(Timeouts.navigation * 1000)
    return context


@pytest.fixture
def admin_page(page, admin):
    """A fresh browser context logged in as the admin, on /hub/home."""
    LoginPage(page).open().log_in(admin[0], admin_password(admin))
    return page


@pytest.fixture
def user_page(page, checklist_user):
    """A fresh browser context logged in as the checklist user, on /hub/home."""
    LoginPage(page).open().log_in(*checklist_user)
    return page


@pytest.fixture(autouse=True)
def _diagnostics_on_failure(request, evidence):
    """On failure, attach the hub log and every run container's log and `docker inspect`."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed or "stack" not in request.fixturenames:
        return
    run: Deployment = request.getfixturevalue("stack")
    for label, text in run.diagnostics(only=mode.current.user_prefix).items():
        evidence.text(label, text)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def offered_profiles(stack, checklist_user, admin_api) -> dict[str, str]:
    """The profiles the running hub's spawn form offers: {display name: form value}."""
    return read_offered_profiles(stack.hub_url, *checklist_user, admin_api)


@pytest.fixture(scope="session")
def profile_survey(stack, checklist_user, admin_api, offered_profiles, expected) -> dict[str, ProfileSurvey]:
    """Every expected profile started once through the REST API and what the deployment showed of it."""
    s = Servers(admin_api, stack, offered_profiles)
    try:
        return {p.name: survey_profile(s, checklist_user[0], p) for p in expected.profiles}
    finally:
        s.stop_all_started()


@pytest.fixture
def servers(admin_api, stack, offered_profiles):
    """Start user servers through the REST API; the ones started are stopped afterwards."""
    s = Servers(admin_api, stack, offered_profiles)
    yield s
    s.stop_all_started()
