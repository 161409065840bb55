"""One test run's copy of the platform on Docker Swarm (`--stack swarm`): stack/swarm/deploy.sh under the
run's stack name and name prefix, on this host's swarm.

A host that is not in a swarm is made a single-node swarm for the run's stack (listening on 127.0.0.1 only),
and left again when that stack is removed, with the gateway bridge the swarm made; a host already in a swarm
keeps it as it was (so does a second stack of the run, started while the first one runs: it finds the swarm
the first one made). What differs from the compose stack: the hub is a swarm service whose task
runs it in a container; each user server is a service of its own (its server state names the service, the
checks read its task's container); the hub is published on 127.0.0.1 by deploy.sh's gateway container."""
from __future__ import annotations

import os
import subprocess

from docker.errors import NotFound

from acceptance.client.polling import wait_for
from acceptance.deployments.deployment import StackError
from acceptance.deployments.own import OwnStack
from acceptance.settings import STACK_DIR, Timeouts

DEPLOY = STACK_DIR / "swarm" / "deploy.sh"
GWBRIDGE = "docker_gwbridge"


class SwarmHost:
    """The host's swarm membership as a stack found it when it started."""

    def __init__(self, docker):
        self.docker = docker
        self.made = False           # the stack initialised the swarm (and leaves it when it is removed)
        self.made_gwbridge = False  # ... and the swarm made the gateway bridge

    def join(self) -> None:
        if self.docker.info()["Swarm"]["LocalNodeState"] == "inactive":
            had_bridge = bool(self.docker.networks.list(names=[GWBRIDGE]))
            run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377"],
                "docker swarm init")
            self.made, self.made_gwbridge = True, not had_bridge

    def leave(self) -> list[str]:
        if not self.made:
            return []
        errors = []
        proc = subprocess.run(["docker", "swarm", "leave", "--force"], capture_output=True, text=True)
        if proc.returncode != 0:
            errors.append(f"docker swarm leave: {proc.stderr.strip()}")
        if self.made_gwbridge:
            for network in self.docker.networks.list(names=[GWBRIDGE]):
                network.remove()
        self.made = self.made_gwbridge = False
        return errors


def run(cmd: list[str], what: str, **kw) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise StackError(f"`{what}` failed: {(proc.stderr or proc.stdout)[-2000:]}")
    return proc.stdout


