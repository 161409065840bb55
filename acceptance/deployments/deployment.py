"""A JupyterHub deployment the harness verifies: what it can read of it and do to it, one interface for every kind.

Deployment is that interface: what every kind has (its URL, Docker engine, names) and does alike (commands in the
hub, its secrets, its containers, diagnostics), and, abstract, how each kind reaches its hub and user servers. The
kinds, siblings behind it:
  - ExistingDeployment: one the harness is given by URL (`nox -s verify -- --hub-url URL`), with the host's Docker
    engine when the run has access to it (--docker-host or DOCKER_HOST) and none otherwise;
  - the stacks the harness starts itself (OwnStack, acceptance/deployments/own.py): the compose stack (StackRun,
    compose.py) and the production stack (ProductionRun, production.py), both compose projects (ComposeStack), and
    the swarm stack (SwarmRun, swarm.py).
The hub and user servers are containers on every kind but the swarm (ContainerHub here); the swarm runs them as
services. Whatever needs Docker says so: without it the check is skipped as "not verifiable", which the verdict
never counts as passed."""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path

import httpx
import pytest
from docker.errors import NotFound
from dockerspawner import DockerSpawner

from acceptance import probes
from acceptance.client.hub_api import tls_verify
from acceptance.client.polling import PollAbort, WaitTimeout, wait_for
from acceptance.settings import Timeouts


class StackError(RuntimeError):
    """The stack could not be started; the message says what is wrong."""


class Deployment(ABC):
    """What every deployment has (its URL, its Docker engine or None, its names) and does alike; how its kind
    reaches the hub and the user servers is abstract (ContainerHub, SwarmRun)."""

    hub_url: str
    docker = None                  # docker.DockerClient, or None without Docker access
    prefix = ""                    # NAME_PREFIX of its Docker objects
    project = "jhub-docker"        # its compose project
    hub_container_name = "jupyterhub-hub"
    own = False                    # the harness started it (and may restart, stop and remove it)
    restarts = 0                   # hub restarts this run made
    first_secrets: dict | None = None   # the hub's secrets right after its first start (own stacks)
    ca_bundle: str | Path | None = None   # what its https:// hub is verified with (None: the system's CAs)
    user_prefix = ""               # on everything a verify run makes on it (RunMode.user_prefix; own stacks: none)

    # --- the hub and the user servers: how the kind reaches them ---------------------------------------------
    @abstractmethod
    def hub(self):
        """The container that runs the hub now (docker.errors.NotFound: none)."""

    @abstractmethod
    def hub_state(self) -> str:
        """The hub's state as Docker tells it ("running", "exited" ...; "missing": none)."""

    @abstractmethod
    def hub_restart_count(self) -> int:
        """How often the hub was restarted by Docker after it failed."""

    @abstractmethod
    def hub_logs(self, tail: int | str = "all", since: int | None = None) -> str:
        """The hub's log (its last `tail` lines; with `since`, a Unix time, only what came after)."""

    @abstractmethod
    def restart_hub(self) -> None:
        """Restart the hub as an operator would (its secrets seen before the first restart: first_secrets) and
        wait until it answers."""

    @abstractmethod
    def found_hub(self) -> tuple[str, str]:
        """(name, status) of the hub as Docker lists it under the deployment's project."""

    @abstractmethod
    def publisher(self):
        """The container that publishes the hub's port on the host."""

    @abstractmethod
    def hub_aliases(self, network: str) -> list[str]:
        """The hub's DNS names on `network`."""

    @abstractmethod
    def server_container(self, ident: str):
        """The container of a user server, by what its server state names."""

    @abstractmethod
    def user_containers(self):
        """The containers of the user servers."""

    # --- what every kind does alike ------------------------------------------------------------------------
    def scratch_name(self, name: str) -> str:
        """A name for a short-lived container of the run's own: its user prefix on a deployment given by URL
        (whose name prefix is the site's), the stack's prefix on its own stack."""
        return f"{self.user_prefix or self.prefix}{name}"

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
            r = httpx.get(f"{self.hub_url}/hub/api/", timeout=5, verify=tls_verify(self.ca_bundle))
            return r.status_code == 200 and "version" in r.json()

        try:
            wait_for(api_answers, timeout=timeout, what=f"the hub API at {self.hub_url}/hub/api/")
        except PollAbort as exc:
            raise StackError(str(exc)) from None
        except WaitTimeout as exc:
            raise StackError(f"{exc}\nhub log ends with:\n{self.hub_logs(40)}") from None

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
        return json.loads(self.hub_python(probes.source("hub_secrets")))

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


class ContainerHub(Deployment):
    """A deployment whose hub is a container of its compose project and whose user servers are containers
    (DockerSpawner): the compose and production stacks, and a deployment given by URL."""

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

    def restart_hub(self) -> None:
        if self.first_secrets is None:   # what a restart must keep (Security 5), seen before the first one
            self.first_secrets = self.secrets()
        self.hub().restart(timeout=10)
        self.restarts += 1
        self.wait_until_ready()

    def user_containers(self):
        return [c for c in self.containers() if c.name not in self.infrastructure_containers()]


class ExistingDeployment(ContainerHub):
    """A running deployment the harness did not start, given by its URL. Read, never restarted or
    stopped unless the run is --disruptive."""

    def __init__(self, hub_url: str, docker, hub_container_name: str, prefix: str = "",
                 project: str = "jhub-docker", ca_bundle: str | None = None, user_prefix: str = "",
                 publisher_name: str | None = None):
        self.hub_url = hub_url.rstrip("/")
        self.publisher_name = publisher_name   # the container that publishes the hub (None: the hub's own)
        self.ca_bundle = ca_bundle   # the run's --ca-bundle
        self.user_prefix = user_prefix
        self.docker = docker
        self.prefix = prefix
        self.project = project
        self.hub_container_name = hub_container_name
        self.restarts = 0

    def publisher(self):
        """The container that publishes the hub's port on the host: the one the deployment's kind names (the
        production stack's TLS proxy), else the hub's own."""
        if self.publisher_name is None:
            return super().publisher()
        return self.require_docker("the container that publishes the hub").containers.get(self.publisher_name)
