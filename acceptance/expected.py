"""The expected state: what the specification says the deployment is, read from a declarative file
(acceptance/expected/deployment-verification.yaml by default, another with `--expect FILE`).

Acceptance checks take what they expect from here and what they find from the running deployment.
Nothing here reads the platform's own configuration (stack/profiles.yaml, jupyterhub_config.py)."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_FILE = Path(__file__).resolve().parent / "expected" / "deployment-verification.yaml"
APPS = ("lab", "vscode", "marimo")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)$")
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_IMAGE_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMG]?B)$")
_IMAGE_UNITS = {"B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3}   # as `docker images` shows sizes


class ExpectedStateError(ValueError):
    """The expected-state file is malformed; the message names the file and the entry."""


def memory_bytes(memory: str) -> int:
    """Docker memory units ("512M", "4G") in bytes, as `docker inspect` shows HostConfig.Memory.
    Deliberately not the platform's own parser (jhub_platform.profiles): a wrong conversion there must
    show up as a difference, not be shared by the expectation."""
    m = _MEMORY.match(str(memory).strip().upper())
    if not m:
        raise ExpectedStateError(f"memory {memory!r} is not a size like 512M or 4G")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def image_size_bytes(size: str) -> int:
    """An image size as `docker images` and the specification write it ("1.94GB": 10^9 bytes) in bytes."""
    m = _IMAGE_SIZE.match(str(size).strip().upper())
    if not m:
        raise ExpectedStateError(f"image size {size!r} is not a size like 1.94GB or 850MB")
    return int(float(m.group(1)) * _IMAGE_UNITS[m.group(2)])


@dataclass(frozen=True)
class ExpectedProfile:
    name: str          # what the spawn form's dropdown shows
    image: str
    cpus: float
    memory: str
    lands_on: str      # the landing path, relative to the server's /user/<name>/[<server>/]
    app: str           # lab | vscode | marimo: what answers there

    @property
    def mem_bytes(self) -> int:
        return memory_bytes(self.memory)

    @property
    def cpu_quota(self) -> int:
        """The CFS quota (us per 100000 us period) that caps a container at `cpus`."""
        return int(self.cpus * 100_000)

    @property
    def id(self) -> str:
        """A short id for test names: "lab-2cpu-4g"."""
        return f"{self.app}-{self.cpus:g}cpu-{self.memory.lower()}"


@dataclass(frozen=True)
class ExpectedState:
    path: Path
    sha256: str
    data: dict
    profiles: tuple[ExpectedProfile, ...]

    # --- sections ---------------------------------------------------------------------------
    @property
    def images(self) -> list[str]:
        return list(self.data["images"])

    @property
    def image_sizes(self) -> dict[str, str]:
        """Each image's size bound as the file writes it (`image_sizes`: the specification's measured sizes)."""
        return {str(tag): str(size) for tag, size in (self.data.get("image_sizes") or {}).items()}

    @property
    def image_max_bytes(self) -> dict[str, int]:
        """Each image's size bound in bytes: an image may be no larger."""
        return {tag: image_size_bytes(size) for tag, size in self.image_sizes.items()}

    @property
    def infra(self) -> dict:
        return self.data["infrastructure"]

    @property
    def users(self) -> dict:
        return self.data["users"]

    @property
    def admin(self) -> str:
        return str(self.users["admin"])

    @property
    def auth_modes(self) -> dict:
        return self.data["auth_modes"]

    @property
    def versions(self) -> dict:
        return {k: str(v) for k, v in (self.data.get("versions") or {}).items()}

    @property
    def stack_kind(self) -> str:
        return str(self.data.get("stack_kind", "compose"))

    def stack_differences(self) -> list[str]:
        return list((self.data.get("stacks") or {}).get(self.stack_kind, {}).get("differences", []))

    def for_stack(self, kind: str) -> ExpectedState:
        """The expected state of the platform deployed as `kind` ("compose": this file as it is; another: with
        its entry under `stacks` applied)."""
        if kind == "compose":
            return self
        variant = (self.data.get("stacks") or {}).get(kind)
        if variant is None:
            raise ExpectedStateError(f"{self.path}: no expected state for the stack {kind!r} (under `stacks`)")
        data = {**self.data, "stack_kind": kind, "infrastructure": {**self.infra, **variant.get("infrastructure", {})},
                "users": {**self.users, **variant.get("users", {})}}
        return ExpectedState(path=self.path, sha256=self.sha256, data=data, profiles=self.profiles)

    def cpu_limit(self, profile: ExpectedProfile, node_cores: float) -> float:
        """The CPU limit a server of `profile` gets on a node with `node_cores` cores."""
        variant = (self.data.get("stacks") or {}).get(self.stack_kind, {})
        return min(profile.cpus, node_cores) if variant.get("cpu_limit_capped_at_node_cores") else profile.cpus

    @property
    def singleuser_command(self) -> list[str]:
        """What a single-user server runs (the optional `singleuser` section)."""
        command = (self.data.get("singleuser") or {}).get("command")
        if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
            raise ExpectedStateError(f"{self.path}: singleuser.command must be a non-empty list of strings")
        return list(command)

    # --- lookups ----------------------------------------------------------------------------
    def profile(self, name: str) -> ExpectedProfile:
        for p in self.profiles:
            if p.name == name:
                return p
        raise ExpectedStateError(f"{self.path}: no profile named {name!r}")

    def checklist_profile(self, step: str) -> ExpectedProfile:
        """The profile a checklist test (T3..T6) starts in the browser."""
        return self.profile(self.data["checklist_profiles"][step])

    def of_app(self, app: str) -> list[ExpectedProfile]:
        return [p for p in self.profiles if p.app == app]

    def name(self, key: str, *, prefix: str = "", project: str = "jhub-docker", **fields: str) -> str:
        """A Docker object's expected name: infrastructure/users template `key` rendered."""
        template = self.infra.get(key, self.users.get(key))
        if template is None:
            raise ExpectedStateError(f"{self.path}: no name template {key!r}")
        return str(template).format(prefix=prefix, project=project, **fields)


