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
import httpx
import yaml
from docker.errors import NotFound
from dockerspawner import DockerSpawner
from testcontainers.compose import DockerCompose

from acceptance import probes
from acceptance.polling import PollAbort, WaitTimeout, wait_for
from acceptance.settings import (
    COMPOSE_FILE,
    HARNESS_STACK_ENV,
    PROFILES_FILE,
    STACK_DIR,
    Timeouts,
    platform_profiles,
)
from images.build import HUB_IMAGE

HUB_SERVICE = "hub"


class StackError(RuntimeError):
    """The stack could not be started; the message says what is wrong."""


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


class StackRun:
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
        self.compose = DockerCompose(context=str(STACK_DIR), compose_file_name=COMPOSE_FILE.name,
                                     env_file=str(env_file), wait=False, pull=False, build=False)
        self.started = False
        self.restarts = 0                  # hub restarts this run made
        self.first_secrets: dict = {}      # the hub's secrets right after its first start

    # --- names ------------------------------------------------------------------------
    @property
    def hub_container_name(self) -> str:
        return f"{self.prefix}jupyterhub-hub"

    @property
    def network_name(self) -> str:
        return f"{self.prefix}jupyterhub-net"

    @property
    def data_volume_name(self) -> str:
        return f"{self.project}_jupyterhub_data"

    def user_volume_name(self, username: str) -> str:
        return f"{self.prefix}jupyterhub-user-{DockerSpawner._escape(username)}"

    def user_container_name(self, username: str, server: str = "") -> str:
        """DockerSpawner's name: {prefix}-{username}[--{servername}], both escaped ('-' -> '-2d')."""
        name = f"{self.prefix}jupyter-{DockerSpawner._escape(username)}"
        return name + (f"--{DockerSpawner._escape(server)}" if server else "")

    # --- lifecycle ----------------------------------------------------------------------
    def check_images(self) -> None:
        wanted = [HUB_IMAGE, *dict.fromkeys(p.image for p in platform_profiles())]
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
        try:
            self.compose.start()
        except Exception as exc:  # CalledProcessError from docker compose
            detail = getattr(exc, "stderr", b"") or b""
            raise StackError(f"`docker compose up` failed: {detail.decode(errors='replace')[-2000:] or exc}") from exc
        self.started = True
        self.wait_until_ready()
        self.first_secrets = self.secrets()

    def wait_until_ready(self, timeout: float = Timeouts.hub_ready) -> None:
        """Wait until the hub's REST API answers through the proxy (not just /hub/health).
        A hub that exits or restarts (its config failed) ends the wait at once, with its log."""
        restarts_before = self.hub_restart_count()

        def api_answers():
            state = self.hub_state()
            if state in ("exited", "dead", "restarting") or self.hub_restart_count() > restarts_before:
                raise PollAbort(f"the hub container did not stay up ({state}); its log ends with:\n"
                                f"{self.hub_logs(15)}")
            r = httpx.get(f"{self.hub_url}/hub/api/", timeout=5)
            return r.status_code == 200 and "version" in r.json()

        try:
            wait_for(api_answers, timeout=timeout, what=f"the hub API at {self.hub_url}/hub/api/")
        except PollAbort as exc:
            raise StackError(str(exc)) from None
        except WaitTimeout as exc:
            raise StackError(f"{exc}\nhub log ends with:\n{self.hub_logs(40)}") from None

    def restart_hub(self) -> None:
        self.docker.containers.get(self.hub_container_name).restart(timeout=10)
        self.restarts += 1
        self.wait_until_ready()

    def compose_down_up(self) -> None:
        """`docker compose down` (without -v: volumes stay) then `up -d`, as an operator would."""
        for args in (["down"], ["up", "-d"]):
            proc = subprocess.run([*self.compose.compose_command_property, *args], cwd=STACK_DIR,
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise StackError(f"`docker compose {' '.join(args)}` failed: {proc.stderr[-2000:]}")
        self.wait_until_ready()

    # --- inspection ---------------------------------------------------------------------
    def hub(self):
        return self.docker.containers.get(self.hub_container_name)

    def hub_state(self) -> str:
        try:
            return self.hub().status
        except NotFound:
            return "missing"

    def hub_restart_count(self) -> int:
        try:
            return int(self.hub().attrs.get("RestartCount", 0))
        except NotFound:
            return 0

    def hub_logs(self, tail: int | str = "all") -> str:
        try:
            return self.hub().logs(tail=tail).decode(errors="replace")
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

    def native_accounts(self) -> dict[str, dict]:
        """NativeAuthenticator's accounts, read from the hub's database: username -> its stored row
        (password hash, authorized, 2FA), to show that refused inputs create or change nothing."""
        return json.loads(self.hub_python(
            "import json, sqlite3\n"
            "db = sqlite3.connect('/srv/jupyterhub/jupyterhub.sqlite')\n"
            "rows = db.execute('select username, password, is_authorized, has_2fa from users_info').fetchall()\n"
            "print(json.dumps({u: {'password': p.hex() if isinstance(p, bytes) else p, 'authorized': bool(a),"
            " 'has_2fa': bool(t)} for u, p, a, t in rows}))\n"))

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
        return [c for c in self.docker.containers.list(all=True) if c.name.startswith(self.prefix)]

    def user_containers(self):
        return [c for c in self.containers() if c.name != self.hub_container_name]

    def diagnostics(self) -> dict[str, str]:
        """Logs and `docker inspect` of every container of this run (for failure reports)."""
        out = {"hub log": self.hub_logs(400)}
        for c in self.user_containers():
            out[f"{c.name} log"] = c.logs(tail=300).decode(errors="replace")
            out[f"{c.name} inspect"] = json.dumps(c.attrs, indent=2)[:60000]
        return out

    # --- clean-up -------------------------------------------------------------------------
    def _run_objects(self):
        """(kind, object) for every container, volume and network named after this run, in removal order."""
        prefix = self.project
        yield from (("container", c) for c in self.docker.containers.list(all=True) if c.name.startswith(prefix))
        yield from (("volume", v) for v in self.docker.volumes.list() if v.name.startswith(prefix))
        yield from (("network", n) for n in self.docker.networks.list() if n.name.startswith(prefix))

    def leftovers(self) -> list[str]:
        return [f"{kind} {obj.name}" for kind, obj in self._run_objects()]

    def down(self) -> None:
        """Remove everything of this run and check that nothing is left."""
        errors = []

        def remove(kind, obj):
            try:
                obj.remove() if kind == "network" else obj.remove(force=True)
            except NotFound:
                pass
            except Exception as exc:  # noqa: BLE001 - collected, reported below
                errors.append(f"remove {kind} {obj.name}: {exc}")

        for c in self.user_containers():   # first: they hold the network and user volumes
            remove("container", c)
        try:
            self.compose.stop(down=True)   # hub, network, data volume
        except Exception as exc:  # noqa: BLE001
            errors.append(f"docker compose down: {getattr(exc, 'stderr', b'').decode(errors='replace') or exc}")
        for kind, obj in list(self._run_objects()):   # whatever compose did not remove
            remove(kind, obj)
        self._env_dir.cleanup()
        left = self.leftovers()
        if left or errors:
            raise StackError(f"clean-up of run {self.project} incomplete: left {left}; errors {errors}")


os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # no registry for Ryuk's image here