class SwarmRun(OwnStack):
    """The swarm stack (--stack swarm): the hub a service run by its task's container, each user server a service
    of its own, the hub published by deploy.sh's gateway container."""

    kind = "swarm"
    kind_text = "stack/swarm/ on this host's Docker Swarm"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.hub_service_name = f"{self.project}_hub"
        self.hub_container_name = self.hub_service_name   # the hub is the service; its task's container runs it
        self.gateway_name = f"{self.prefix}jupyterhub-gateway"
        self.host = SwarmHost(self.docker)
        self._joined = False

    # --- lifecycle ----------------------------------------------------------------------
    def _deploy(self, *args: str) -> None:
        run(["bash", str(DEPLOY), *args], f"deploy.sh {' '.join(args)}".strip(),
            env={**self._process_env(), **self.env, "STACK_NAME": self.project}, cwd=STACK_DIR)

    @staticmethod
    def _process_env() -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_HOST", "LANG")}

    def start_stack(self) -> None:
        self.host.join()
        self._joined = True
        self._deploy()

    # --- the hub: a service, run by its task's container --------------------------------------
    def hub_service(self):
        return self.docker.services.get(self.hub_service_name)

    def hub_tasks(self) -> list[dict]:
        try:
            return self.hub_service().tasks()
        except NotFound:
            return []

    def task_container(self, tasks: list[dict], service: str):
        """The container of the newest of `tasks` that has one (NotFound: none has)."""
        with_container = [t for t in tasks if t["Status"].get("ContainerStatus", {}).get("ContainerID")]
        if not with_container:
            raise NotFound(f"the service {service} has no running task")
        newest = max(with_container, key=lambda t: t["CreatedAt"])
        return self.docker.containers.get(newest["Status"]["ContainerStatus"]["ContainerID"])

    def hub(self):
        running = [t for t in self.hub_tasks() if t["Status"]["State"] == "running"]
        return self.task_container(running, self.hub_service_name)

    def hub_state(self) -> str:
        tasks = sorted(self.hub_tasks(), key=lambda t: t["CreatedAt"])
        return tasks[-1]["Status"]["State"] if tasks else "missing"

    def hub_restart_count(self) -> int:
        """Tasks of the hub that failed (a crashing hub is restarted by the swarm as a new task)."""
        return sum(t["Status"]["State"] in ("failed", "rejected") for t in self.hub_tasks())

    def hub_logs(self, tail: int | str = "all", since: int | None = None) -> str:
        try:
            lines = self.hub_service().logs(stdout=True, stderr=True, tail=tail,
                                            **({"since": since} if since is not None else {}))
        except NotFound:
            return "(hub service not found)"
        return b"".join(lines).decode(errors="replace")

    def restart_hub(self) -> None:
        """A new hub task (`docker service update --force`), as an operator restarts a swarm service."""
        if self.first_secrets is None:
            self.first_secrets = self.secrets()
        before = self.hub().id
        self.hub_service().force_update()
        self.restarts += 1

        def replaced():
            try:
                return self.hub().id != before
            except NotFound:
                return False

        wait_for(replaced, timeout=Timeouts.hub_ready, what=f"a new task of {self.hub_service_name} to run")
        self.wait_until_ready()

    def found_hub(self) -> tuple[str, str]:
        """(name, status) of the hub service as Docker lists it under the stack's namespace."""
        [hub] = self.docker.services.list(filters={"label": f"com.docker.stack.namespace={self.project}"})
        return hub.name, self.hub_state()

    def hub_aliases(self, network: str) -> list[str]:
        net = self.docker.networks.get(network)
        return [a for n in self.hub_service().attrs["Spec"]["TaskTemplate"].get("Networks", [])
                if n["Target"] in (net.id, net.name) for a in n.get("Aliases", [])]

    def publisher(self):
        return self.docker.containers.get(self.gateway_name)

    def diagnostics(self, only: str = "") -> dict[str, str]:
        out = super().diagnostics(only)
        try:
            out["gateway log"] = self.publisher().logs(tail=300).decode(errors="replace")
        except NotFound:
            out["gateway log"] = "(gateway container not found)"
        return out

    # --- user servers: a service each -----------------------------------------------------
    def server_container(self, ident: str):
        """The running container of the service `ident` (a server's state names its service)."""
        service = self.docker.services.get(ident)
        return self.task_container(service.tasks(filters={"desired-state": "running"}), service.name)

    def user_containers(self):
        return [c for c in self.containers() if c.labels.get("org.jupyterhub.platform.prefix") == self.prefix]

    def services(self):
        if self.docker.info()["Swarm"]["LocalNodeState"] != "active":
            return []
        return [s for s in self.docker.services.list() if s.name.startswith(self.project)]

    # --- clean-up -------------------------------------------------------------------------
    def leftovers(self) -> list[str]:
        return [f"service {s.name}" for s in self.services()] + super().leftovers()

    def down(self) -> None:
        errors = []
        for service in self.services():          # the user servers first, then the stack
            if service.name != self.hub_service_name:
                service.remove()
        if self.started or self.services():
            try:
                self._deploy("rm")
            except StackError as exc:
                errors.append(str(exc))
        try:   # a service's containers and network go a moment after the service
            wait_for(lambda: not self.services() and not [
                left for left in OwnStack.leftovers(self)
                if left.startswith(("container", "network")) and self.gateway_name not in left],
                timeout=Timeouts.stop, what=f"the services, containers and network of stack {self.project} to go")
        except Exception as exc:  # noqa: BLE001 - reported with the rest
            errors.append(str(exc))
        for kind, obj in list(self._run_objects()):
            self.remove(kind, obj, errors)
        self._env_dir.cleanup()
        left = self.leftovers()
        if self._joined:
            self._joined = False
            errors += self.host.leave()
        if left or errors:
            raise StackError(f"clean-up of swarm run {self.project} incomplete: left {left}; errors {errors}")
