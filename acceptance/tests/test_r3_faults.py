"""Reliability 3: Faults, Nothing Lost - a hub restart, a user container killed from outside, a profile
whose image is missing, and `docker compose down` then `up`: the platform recovers, and no server, account
or file is lost. (A process past its memory limit: Test 8.)"""
import re
import time

import httpx
import pytest

from acceptance.client.accounts import hub_user
from acceptance.client.hub_api import HubSession
from acceptance.client.pages import HomePage, LoginPage
from acceptance.client.polling import wait_for
from acceptance.client.servers import Servers, read_offered_profiles
from acceptance.settings import Timeouts
from acceptance.tests.flows import another_stack

pytestmark = pytest.mark.r3
# a profile the harness adds to a second stack's profile file: its image does not exist
MISSING = {"key": "missing-image", "name": "Missing image - 1 CPU / 1GB", "image": "local/no-such-image:latest",
           "cpus": 1, "memory": "1G", "default_url": "/lab", "app": "lab"}


@pytest.fixture(scope="session")
def carol(stack, run_users, admin_api):
    with hub_user(stack.hub_url, run_users.name("carol"), approver=admin_api, ca_bundle=stack.ca_bundle) as user:
        yield user


@pytest.fixture
def carols_servers(carol, stack, offered_profiles, admin_api):
    """Carol starting and stopping her own servers with her own token."""
    s = Servers(carol.api, stack, offered_profiles, admin_api)
    yield s
    s.stop_all_started()


def count_lost_files(servers: Servers, files: dict[tuple[str, str], tuple[str, str]]) -> int:
    """How many of {(user, server): (filename, content)} are gone or changed."""
    return sum(servers.home_file(user, name, filename) != content
               for (user, name), (filename, content) in files.items())


def kept(servers: Servers, before) -> bool:
    """The server runs on in the same container, and the hub reports it ready."""
    if not servers.container_exists(before.user, before.name):
        return False
    container = servers.container(before.user, before.name)
    return (container.id == before.container.id and container.status == "running"
            and bool((servers.api.server(before.user, before.name) or {}).get("ready")))


@pytest.mark.disruptive
@pytest.mark.swarm   # also on the swarm stack: a hub service restarted keeps its servers
def test_servers_sessions_and_files_survive_a_hub_restart(stack, servers, checklist_user, carol, carols_servers, page,
                                                           tally, evidence, first_profile):
    """The hub restarts while two users' servers run: the servers keep running (same containers), the
    hub re-attaches, the user's browser session still works, no file is lost."""
    me = checklist_user[0]
    running = {(me, "r3-restart"): servers.start(me, "r3-restart", first_profile),
               (carol.name, ""): carols_servers.start(carol.name, "", first_profile)}
    files = {key: (f"before-restart-{key[0]}.txt", f"{key[0]} wrote this before the hub restart")
             for key in running}
    for (user, name), (filename, content) in files.items():
        servers.write_home_file(user, name, filename, content)
    LoginPage(page).open().log_in(carol.name, carol.password)

    stack.restart_hub()
    tally("faults injected")

    lost = [f"{u}/{n or '(default)'}" for (u, n), before in running.items() if not kept(servers, before)]
    tally("servers lost on hub restart", len(lost))
    evidence.fact("servers kept", f"{len(running) - len(lost)} of {len(running)}")
    assert not lost, f"servers lost on hub restart (container gone, replaced or not ready): {lost}"
    lost_files = count_lost_files(servers, files)
    tally("files lost", lost_files)
    assert lost_files == 0
    # her server checks her token with the hub: it answers once it reaches the restarted hub (on a swarm, the
    # hub's name may name the stopped task for a moment)
    restarted = time.monotonic()
    wait_for(lambda: carol.api.server_get(f"/user/{carol.name}/api/status", timeout=5).status_code == 200,
             timeout=Timeouts.hub_ready, what="Carol's server to answer her after the hub restart")
    evidence.fact("Carol's server answered her", f"{time.monotonic() - restarted:.0f} s after the hub was back")
    HomePage(page).open()
    evidence.screenshot(page, "Carol's home after the restart")
    assert page.url.endswith("/hub/home"), f"Carol's browser session ended with the restart: at {page.url}"


