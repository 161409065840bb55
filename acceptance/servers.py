"""Start and stop user servers for a test, and find their containers."""
from __future__ import annotations

import time
from dataclasses import dataclass

from docker.errors import NotFound

from acceptance.hub_api import HubAPI
from acceptance.polling import wait_for
from acceptance.settings import Profile, Timeouts
from acceptance.stack import StackRun


@dataclass
class RunningServer:
    user: str
    name: str           # "" for the default server
    profile: Profile
    url: str            # /user/<user>/[<name>/]
    container: object   # docker Container
    spawn_seconds: float


class Servers:
    """Starts servers through the REST API; stops what it started when the test ends."""

    def __init__(self, api: HubAPI, stack: StackRun):
        self.api = api
        self.stack = stack
        self.started: list[tuple[str, str]] = []

    def url(self, user: str, name: str = "") -> str:
        return f"/user/{user}/" + (f"{name}/" if name else "")

    def container(self, user: str, name: str = ""):
        return self.stack.docker.containers.get(self.stack.user_container_name(user, name))

    def container_exists(self, user: str, name: str = "") -> bool:
        try:
            self.container(user, name)
            return True
        except NotFound:
            return False

    def home_file(self, user: str, name: str, filename: str) -> str | None:
        """A file in the server's /home/nebula, read inside its container (independent of the app's UI);
        None while it does not exist."""
        result = self.container(user, name).exec_run(["cat", f"/home/nebula/{filename}"])
        return result.output.decode() if result.exit_code == 0 else None

    def write_home_file(self, user: str, name: str, filename: str, content: str) -> None:
        """Write a file into the server's /home/nebula as the container's user."""
        script = "import sys; open('/home/nebula/' + sys.argv[1], 'w').write(sys.argv[2])"
        result = self.container(user, name).exec_run(["python3", "-c", script, filename, content])
        assert result.exit_code == 0, f"writing {filename} for {user}: {result.output.decode()[-500:]}"

    def start(self, user: str, name: str, profile: Profile) -> RunningServer:
        if self.api.server(user, name):
            self.stop(user, name)
        t0 = time.monotonic()
        self.api.start_server(user, name, profile.key)
        self.started.append((user, name))
        self.api.wait_ready(user, name)
        elapsed = time.monotonic() - t0
        return RunningServer(user, name, profile, self.url(user, name), self.container(user, name), elapsed)

    def stop(self, user: str, name: str = "") -> None:
        self.api.stop_server(user, name)
        self.wait_stopped_and_removed(user, name)

    def wait_stopped_and_removed(self, user: str, name: str = "") -> None:
        """Wait until the hub reports the server stopped and its container is gone."""
        self.api.wait_stopped(user, name)
        wait_for(lambda: not self.container_exists(user, name), timeout=Timeouts.stop,
                 what=f"container {self.stack.user_container_name(user, name)} to be removed")

    def stop_all_started(self) -> None:
        for user, name in reversed(self.started):
            if self.api.server(user, name):
                self.stop(user, name)
        self.started.clear()