_PROFILE_FIELDS = ("name", "image", "cpus", "memory", "lands_on", "app")
_SECTIONS = ("images", "infrastructure", "profiles", "checklist_profiles", "users", "auth_modes")


def load(path: str | Path = DEFAULT_FILE) -> ExpectedState:
    path = Path(path).resolve()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ExpectedStateError(f"cannot read the expected-state file {path}: {exc}") from None
    data = yaml.safe_load(raw) or {}
    missing = [s for s in _SECTIONS if s not in data]
    if missing:
        raise ExpectedStateError(f"{path}: missing section(s) {missing}")
    profiles = []
    for i, entry in enumerate(data["profiles"], 1):
        where = f"{path}: profile #{i}"
        if not isinstance(entry, dict) or sorted(entry) != sorted(_PROFILE_FIELDS):
            raise ExpectedStateError(f"{where}: needs exactly the fields {list(_PROFILE_FIELDS)}, has {entry}")
        p = ExpectedProfile(name=str(entry["name"]), image=str(entry["image"]), cpus=float(entry["cpus"]),
                            memory=str(entry["memory"]), lands_on=str(entry["lands_on"]), app=str(entry["app"]))
        if p.app not in APPS:
            raise ExpectedStateError(f"{where} ({p.name}): app {p.app!r} is not one of {APPS}")
        memory_bytes(p.memory)
        profiles.append(p)
    sizes = data.get("image_sizes") or {}
    if not isinstance(sizes, dict):
        raise ExpectedStateError(f"{path}: image_sizes must map image tags to sizes, not {sizes!r}")
    for tag, size in sizes.items():
        try:
            image_size_bytes(size)
        except ExpectedStateError as exc:
            raise ExpectedStateError(f"{path}: image_sizes {tag}: {exc}") from None
    names = [p.name for p in profiles]
    if len(set(names)) != len(names):
        raise ExpectedStateError(f"{path}: duplicate profile names")
    state = ExpectedState(path=path, sha256=hashlib.sha256(raw).hexdigest(), data=data, profiles=tuple(profiles))
    for step in data["checklist_profiles"]:
        state.checklist_profile(step)
    return state


_current: ExpectedState | None = None


def use(path: str | Path | None) -> ExpectedState:
    """Make `path` (None: the default file) the run's expected state."""
    global _current
    _current = load(path or DEFAULT_FILE)
    return _current


def use_stack(kind: str) -> ExpectedState:
    """Make the run's expected state that of the platform deployed as `kind` (--stack)."""
    global _current
    _current = current().for_stack(kind)
    return _current


def current() -> ExpectedState:
    """The run's expected state (set from --expect at configure time; the default file otherwise)."""
    return _current if _current is not None else use(None)
