"""A real site on the old release, and what the harness reads of it: users who signed up (the admin, users with
API tokens, a second admin), default and named servers (some left running, some stopped), files and a notebook in
their homes, a kernel left running with a value in it."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import websocket
from dockerspawner import DockerSpawner

from acceptance import probes
from acceptance.client.accounts import Accounts
from acceptance.client.hub_api import HubAPI, HubSession, tls_verify
from acceptance.client.polling import PollAbort, wait_for
from acceptance.client.servers import read_offered_profiles
from acceptance.settings import Timeouts
from acceptance.upgrade.compare import SiteState

# A package users' notebooks import, from images/singleuser/requirements.txt: not needed by the Lab server itself, so
# an image without it still starts and only the notebook fails (the drop-package breakage removes it).
NOTEBOOK_PACKAGE = "narwhals"
NOTEBOOK = "analysis.ipynb"
NOTEBOOK_CODE = [f"import {NOTEBOOK_PACKAGE} as nw", "rows = [{'x': i, 'y': i * i} for i in range(4)]",
                 "print(nw.__name__, sum(r['y'] for r in rows))"]
KERNEL_CODE, KERNEL_VARIABLE, KERNEL_VALUE = "upgrade_state = 6 * 7", "upgrade_state", "42"
NAMED_SERVER, STOPPED_NAMED = "analysis", "scratch"


def notebook_json() -> str:
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": line}
             for line in NOTEBOOK_CODE]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@dataclass
class Site:
    """Who and what the run made on the old release (passwords and tokens stay in memory, never in a report)."""
    hub_url: str
    admin: str
    passwords: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    kernel: tuple[str, str] | None = None          # (user, kernel id) left running
    notebook_user: str = "bob"                     # whose stopped server is started on the new release
    running: list[tuple[str, str]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)   # signups left waiting for the admin's approval
    ca_bundle: str | Path | None = None            # what its https:// hub is verified with (the stack's)

    def api(self, user: str | None = None) -> HubAPI:
        return HubAPI(self.hub_url, self.tokens[user or self.admin], self.ca_bundle)


def kernel_execute(hub_url: str, user: str, token: str, kernel: str, code: str, timeout: float = 60,
                   ca_bundle: str | Path | None = None) -> str:
    """Run `code` on a running kernel through the proxy; its result (text/plain) or printed output. An exception
    in the kernel raises AssertionError with its name and value. `ca_bundle`: the stack's (Deployment.ca_bundle)."""
    ws_url = hub_url.replace("http", "ws", 1) + f"/user/{quote(user)}/api/kernels/{kernel}/channels"
    sslopt = {"ca_certs": str(ca_bundle)} if ca_bundle else {}   # wss:// (production)
    ws = websocket.create_connection(ws_url, header=[f"Authorization: token {token}"], timeout=timeout, sslopt=sslopt)
    deadline = time.monotonic() + timeout
    try:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": user, "session": uuid.uuid4().hex, "msg_type": "execute_request",
                       "version": "5.3", "date": datetime.now(UTC).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        out = []
        while time.monotonic() < deadline:   # bounded: the socket's timeout and the deadline
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg.get("msg_type"), msg.get("content", {})
            if kind == "error":
                raise AssertionError(f"{content.get('ename')}: {content.get('evalue')}")
            if kind == "execute_result":
                return content.get("data", {}).get("text/plain", "")
            if kind == "stream":
                out.append(content.get("text", ""))
            if kind == "status" and content.get("execution_state") == "idle":
                return "".join(out).strip()
        raise AssertionError(f"no answer from kernel {kernel} of {user} within {timeout:.0f}s")
    finally:
        ws.close()


def start_kernel(hub_url: str, user: str, token: str, server: str = "", ca_bundle: str | Path | None = None) -> str:
    base = f"/user/{quote(user)}/" + (f"{quote(server)}/" if server else "")
    r = httpx.post(f"{hub_url}{base}api/kernels", json={}, headers={"Authorization": f"token {token}"},
                   timeout=Timeouts.http, verify=tls_verify(ca_bundle))
    assert r.status_code == 201, f"starting a kernel on {user}/{server or '(default)'}: HTTP {r.status_code}"
    return r.json()["id"]


