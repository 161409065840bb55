"""A JupyterHub deployment the harness verifies: what it can read of it and do to it.

StackRun (acceptance/stack.py) is a deployment the harness starts itself; ExistingDeployment is one it
is given by URL (`nox -s verify -- --hub-url URL`), with the host's Docker engine when the run has access
to it (--docker-host or DOCKER_HOST) and none otherwise. Whatever needs Docker says so: without it the
check is skipped as "not verifiable", which the verdict never counts as passed."""
from __future__ import annotations

import json

import httpx
import pytest
from docker.errors import NotFound
from dockerspawner import DockerSpawner

from acceptance import probes
from acceptance.hub_api import tls_verify
from acceptance.polling import PollAbort, WaitTimeout, wait_for
from acceptance.settings import Timeouts


class StackError(RuntimeError):
    """The stack could not be started; the message says what is wrong."""


class Deployment:
    """What every deployment has: its URL, its Docker engine (or None), its names."""

    hub_url: str
    docker = None                  # docker.DockerClient, or None without Docker access
    prefix = ""                    # NAME_PREFIX of its Docker objects
    project = "jhub-docker"        # its compose project
    hub_container_name = "jupyterhub-hub"
    own = False                    # the harness started it (and may restart, stop and remove it)
    restarts = 0                   # hub restarts this run made
    first_secrets: dict | None = None   # the hub's secrets right after its first start (own stacks)

    def scratch_name(self, name: str) -> str:
        """A name for a short-lived container of the run's own: its user prefix on a deployment given by URL
        (whose name prefix is the site's), the stack's prefix on its own stack."""
        from acceptance import mode

        return f"{mode.current.user_prefix or self.prefix}{name}"

    def require_docker(self, what: str):
        """The Docker client; without one, the asking check is skipped as not verifiable."""
        if self.docker is None:
            pytest.skip(f"not verifiable without Docker access ({what}): give the run the deployment's "
                        "engine with --docker-host or DOCKER_HOST")
        return self.docker

    def wait_until_ready(self, timeout: float = Timeouts.hub_ready) -> None:
        """Wait until the hub's REST API answers through the proxy (not just /hub/health).
        A hub that exits or restarts (its config failed) ends the wait at once, with its log."""
        restarts_before = self.hub_restart_count()

        def api_answers():
            state = self.hub_state()
            if state in ("exited", "dead", "restarting") or self.hub_restart_count() > restarts_before:
                raise PollAbort(f"the hub container did not stay up ({state}); its log ends with:\n"
                                f"{self.hub_logs(15)}")
            r = httpx.get(f"{self.hub_url}/hub/api/", timeout=5, verify=tls_verify())
            return r.status_code == 200 and "version" in r.json()

        try:
            wait_for(api_answers, timeout=timeout, what=f"the hub API at {self.hub_url}/hub/api/")
        except PollAbort as exc:
            raise StackError(str(exc)) from None
        except WaitTimeout as exc:
            raise StackError(f"{exc}\nhub log ends with:\n{self.hub_logs(40)}") from None

    def restart_hub(self) -> None:
        if self.first_secrets is None:   # what a restart must keep (Security 5), seen before the first one
            self.first_secrets = self.secrets()
        self.hub().restart(timeout=10)
        self.restarts += 1
        self.wait_until_ready()


    def hub(self):
        return self.require_docker("the hub container").containers.get(self.hub_container_name)

    def found_hub(self) -> tuple[str, str]:
        """(name, status) of the hub as Docker lists it under the deployment's compose project."""
        docker = self.require_docker("the hub container")
        [hub] = docker.containers.list(all=True, filters={"label": [f"com.docker.compose.project={self.project}",
                                                                   "com.docker.compose.service=hub"]})
        return hub.name, hub.status

    def publisher(self):
        """The container that publishes the hub's port on the host: the hub's own (compose)."""
        return self.hub()

    def hub_aliases(self, network: str) -> list[str]:
        """The hub's DNS names on `network`."""
        return self.hub().attrs["NetworkSettings"]["Networks"].get(network, {}).get("Aliases") or []

    def server_container(self, ident: str):
        """The container of a user server, by what its server state names (DockerSpawner: the container)."""
        return self.require_docker("the server's container").containers.get(ident)

    def hub_state(self) -> str:
        if self.docker is None:
            return "unknown (no Docker access)"
        try:
            return self.hub().status
        except NotFound:
            return "missing"

    def hub_restart_count(self) -> int:
        if self.docker is None:
            return 0
        try:
            return int(self.hub().attrs.get("RestartCount", 0))
        except NotFound:
            return 0

    def hub_logs(self, tail: int | str = "all", since: int | None = None) -> str:
        """The hub container's log (its last `tail` lines; with `since`, a Unix time, only what came after)."""
        if self.docker is None:
            return "(no Docker access: the hub's log cannot be read)"
        try:
            return self.hub().logs(tail=tail, **({"since": since} if since is not None else {})).decode(
                errors="replace")
        except NotFound:
            return "(hub container not found)"

    def hub_exec(self, *cmd: str) -> str:
        result = self.hub().exec_run(list(cmd))
        out = result.output.decode(errors="replace")
        if result.exit_code != 0:
            command = " ".join(cmd)
            command = command if len(command) <= 100 else command[:100] + " ..."
            raise AssertionError(f"`{command}` in the hub exited {result.exit_code}: {out[-1500:]}")
        return out

    def hub_python(self, script: str, *args: str) -> str:
        """Run a Python script in the hub container (its Python, its packages); its output."""
        return self.hub_exec("python3", "-c", script, *args)

    def is_subclass(self, class_name: str, base: str) -> bool:
        """Whether the hub's class `class_name` is `base` or built on it (both dotted, imported in the hub)."""
        return self.hub_python(probes.source("is_subclass"), class_name, base).strip() == "True"

    def native_accounts(self, names: list[str] | None = None) -> dict:
        """NativeAuthenticator's accounts, read from the hub's database: {"count": every account,
        "rows": {username: stored row}} for `names` (all accounts when None: the harness's own stacks),
        to show that refused inputs create or change nothing."""
        return json.loads(self.hub_python(probes.source("native_accounts"), json.dumps(names)))

    def secrets(self) -> dict[str, str]:
        """The hub's cookie secret and proxy token as stored in its volume (None: no such file), and the
        token the running proxy process was given."""
        return json.loads(self.hub_python(
            "import json, os, glob\n"
            "files = {n: '/srv/jupyterhub/' + n for n in ('jupyterhub_cookie_secret', 'proxy_auth_token')}\n"
            "out = {n: open(f).read().strip() if os.path.exists(f) else None for n, f in files.items()}\n"
            "for env in glob.glob('/proc/[0-9]*/environ'):\n"
            "    try:\n"
            "        cmd = open(env.replace('environ', 'cmdline'), 'rb').read()\n"
            "        if b'configurable-http-proxy' in cmd:\n"
            "            for var in open(env, 'rb').read().split(b'\\0'):\n"
            "                if var.startswith(b'CONFIGPROXY_AUTH_TOKEN='):\n"
            "                    out['proxy process token'] = var.split(b'=', 1)[1].decode()\n"
            "    except OSError:\n"
            "        pass\n"
            "print(json.dumps(out))\n"))

    def containers(self):
        """The deployment's containers (by its name prefix); on a deployment with no prefix, those the
        compose project or the hub made (the user servers carry the platform's label)."""
        docker = self.require_docker("the deployment's containers")
        if self.prefix:
            # filtered by the engine: inspecting every container of the host races with other runs removing theirs
            return [c for c in docker.containers.list(all=True, filters={"name": self.prefix})
                    if c.name.startswith(self.prefix)]
        mine = docker.containers.list(all=True, filters={"label": f"com.docker.compose.project={self.project}"})
        users = docker.containers.list(all=True, filters={"label": "org.jupyterhub.platform.prefix=-"})
        return list({c.id: c for c in [*mine, *users]}.values())

    def infrastructure_containers(self) -> set[str]:
        """The stack's own containers (not user servers): the hub and the log collector."""
        return {self.hub_container_name, self.logs_container_name}

    @property
    def logs_container_name(self) -> str:
        """The log collector (images/logs/): every container's log, kept after the container is gone."""
        return f"{self.prefix}jupyterhub-logs"

    def user_containers(self):
        return [c for c in self.containers() if c.name not in self.infrastructure_containers()]

    def diagnostics(self, only: str = "") -> dict[str, str]:
        """Logs and `docker inspect` of the run's containers (for failure reports). `only`: the run's user
        prefix on a deployment the harness did not start: just the hub log lines and the containers of the
        run's own users, nobody else's."""
        log = self.hub_logs(400 if not only else "all")
        if only:
            log = "\n".join(line for line in log.splitlines() if only in line)[-60000:]
        out = {"hub log" + (f" (lines naming {only}*)" if only else ""): log}
        if self.docker is None:
            return out
        for c in self.user_containers():
            if only and f"jupyter-{DockerSpawner._escape(only)}" not in c.name:
                continue
            out[f"{c.name} log"] = c.logs(tail=300).decode(errors="replace")
            out[f"{c.name} inspect"] = json.dumps(c.attrs, indent=2)[:60000]
        return out


class ExistingDeployment(Deployment):
    """A running deployment the harness did not start, given by its URL. Read, never restarted or
    stopped unless the run is --disruptive."""

    def __init__(self, hub_url: str, docker, hub_container_name: str, prefix: str = "",
                 project: str = "jhub-docker"):
        self.hub_url = hub_url.rstrip("/")
        self.docker = docker
        self.prefix = prefix
        self.project = project
        self.hub_container_name = hub_container_name
        self.restarts = 0
