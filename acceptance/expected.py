"""The expected state: what the specification says the deployment is, read from a declarative file
(acceptance/expected/deployment-verification.yaml by default, another with `--expect FILE`), with the
profiles of any overlays added (`--expect-extra FILE`: a site's custom images, see `overlay`).

Acceptance checks take what they expect from here and what they find from the running deployment.
Nothing here reads the platform's own configuration (stack/profiles.yaml, jupyterhub_config.py)."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
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
    imports: tuple[str, ...] = ()    # modules its kernel's Python must import (an overlay's `imports`)
    commands: tuple[str, ...] = ()   # executables that must be on its PATH (an overlay's `commands`)
    key: str = ""                    # an overlay profile's id (its `id`, or made from its image and limits)
    source: str = ""                 # the overlay file that added it ("": the expected-state file's own)

    @property
    def mem_bytes(self) -> int:
        return memory_bytes(self.memory)

    @property
    def cpu_quota(self) -> int:
        """The CFS quota (us per 100000 us period) that caps a container at `cpus`."""
        return int(self.cpus * 100_000)

    @property
    def id(self) -> str:
        """A short id for test names: "lab-2cpu-4g" (an overlay's profile: "analytics-2cpu-4g", its image's)."""
        return self.key or f"{self.app}-{self.cpus:g}cpu-{self.memory.lower()}"


@dataclass(frozen=True)
class ExpectedState:
    path: Path
    sha256: str
    data: dict
    profiles: tuple[ExpectedProfile, ...]
    overlays: tuple[tuple[Path, str], ...] = ()   # (path, sha256) of each --expect-extra file, in order

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
        return ExpectedState(path=self.path, sha256=self.sha256, data=data, profiles=self.profiles,
                             overlays=self.overlays)

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


_OVERLAY_SECTIONS = ("profiles", "image_sizes")
_OVERLAY_OPTIONAL = ("imports", "commands", "id")
_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_COMMAND = re.compile(r"^[\w][\w.+-]*$")
# a profile's id names the harness's servers of it ("survey-<id>", "cpu-<id>"): JupyterHub's server names are
# safe slugs of at most 30 characters (lower-case letters, digits, single hyphens; a letter first)
_ID = re.compile(r"^[a-z](-?[a-z0-9])*$")
_ID_MAX = 23


def _default_id(image: str, cpus: float, memory: str) -> str:
    """An overlay profile's id when it gives none: its image's name and its limits ("analytics-2cpu-4g"), the
    name shortened to keep the id a valid server-name part."""
    limits = f"-{cpus:g}cpu-{memory.lower()}".replace(".", "p")
    name = re.sub(r"[^a-z0-9]+", "-", image.split("/")[-1].split(":")[0].lower()).strip("-")
    return re.sub(r"^[^a-z]+", "", name[:_ID_MAX - len(limits)].rstrip("-") + limits)


def overlay(state: ExpectedState, path: str | Path) -> ExpectedState:
    """`state` with the overlay file's profiles added: a site's own profiles (custom images) beyond the
    specification's, each with what its kernel must import and its PATH hold. The overlay adds; it never
    changes or removes what `state` expects.

        profiles:                      # required, each with the expected state's profile fields, and
          - name: Analytics - 2 CPU / 4GB
            image: local/analytics:latest
            cpus: 2
            memory: 4G
            lands_on: /lab
            app: lab
            imports: [polars]          # optional: modules its kernel's Python must import
            commands: []               # optional: executables that must be on its PATH
            id: analytics-2cpu-4g      # optional: the id in check names (default: image name, CPUs, memory;
                                       # at most 23 lower-case letters, digits and single hyphens)
        image_sizes:                   # each new image's size bound (Phase 1), when the state has bounds
          local/analytics:latest: 2.5GB
    """
    path = Path(path).resolve()
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise ExpectedStateError(f"cannot read the expected-state overlay {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ExpectedStateError(f"{path}: an overlay is a mapping with a `profiles` list")
    unknown = sorted(set(data) - set(_OVERLAY_SECTIONS))
    if unknown:
        raise ExpectedStateError(f"{path}: unknown section(s) {unknown}: an overlay adds `profiles` (and their "
                                 "images' `image_sizes`), nothing else")
    entries = data.get("profiles")
    if not isinstance(entries, list) or not entries:
        raise ExpectedStateError(f"{path}: `profiles` must be a non-empty list of profiles to add")
    expected_by = {p.name: p.source or state.path.name for p in state.profiles}
    ids = {p.id for p in state.profiles}
    images, added = list(state.images), []
    for i, entry in enumerate(entries, 1):
        where = f"{path}: profile #{i}"
        if not isinstance(entry, dict):
            raise ExpectedStateError(f"{where}: not a mapping of profile fields")
        where = f"{where} ({entry.get('name', '?')})"
        missing = [f for f in _PROFILE_FIELDS if f not in entry]
        extra = sorted(set(entry) - set(_PROFILE_FIELDS) - set(_OVERLAY_OPTIONAL))
        if missing or extra:
            raise ExpectedStateError(f"{where}: missing field(s) {missing}, unknown field(s) {extra} (fields: "
                                     f"{list(_PROFILE_FIELDS)}, optional {list(_OVERLAY_OPTIONAL)})")
        imports, commands = (_names(entry.get(f), f, pattern, where) for f, pattern in
                             (("imports", _MODULE), ("commands", _COMMAND)))
        try:
            cpus = float(entry["cpus"])
        except (TypeError, ValueError):
            raise ExpectedStateError(f"{where}: cpus {entry['cpus']!r} is not a number") from None
        image, memory = str(entry["image"]), str(entry["memory"])
        key = str(entry.get("id") or _default_id(image, cpus, memory))
        p = ExpectedProfile(name=str(entry["name"]), image=image, cpus=cpus, memory=memory,
                            lands_on=str(entry["lands_on"]), app=str(entry["app"]), imports=imports,
                            commands=commands, key=key, source=path.name)
        try:
            memory_bytes(p.memory)
        except ExpectedStateError as exc:
            raise ExpectedStateError(f"{where}: {exc}") from None
        if p.cpus <= 0:
            raise ExpectedStateError(f"{where}: cpus must be > 0")
        if p.app not in APPS:
            raise ExpectedStateError(f"{where}: app {p.app!r} is not one of {APPS}")
        if not p.lands_on.startswith("/"):
            raise ExpectedStateError(f"{where}: lands_on {p.lands_on!r} must start with '/'")
        if not _ID.match(p.key) or len(p.key) > _ID_MAX:
            raise ExpectedStateError(f"{where}: id {p.key!r} must be at most {_ID_MAX} lower-case letters, digits "
                                     "and single hyphens, a letter first (it names the harness's servers of it)")
        if p.name in expected_by:
            raise ExpectedStateError(f"{where}: a profile named {p.name!r} is already expected (in "
                                     f"{expected_by[p.name]}): an overlay adds profiles, it does not replace them")
        if p.id in ids:
            raise ExpectedStateError(f"{where}: its id {p.id!r} is another expected profile's: give it an `id`")
        expected_by[p.name] = path.name
        ids.add(p.id)
        added.append(p)
        if p.image not in images:
            images.append(p.image)
    sizes = data.get("image_sizes") or {}
    if not isinstance(sizes, dict):
        raise ExpectedStateError(f"{path}: image_sizes must map image tags to sizes, not {sizes!r}")
    for tag in sizes:
        if tag in state.images or tag not in images:
            raise ExpectedStateError(f"{path}: image_sizes {tag}: an overlay bounds only the images its profiles "
                                     "add")
    merged_sizes = {**(state.data.get("image_sizes") or {}), **sizes}
    if state.data.get("image_sizes"):
        unbounded = [t for t in images if t not in merged_sizes]
        if unbounded:
            raise ExpectedStateError(f"{path}: image_sizes: give each image the overlay adds a size bound (Phase 1 "
                                     f"checks every image's size): {unbounded}")
    data_out = {**state.data, "images": images,
                "profiles": [*state.data["profiles"], *(dict(e) for e in entries)]}
    if merged_sizes:
        data_out["image_sizes"] = merged_sizes
    for tag, size in sizes.items():
        try:
            image_size_bytes(size)
        except ExpectedStateError as exc:
            raise ExpectedStateError(f"{path}: image_sizes {tag}: {exc}") from None
    return ExpectedState(path=state.path, sha256=state.sha256, data=data_out, profiles=(*state.profiles, *added),
                         overlays=(*state.overlays, (path, hashlib.sha256(raw).hexdigest())))


def _names(value, field: str, pattern: re.Pattern, where: str) -> tuple[str, ...]:
    """An overlay profile's `imports` or `commands`: a list of names."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and pattern.match(v) for v in value):
        kind = "module names (polars, sklearn.linear_model)" if field == "imports" else "command names (duckdb)"
        raise ExpectedStateError(f"{where}: {field} must be a list of {kind}, not {value!r}")
    return tuple(value)


def load_with(path: str | Path | None = None, extras: Iterable[str | Path] = ()) -> ExpectedState:
    """The expected-state file `path` (None: the default) with the overlays `extras` added, in order."""
    state = load(path or DEFAULT_FILE)
    for extra in extras:
        state = overlay(state, extra)
    return state


_current: ExpectedState | None = None


def use(path: str | Path | None, extras: Iterable[str | Path] = ()) -> ExpectedState:
    """Make `path` (None: the default file), with the overlays `extras` added, the run's expected state."""
    global _current
    _current = load_with(path, extras)
    return _current


def use_stack(kind: str) -> ExpectedState:
    """Make the run's expected state that of the platform deployed as `kind` (--stack)."""
    global _current
    _current = current().for_stack(kind)
    return _current


def current() -> ExpectedState:
    """The run's expected state (set from --expect at configure time; the default file otherwise)."""
    return _current if _current is not None else use(None)