def run_notebook(hub_url: str, user: str, token: str, server: str = "", ca_bundle: str | Path | None = None) -> str:
    """Run the user's notebook (read from their home through their server) on a new kernel; its output.
    `ca_bundle`: the stack's (Deployment.ca_bundle)."""
    api = HubAPI(hub_url, token, ca_bundle)
    try:
        base = f"/user/{quote(user)}/" + (f"{quote(server)}/" if server else "")
        r = api.server_get(f"{base}api/contents/{NOTEBOOK}?content=1")
        assert r.status_code == 200, f"reading {user}'s {NOTEBOOK}: HTTP {r.status_code}"
        code = "\n".join(c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                         for c in r.json()["content"]["cells"] if c["cell_type"] == "code")
        kernel = start_kernel(hub_url, user, token, server, ca_bundle)
        try:
            return kernel_execute(hub_url, user, token, kernel, code, ca_bundle=ca_bundle)
        finally:
            api.http.delete(f"{base}api/kernels/{kernel}")
    finally:
        api.close()


def write_file(api: HubAPI, user: str, server: str, path: str, content: str) -> None:
    base = f"/user/{quote(user)}/" + (f"{quote(server)}/" if server else "")
    r = api.http.put(f"{base}api/contents/{quote(path)}", json={"type": "file", "format": "text", "content": content})
    assert r.status_code in (200, 201), f"writing {path} for {user}: HTTP {r.status_code} {r.text[:200]}"


PENDING_USER = "dave"


def populate(hub_url: str, admin: str, ca_bundle: str | Path | None = None) -> Site:
    """Sign up the admin and three users (where signups wait for the admin's approval, the admin approves them, and
    a fourth signup is left pending), make one of them admin, give each an API token, start servers, write files,
    leave a kernel with a value. `ca_bundle`: the stack's (Deployment.ca_bundle)."""
    site = Site(hub_url, admin, ca_bundle=ca_bundle)
    admin_session = HubSession(hub_url, ca_bundle)
    try:
        for name in (admin, "alice", "bob", "carol", PENDING_USER):
            site.passwords[name] = Accounts.new_password()
            with HubSession(hub_url, ca_bundle) as session:
                result = session.signup(name, site.passwords[name])
            pending = "has been sent to the admin" in result.message
            assert result.ok or pending, f"signup of {name}: {result.alert} {result.message}"
            if name == PENDING_USER:
                site.pending = [name] if pending else []
                continue
            if pending:   # production mode: the admin approves at /hub/authorize (a page, with the login cookie)
                r = admin_session.http.get(f"/hub/authorize/{quote(name)}", follow_redirects=False)
                assert r.status_code in (200, 302), f"approving {name}: HTTP {r.status_code}"
            with HubSession(hub_url, ca_bundle) as session:
                session.login(name, site.passwords[name])
                site.tokens[name] = session.create_token(name, "upgrade run")
            if name == admin:
                admin_session.login(name, site.passwords[name])
    finally:
        admin_session.close()
    with site.api() as admin_api:
        r = admin_api.http.patch("/hub/api/users/carol", json={"admin": True})
        assert r.status_code == 200, f"making carol an admin: HTTP {r.status_code} {r.text[:200]}"
        profile = next(iter(read_offered_profiles(hub_url, "alice", site.passwords["alice"], admin_api).values()))
    for user, server, stop_after in (("alice", "", False), ("alice", NAMED_SERVER, False), ("bob", "", True),
                                     ("bob", STOPPED_NAMED, True)):
        with site.api(user) as api:
            api.start_server(user, server, profile)
            api.wait_ready(user, server)
            if not server:
                write_file(api, user, "", f"{user}-notes.txt", f"{user}'s notes, written on the old release\n")
                write_file(api, user, "", NOTEBOOK, notebook_json())
                r = api.http.put(f"/user/{quote(user)}/api/contents/data", json={"type": "directory"})
                assert r.status_code in (200, 201), f"making {user}'s data/: HTTP {r.status_code}"
                write_file(api, user, "", "data/results.csv", "x,y\n1,1\n2,4\n")
            if stop_after:
                api.stop_server(user, server)
                api.wait_stopped(user, server)
            else:
                site.running.append((user, server))
    # the notebook runs on the old release; then a kernel is left holding a value
    run_notebook(hub_url, "alice", site.tokens["alice"], ca_bundle=ca_bundle)
    kernel = start_kernel(hub_url, "alice", site.tokens["alice"], ca_bundle=ca_bundle)
    kernel_execute(hub_url, "alice", site.tokens["alice"], kernel, KERNEL_CODE, ca_bundle=ca_bundle)
    site.kernel = ("alice", kernel)
    return site


