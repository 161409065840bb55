"""One test run's copy of the platform: stack/docker-compose.yml under a run-specific
compose project and name prefix, so a run never touches a real deployment.

Docker's reaper (Ryuk) cannot run on these hosts, so clean-up is done here and checked:
every container, volume and network whose name starts with the run's prefix (the hub,
its network and data volume, and the user containers and volumes DockerSpawner makes
outside compose) is removed, and nothing else.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import docker
import yaml
from docker.errors import NotFound
from testcontainers.compose import DockerCompose

from acceptance.deployment import Deployment, StackError
from acceptance.settings import (
    COMPOSE_FILE,
    HARNESS_STACK_ENV,
    PROFILES_FILE,
    platform_profiles,
)
from images.build import HUB_IMAGE, LOGS_IMAGE

HUB_SERVICE = "hub"


class ComposeUnavailable(RuntimeError):
    """`docker` or its compose v2 plugin is missing on this host."""


def compose_config(**overrides: str) -> dict:
    """stack/docker-compose.yml as `docker compose config` renders it with the file's own defaults:
    none of the variables it reads is taken from this process's environment (nor a stack/.env),
    except `overrides`. Touches no container."""
    if shutil.which("docker") is None:
        raise ComposeUnavailable("`docker` is not on PATH: run stack/provision-host.sh")
    read = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    env = {k: v for k, v in os.environ.items() if k not in read and not k.startswith("COMPOSE_")}
    proc = subprocess.run(["docker", "compose", "--env-file", os.devnull, "-f", str(COMPOSE_FILE),
                           "config", "--format", "json"], env={**env, **overrides}, capture_output=True, text=True)
    if proc.returncode != 0 and "is not a docker command" in proc.stderr + proc.stdout:
        raise ComposeUnavailable("`docker compose` (v2 plugin) is missing: run stack/provision-host.sh")
    if proc.returncode != 0:
        raise AssertionError(f"docker compose config failed: {proc.stderr}")
    return json.loads(proc.stdout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StackRun(Deployment):
    own = True
    kind = "compose"
    kind_text = "stack/docker-compose.yml on one host"
    compose_file = COMPOSE_FILE

    def __init__(self, run_id: str | None = None, port: int | None = None, extra_env: dict[str, str] | None = None,
                 extra_profiles: list[dict] | None = None):
        self.run_id = run_id or uuid.uuid4().hex[:6]
        self.project = f"jhv{self.run_id}"
        self.prefix = f"{self.project}-"   # NAME_PREFIX: containers, network, user volumes
        self.port = port or free_port()
        self.hub_url = f"http://127.0.0.1:{self.port}"
        self.docker = docker.from_env()
        self._env_dir = tempfile.TemporaryDirectory(prefix=f"{self.project}-")
        self.env = {
            "COMPOSE_PROJECT_NAME": self.project,
            "NAME_PREFIX": self.prefix,
            "HUB_BIND": "127.0.0.1",
            "HUB_PORT": str(self.port),
            "LOG_PORT": str(free_port()),   # the log collector's, on the host's loopback
            **HARNESS_STACK_ENV,
            **(extra_env or {}),
        }
        if extra_profiles:  # the platform's profiles plus these, in a run-specific copy of profiles.yaml
            profiles_file = Path(self._env_dir.name) / "profiles.yaml"
            data = yaml.safe_load(PROFILES_FILE.read_text())
            profiles_file.write_text(yaml.safe_dump({**data, "profiles": [*data["profiles"], *extra_profiles]}))
            self.env["PROFILES_HOST_FILE"] = str(profiles_file)
        env_file = Path(self._env_dir.name) / "stack.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))
        self.compose = DockerCompose(context=str(self.compose_file.parent), compose_file_name=self.compose_file.name,
                                     env_file=str(env_file), wait=False, pull=False, build=False)
        self.started = False
        self.hub_container_name = f"{self.prefix}jupyterhub-hub"
        self.restarts = 0

    # --- lifecycle ----------------------------------------------------------------------
    def check_images(self) -> None:
        wanted = [HUB_IMAGE, LOGS_IMAGE, *dict.fromkeys(p.image for p in platform_profiles())]
        missing = [t for t in wanted if not self._image_exists(t)]
        if missing:
            raise StackError(f"image(s) missing: {', '.join(missing)}; build them with `nox -s images`")

    def _image_exists(self, tag: str) -> bool:
        try:
            self.docker.images.get(tag)
            return True
        except NotFound:
            return False

    def up(self) -> None:
        self.check_images()
        self.start_stack()
        self.started = True
        self.before_ready()
        self.wait_until_ready()
        self.first_secrets = self.secrets()

    def start_stack(self) -> None:
        """Start the stack's containers (`docker compose up`)."""
        try:
            self.compose.start()
        except Exception as exc:  # CalledProcessError from docker compose
            detail = getattr(exc, "stderr", b"") or b""
            raise StackError(f"`docker compose up` failed: {detail.decode(errors='replace')[-2000:] or exc}") from exc

    def before_ready(self) -> None:
        """What a variant does between `compose up` and the wait for the hub API (nothing here)."""

    def compose_down_up(self) -> None:
        """`docker compose down` (without -v: volumes stay) then `up -d`, as an operator would."""
        for args in (["down"], ["up", "-d"]):
            proc = subprocess.run([*self.compose.compose_command_property, *args], cwd=self.compose_file.parent,
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise StackError(f"`docker compose {' '.join(args)}` failed: {proc.stderr[-2000:]}")
        self.wait_until_ready()

    def recreate_hub(self) -> None:
        """`docker compose up -d --force-recreate --no-deps hub`, as an operator replaces the hub's container (a new
        image, changed settings); waits until the new one answers."""
        proc = subprocess.run([*self.compose.compose_command_property, "up", "-d", "--force-recreate", "--no-deps",
                               HUB_SERVICE], cwd=self.compose_file.parent, capture_output=True, text=True)
        if proc.returncode != 0:
            raise StackError(f"`docker compose up -d --force-recreate hub` failed: {proc.stderr[-2000:]}")
        self.wait_until_ready()

    # --- logs -------------------------------------------------------------------------------
    def collected_log(self, name: str) -> str:
        """What the admin reads with `docker exec <prefix>jupyterhub-logs logs NAME` (README "Logs")."""
        result = self.docker.containers.get(self.logs_container_name).exec_run(["logs", name])
        if result.exit_code != 0:
            raise StackError(f"`logs {name}` exited {result.exit_code}: {result.output.decode(errors='replace')}")
        return result.output.decode(errors="replace")

    # --- clean-up -------------------------------------------------------------------------
    def _run_objects(self):
        """(kind, object) for every container, volume and network named after this run, in removal order."""
        prefix = self.project
        # filtered by the engine: inspecting every container of the host races with other runs removing theirs
        yield from (("container", c) for c in self.docker.containers.list(all=True, filters={"name": prefix})
                    if c.name.startswith(prefix))
        yield from (("volume", v) for v in self.docker.volumes.list() if v.name.startswith(prefix))
        yield from (("network", n) for n in self.docker.networks.list() if n.name.startswith(prefix))

    def leftovers(self) -> list[str]:
        return [f"{kind} {obj.name}" for kind, obj in self._run_objects()]

    def undo_host_changes(self) -> list[str]:
        """Undo what the run changed on the host beyond Docker objects (nothing here); returns errors."""
        return []

    @staticmethod
    def remove(kind: str, obj, errors: list[str]) -> None:
        """Remove a container (forced), volume or network; a failure is added to `errors`."""
        try:
            obj.remove() if kind == "network" else obj.remove(force=True)
        except NotFound:
            pass
        except Exception as exc:  # noqa: BLE001 - collected, reported by the caller
            errors.append(f"remove {kind} {obj.name}: {exc}")

    def down(self) -> None:
        """Remove everything of this run and check that nothing is left."""
        errors = []
        for c in self.user_containers():   # first: they hold the network and user volumes
            self.remove("container", c, errors)
        try:
            self.compose.stop(down=True)   # hub, network, data volume
        except Exception as exc:  # noqa: BLE001
            errors.append(f"docker compose down: {getattr(exc, 'stderr', b'').decode(errors='replace') or exc}")
        for kind, obj in list(self._run_objects()):   # whatever compose did not remove
            self.remove(kind, obj, errors)
        errors += self.undo_host_changes()
        self._env_dir.cleanup()
        left = self.leftovers()
        if left or errors:
            raise StackError(f"clean-up of run {self.project} incomplete: left {left}; errors {errors}")


os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # no registry for Ryuk's image here