def test_a_killed_user_container_is_noticed_and_restarts_with_files_intact(stack, carol, carols_servers, tally,
                                                                          evidence, first_profile):
    """Carol's container killed from outside: the hub notices (its poll), Carol starts her server again,
    her files are intact."""
    me = carol.name
    stack.require_docker("killing Carol's container")
    server = carols_servers.start(me, "", first_profile)
    carols_servers.write_home_file(me, "", "before-kill.txt", "still here")
    server.container.kill()
    killed_at = time.monotonic()
    tally("faults injected")
    wait_for(lambda: carols_servers.api.server(me, "") is None, timeout=Timeouts.stop,
             what="the hub to notice Carol's killed server")
    evidence.fact("noticed", f"the hub dropped the server {time.monotonic() - killed_at:.0f} s after the kill")
    carols_servers.wait_stopped_and_removed(me, "")
    again = carols_servers.start(me, "", first_profile)
    assert again.container.id != server.container.id
    lost = int(carols_servers.home_file(me, "", "before-kill.txt") != "still here")
    tally("files lost", lost)
    assert lost == 0, "before-kill.txt was lost with the killed container"


# --- a second stack: the platform's profiles plus one whose image does not exist ------------
@pytest.fixture(scope="session")
def scratch(request):
    with another_stack(request, "faults", extra_profiles=[MISSING]) as run:
        yield run


@pytest.fixture(scope="session")
def scratch_admin(scratch, expected):
    with hub_user(scratch.hub_url, expected.admin, ca_bundle=scratch.ca_bundle) as user:
        yield user


def scratch_servers(scratch, scratch_admin) -> Servers:
    offered = read_offered_profiles(scratch.hub_url, scratch_admin.name, scratch_admin.password, scratch_admin.api)
    return Servers(scratch_admin.api, scratch, offered)


@pytest.mark.disruptive
def test_a_profile_with_a_missing_image_fails_clearly_and_others_still_start(scratch, scratch_admin, browser,
                                                                             tally, evidence, first_profile):
    """Starting a profile whose image is missing shows a message naming the image in the browser; the hub
    stays healthy and another profile starts."""
    context = browser.new_context(base_url=scratch.hub_url + "/")
    try:
        page = context.new_page()
        LoginPage(page).open().log_in(scratch_admin.name, scratch_admin.password)
        text = HomePage(page).open().start_my_server().start_failing(MISSING["name"])
        tally("faults injected")
        evidence.screenshot(page, "spawn failed")
    finally:
        context.close()
    evidence.fact("message", text)
    assert re.search(rf"The image {re.escape(MISSING['image'])} of the profile '{MISSING['name']}' is not on this "
                     "Docker host", text), f"unclear message: {text!r}"
    assert scratch.hub_state() == "running"
    assert httpx.get(f"{scratch.hub_url}/hub/health", timeout=Timeouts.http).status_code == 200
    servers = scratch_servers(scratch, scratch_admin)
    try:
        other = servers.start(scratch_admin.name, "", first_profile)
        evidence.fact("then", f"{first_profile.name} started in {other.spawn_seconds:.1f} s")
    finally:
        servers.stop_all_started()


@pytest.mark.disruptive
def test_compose_down_and_up_keeps_every_user_password_and_file(scratch, scratch_admin, tally, evidence,
                                                                first_profile):
    """`docker compose down` then `up` (no -v), user servers stopped first: every account, password and
    file is still there."""
    with hub_user(scratch.hub_url, "dave", ca_bundle=scratch.ca_bundle) as dave:
        passwords = {scratch_admin.name: scratch_admin.password, "dave": dave.password}
        servers = scratch_servers(scratch, scratch_admin)
        files = {}
        for user in passwords:
            servers.start(user, "", first_profile)
            files[(user, "")] = (f"{user}-notes.txt", f"{user}'s notes before compose down")
            servers.write_home_file(user, "", *files[(user, "")])
            servers.stop(user, "")
        accounts_before = scratch.native_accounts()
        hub_before = scratch.hub().id

        scratch.compose_down_up()
        tally("faults injected")

        assert scratch.hub().id != hub_before, "compose up did not make a new hub container"
        assert scratch.native_accounts() == accounts_before, "accounts or passwords changed"
        for user, password in passwords.items():
            with HubSession(scratch.hub_url, scratch.ca_bundle) as session:
                session.login(user, password)  # raises if the password no longer works
        try:
            for user in passwords:
                servers.start(user, "", first_profile)
            lost = count_lost_files(servers, files)
        finally:
            servers.stop_all_started()
    tally("files lost", lost)
    evidence.fact("after down/up", f"{len(accounts_before)} accounts, {len(files) - lost} of {len(files)} files")
    assert lost == 0
