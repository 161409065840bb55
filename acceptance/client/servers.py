"""Start and stop user servers for a test, and find their containers.

A profile is chosen by its display name (from the expected state); the value the hub's spawn form
gives that name is read from the running hub (`offered_profiles`). A server's container is the one its
server model's `state` names (DockerSpawner's object_id, under ProfilesSpawner's child_state), as
zero-to-jupyterhub reads `pod_name`: never a name the harness re-derives."""
from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

from docker.errors import NotFound

from acceptance.client.forms import select_options
from acceptance.client.hub_api import HubAPI, HubSession
from acceptance.client.polling import wait_for
from acceptance.expected import ExpectedProfile
from acceptance.settings import Timeouts

FORM_PROBE_SERVER = "profiles-form"   # a named server whose spawn form is read, then removed


def spawn_form_options(html: str) -> dict[str, str]:
    """{display name: form value} of the spawn form's profile select, in the form's order."""
    options = select_options(html, "profile")
    if options is None:
        raise AssertionError("the spawn form has no profile dropdown (select[name=profile])")
    return dict(options)


def read_offered_profiles(hub_url: str, user: str, password: str, api: HubAPI) -> dict[str, str]:
    """The profiles the hub's spawn form offers `user`: {display name: form value} (the hub verified as `api`
    verifies it)."""
    with HubSession(hub_url, api.ca_bundle) as session:
        session.login(user, password)
        r = session.http.get(f"/hub/spawn/{quote(user)}/{FORM_PROBE_SERVER}")
    api.remove_server(user, FORM_PROBE_SERVER)   # GET /hub/spawn/<user>/<name> records the named server
    assert r.status_code == 200, f"the spawn form answered HTTP {r.status_code}"
    return spawn_form_options(r.text)


@dataclass
class RunningServer:
    user: str
    name: str           # "" for the default server
    profile: ExpectedProfile
    url: str            # /user/<user>/[<name>/]
    container: object   # docker Container (None without Docker access)
    spawn_seconds: float


class Servers:
    """Starts servers through the REST API; stops what it started when the test ends.

    `api` starts and stops (a user's own token, or the admin's); `admin_api` reads server state."""

    def __init__(self, api: HubAPI, stack, offered: dict[str, str], admin_api: HubAPI | None = None):
        self.api = api
        self.admin_api = admin_api or api
        self.stack = stack
        self.offered = offered
        self.started: list[tuple[str, str]] = []
        self._containers: dict[tuple[str, str], str] = {}   # (user, server) -> container id seen running

    def url(self, user: str, name: str = "") -> str:
        return f"/user/{user}/" + (f"{name}/" if name else "")

    def form_value(self, profile: ExpectedProfile) -> str:
        value = self.offered.get(profile.name)
        if value is None:
            raise AssertionError(f"the hub does not offer the profile {profile.name!r}; its spawn form offers "
                                 f"{list(self.offered)}")
        return value

    def container(self, user: str, name: str = ""):
        """The container the server's model names (its state's object_id)."""
        model = self.admin_api.server(user, name, state=True)
        if not model:
            raise AssertionError(f"the hub has no server {user}/{name or '(default)'}")
        child = (model.get("state") or {}).get("child_state") or model.get("state") or {}
        ident = child.get("object_id") or child.get("object_name")
        if not ident:
            raise AssertionError(f"server {user}/{name or '(default)'} names no container in its state: "
                                 f"{model.get('state')}")
        container = self.stack.server_container(ident)
        self._containers[(user, name)] = container.id
        return container

    def container_exists(self, user: str, name: str = "") -> bool:
        """Whether the server's container (named by its state, or the last one seen) exists. Without
        Docker access: whether the hub has the server."""
        if self.stack.docker is None:
            return bool(self.admin_api.server(user, name))
        if self.admin_api.server(user, name):
            try:
                self.container(user, name)
                return True
            except (AssertionError, NotFound):
                return False
        ident = self._containers.get((user, name))
        if ident is None:
            return False
        try:
            self.stack.docker.containers.get(ident)
            return True
        except NotFound:
            return False

    def home_file(self, user: str, name: str, filename: str) -> str | None:
        """A file in the server's home, read through the server's contents API (independent of the app's
        UI); None while it does not exist."""
        r = self.api.server_get(f"{self.url(user, name)}api/contents/{quote(filename)}?content=1&format=text"
                                "&type=file", timeout=Timeouts.http)
        if r.status_code == 404:
            return None
        assert r.status_code == 200, f"reading {filename} of {user}/{name or '(default)'}: HTTP {r.status_code}"
        return r.json()["content"]

    def write_home_file(self, user: str, name: str, filename: str, content: str) -> None:
        """Write a file into the server's home through its contents API."""
        r = self.api.http.put(f"{self.url(user, name)}api/contents/{quote(filename)}",
                              json={"type": "file", "format": "text", "content": content})
        assert r.status_code in (200, 201), f"writing {filename} for {user}: HTTP {r.status_code} {r.text[:300]}"

    def start(self, user: str, name: str, profile: ExpectedProfile) -> RunningServer:
        value = self.form_value(profile)
        if self.api.server(user, name):
            self.stop(user, name)
        t0 = time.monotonic()
        self.api.start_server(user, name, value)
        self.started.append((user, name))
        self.api.wait_ready(user, name)
        elapsed = time.monotonic() - t0
        container = self.container(user, name) if self.stack.docker is not None else None
        return RunningServer(user, name, profile, self.url(user, name), container, elapsed)

    def stop(self, user: str, name: str = "") -> None:
        if self.admin_api.server(user, name):
            self.container_exists(user, name)   # remember its container, to see it removed
        self.api.stop_server(user, name)
        self.wait_stopped_and_removed(user, name)
        if name:
            self.api.remove_server(user, name)  # a stopped named server stays listed: remove what the run made

    def wait_stopped_and_removed(self, user: str, name: str = "") -> None:
        """Wait until the hub reports the server stopped and its container is gone."""
        self.api.wait_stopped(user, name)
        wait_for(lambda: not self.container_exists(user, name), timeout=Timeouts.stop,
                 what=f"the container of {user}/{name or '(default)'} to be removed")

    def stop_all_started(self) -> None:
        for user, name in reversed(self.started):
            if self.api.server(user, name):
                self.stop(user, name)
        self.started.clear()