def home_files(docker_client, prefix: str, users: list[str], image: str) -> dict[str, dict[str, str]]:
    """{user: {path: sha256}} of every file in each user's home volume (hidden paths left out), read from the
    volumes themselves (running or not, whatever the hub says), in one short-lived container of `image`."""
    volumes = {}
    for user in users:
        name = f"{prefix}jupyterhub-user-{DockerSpawner._escape(user)}"
        if any(v.name == name for v in docker_client.volumes.list(filters={"name": name})):
            volumes[name] = {"bind": f"/homes/{user}", "mode": "ro"}
    if not volumes:
        return {}
    users_with = [v["bind"].rsplit("/", 1)[1] for v in volumes.values()]
    out = docker_client.containers.run(image, ["python3", "-c", probes.source("hash_homes"), *users_with],
                                       entrypoint=[], volumes=volumes, remove=True, network_mode="none",
                                       name=f"{prefix}homes-{uuid.uuid4().hex[:6]}")
    return json.loads(out)


def snapshot(site: Site, docker_client, prefix: str, image: str) -> SiteState:
    """What the site has now, read through the hub's API with the admin's token, each user's own token, the home
    volumes, and the kernel left running."""
    state = SiteState()
    with site.api() as api:
        r = api.http.get("/hub/api/users", params={"include_stopped_servers": "1"})
        if r.status_code != 200:
            state.errors.append(f"GET /hub/api/users with the admin's token: HTTP {r.status_code}")
        else:
            for user in r.json():
                servers = {name: {"running": bool(model.get("ready")) and not model.get("stopped")}
                           for name, model in (user.get("servers") or {}).items()}
                state.users[user["name"]] = {"admin": bool(user.get("admin")), "servers": servers}
    for owner, token in site.tokens.items():
        r = httpx.get(f"{site.hub_url}/hub/api/user", headers={"Authorization": f"token {token}"},
                      timeout=Timeouts.http, verify=tls_verify(site.ca_bundle))
        state.tokens[owner] = r.status_code == 200 and r.json().get("name") == owner
    state.files = home_files(docker_client, prefix, list(site.tokens), image)
    # who may log in: the approved signups can, the one left pending cannot (NativeAuthenticator's own table)
    for name in (*site.tokens, *site.pending):
        with HubSession(site.hub_url, site.ca_bundle) as session:
            state.logins[name] = session.try_login(name, site.passwords[name])
    if site.kernel:
        user, kernel = site.kernel
        try:
            state.kernel = kernel_execute(site.hub_url, user, site.tokens[user], kernel, KERNEL_VARIABLE, timeout=30,
                                          ca_bundle=site.ca_bundle)
        except Exception as exc:  # noqa: BLE001 - the comparison reports it
            state.errors.append(f"the kernel left running on {user}'s server: {type(exc).__name__}: {exc}")
    return state


def wait_servers_answer(site: Site, timeout: float = 30) -> list[str]:
    """The servers left running that do not answer through the proxy with their user's token (empty: all do)."""
    failing = []
    for user, server in site.running:
        path = f"/user/{quote(user)}/" + (f"{quote(server)}/" if server else "") + "api/status"

        def answers(path=path, user=user):
            r = httpx.get(f"{site.hub_url}{path}", headers={"Authorization": f"token {site.tokens[user]}"},
                          timeout=Timeouts.http, verify=tls_verify(site.ca_bundle))
            if r.status_code in (401, 403):   # the token is refused: no wait makes it accepted
                raise PollAbort(f"HTTP {r.status_code}: {user}'s token is refused")
            return r.status_code == 200 or None
        try:
            wait_for(answers, timeout=timeout, what=f"{user}/{server or '(default)'} to answer", interval=1)
        except AssertionError as exc:
            failing.append(f"{user}/{server or '(default)'}: {exc}")
    return failing
