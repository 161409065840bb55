"""What the stacks the harness starts for a run have in common, whatever their kind (compose, production, swarm):
their names (a run-specific project and name prefix, so a run never touches a real deployment), their settings
file, the images they need, their start, and their clean-up's bookkeeping.

Docker's reaper (Ryuk) cannot run on these hosts, so clean-up is done by the harness and checked: every container,
volume and network whose name starts with the run's prefix (the hub, its network and data volume, and the user
containers and volumes the spawner makes outside the stack) is removed, and nothing else. How a kind starts and
removes its stack is its own (ComposeStack in compose.py, SwarmRun in swarm.py)."""
from __future__ import annotations

import socket
import tempfile
import uuid
from abc import abstractmethod
from pathlib import Path

import docker
import yaml
from docker.errors import NotFound

from acceptance.deployments.deployment import Deployment, StackError
from acceptance.settings import HARNESS_STACK_ENV, PROFILES_FILE, platform_profiles
from images.build import HUB_IMAGE, LOGS_IMAGE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnStack(Deployment):
    """A copy of the platform the harness starts for the run, and removes at its end (--keep-stack: kept)."""

    own = True
    kind: str        # what --stack calls it
    kind_text: str   # what the report says it is
    scheme = "http"  # how its hub is reached on the host's loopback

    def __init__(self, run_id: str | None = None, port: int | None = None, extra_env: dict[str, str] | None = None,
                 extra_profiles: list[dict] | None = None):
        self.run_id = run_id or uuid.uuid4().hex[:6]
        self.project = f"jhv{self.run_id}"
        self.prefix = f"{self.project}-"   # NAME_PREFIX: containers, network, user volumes
        self.port = port or free_port()
        self.hub_url = f"{self.scheme}://127.0.0.1:{self.port}"
        self.docker = docker.from_env()
        self._env_dir = tempfile.TemporaryDirectory(prefix=f"{self.project}-")
        self.env = {
            "COMPOSE_PROJECT_NAME": self.project,
            "NAME_PREFIX": self.prefix,
            **self.published_env(),
            "LOG_PORT": str(free_port()),   # the log collector's, on the host's loopback
            **HARNESS_STACK_ENV,
            **(extra_env or {}),
        }
        if extra_profiles:  # the platform's profiles plus these, in a run-specific copy of profiles.yaml
            profiles_file = Path(self._env_dir.name) / "profiles.yaml"
            data = yaml.safe_load(PROFILES_FILE.read_text())
            profiles_file.write_text(yaml.safe_dump({**data, "profiles": [*data["profiles"], *extra_profiles]}))
            self.env["PROFILES_HOST_FILE"] = str(profiles_file)
        self.write_env_file()
        self.started = False
        self.hub_container_name = f"{self.prefix}jupyterhub-hub"
        self.restarts = 0

    def published_env(self) -> dict[str, str]:
        """The settings that publish the hub on the host's loopback at the run's port."""
        return {"HUB_BIND": "127.0.0.1", "HUB_PORT": str(self.port)}

    @property
    def env_file(self) -> Path:
        """The stack's settings as a KEY=VALUE file (the compose stacks' --env-file)."""
        return Path(self._env_dir.name) / "stack.env"

    def write_env_file(self) -> None:
        """Write `env` to the stack's env file (what docker compose reads): again after changing `env`."""
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))

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

    @abstractmethod
    def start_stack(self) -> None:
        """Start the stack's services."""

    def before_ready(self) -> None:
        """What a kind does between its start and the wait for the hub API (nothing here)."""

    @abstractmethod
    def down(self) -> None:
        """Remove everything of this run and check that nothing is left (StackError: something is)."""

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
