"""One test run's copy of the platform as a compose project: stack/docker-compose.yml (StackRun) under a
run-specific compose project and name prefix, so a run never touches a real deployment; the compose machinery it
shares with the production stack (ComposeStack: start, `down`/`up`, the hub re-created, the collected logs, the
checked clean-up). What every own stack has: own.py."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from testcontainers.compose import DockerCompose

from acceptance.deployments.deployment import ContainerHub, StackError
from acceptance.deployments.own import OwnStack
from acceptance.settings import COMPOSE_FILE

HUB_SERVICE = "hub"


class ComposeUnavailable(RuntimeError):
    """`docker` or its compose v2 plugin is missing on this host."""


def compose_config(compose_file: Path = COMPOSE_FILE, **overrides: str) -> dict:
    """stack/docker-compose.yml (or another deployment file) as `docker compose config` renders it with the
    file's own defaults: none of the variables it reads is taken from this process's environment (nor a
    stack/.env), except `overrides`. Touches no container."""
    if shutil.which("docker") is None:
        raise ComposeUnavailable("`docker` is not on PATH: run stack/provision-host.sh")
    read = set(re.findall(r"\$\{(\w+)", compose_file.read_text()))
    env = {k: v for k, v in os.environ.items() if k not in read and not k.startswith("COMPOSE_")}
    proc = subprocess.run(["docker", "compose", "--env-file", os.devnull, "-f", str(compose_file),
                           "config", "--format", "json"], env={**env, **overrides}, capture_output=True, text=True)
    if proc.returncode != 0 and "is not a docker command" in proc.stderr + proc.stdout:
        raise ComposeUnavailable("`docker compose` (v2 plugin) is missing: run stack/provision-host.sh")
    if proc.returncode != 0:
        raise AssertionError(f"docker compose config failed: {proc.stderr}")
    return json.loads(proc.stdout)


class ComposeStack(OwnStack, ContainerHub):
    """An own stack that is a compose project (`docker compose` with the run's settings file): the compose
    stack (StackRun) and the production stack (ProductionRun, production.py)."""

    compose_file: Path   # the kind's compose file

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.compose = DockerCompose(context=str(self.compose_file.parent), compose_file_name=self.compose_file.name,
                                     env_file=str(self.env_file), wait=False, pull=False, build=False)

    # --- lifecycle ----------------------------------------------------------------------
    def start_stack(self) -> None:
        """Start the stack's containers (`docker compose up`)."""
        try:
            self.compose.start()
        except Exception as exc:  # CalledProcessError from docker compose
            detail = getattr(exc, "stderr", b"") or b""
            raise StackError(f"`docker compose up` failed: {detail.decode(errors='replace')[-2000:] or exc}") from exc

    def compose_run(self, *args: str) -> None:
        """`docker compose ARGS` with the run's project and settings, as an operator runs it; StackError with the
        end of its output when it fails."""
        proc = subprocess.run([*self.compose.compose_command_property, *args], cwd=self.compose_file.parent,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise StackError(f"`docker compose {' '.join(args)}` failed: {proc.stderr[-2000:]}")

    def compose_down_up(self) -> None:
        """`docker compose down` (without -v: volumes stay) then `up -d`, as an operator would."""
        self.compose_run("down")
        self.compose_run("up", "-d")
        self.wait_until_ready()

    def recreate_hub(self) -> None:
        """`docker compose up -d --force-recreate --no-deps hub`, as an operator replaces the hub's container (a new
        image, changed settings); waits until the new one answers."""
        self.compose_run("up", "-d", "--force-recreate", "--no-deps", HUB_SERVICE)
        self.wait_until_ready()

    def force_recreate_all(self) -> None:
        """`docker compose up -d --force-recreate`: every container of the stack removed and created anew (as an
        upgrade re-creates what changed), networks and volumes kept. Returns once compose has; wait_until_ready()
        before using the stack."""
        self.compose_run("up", "-d", "--force-recreate")

    # --- logs -------------------------------------------------------------------------------
    def collected_log(self, name: str) -> str:
        """What the admin reads with `docker exec <prefix>jupyterhub-logs logs NAME` (docs/logs.md)."""
        result = self.docker.containers.get(self.logs_container_name).exec_run(["logs", name])
        if result.exit_code != 0:
            raise StackError(f"`logs {name}` exited {result.exit_code}: {result.output.decode(errors='replace')}")
        return result.output.decode(errors="replace")

    # --- clean-up -------------------------------------------------------------------------
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


class StackRun(ComposeStack):
    """The compose stack: stack/docker-compose.yml on one host (--stack compose, the default)."""

    kind = "compose"
    kind_text = "stack/docker-compose.yml on one host"
    compose_file = COMPOSE_FILE


os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # no registry for Ryuk's image here
