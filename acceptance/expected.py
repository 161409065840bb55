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
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

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
        try:
            return list(_Singleuser.model_validate(self.data.get("singleuser") or {}).command)
        except ValidationError:
            raise ExpectedStateError(f"{self.path}: singleuser.command must be a non-empty list of strings") from None

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


# --- the files' shapes (pydantic): a validation error is turned into a message naming the file and the entry ------
class _ProfileEntry(BaseModel):
    """A profile as the expected-state file gives it."""
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
    name: str
    image: str
    cpus: float
    memory: str
    lands_on: str
    app: str

    @field_validator("memory")
    @classmethod
    def _memory(cls, memory: str) -> str:
        memory_bytes(memory)
        return memory

    @field_validator("app")
    @classmethod
    def _app(cls, app: str) -> str:
        if app not in APPS:
            raise ValueError(f"app {app!r} is not one of {APPS}")
        return app


def _sizes(sizes: dict[str, str] | None) -> dict[str, str] | None:
    for tag, size in (sizes or {}).items():
        try:
            image_size_bytes(size)
        except ExpectedStateError as exc:
            raise ValueError(f"image_sizes {tag}: {exc}") from None
    return sizes


class _StateFile(BaseModel):
    """The expected-state file's required sections (others, such as stacks and versions, pass as they are)."""
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)
    images: list[str]
    infrastructure: dict
    profiles: list[_ProfileEntry]
    checklist_profiles: dict[str, str]
    users: dict
    auth_modes: dict
    image_sizes: dict[str, str] | None = None

    sizes_parse = field_validator("image_sizes")(_sizes)

    @field_validator("profiles")
    @classmethod
    def _unique(cls, profiles: list[_ProfileEntry]) -> list[_ProfileEntry]:
        names = [p.name for p in profiles]
        if len(set(names)) != len(names):
            raise ValueError("duplicate profile names")
        return profiles

    @model_validator(mode="after")
    def _checklist_profiles_exist(self) -> _StateFile:
        names = {p.name for p in self.profiles}
        for name in self.checklist_profiles.values():
            if name not in names:
                raise ValueError(f"no profile named {name!r}")
        return self


class _Singleuser(BaseModel):
    command: list[StrictStr] = Field(min_length=1)


def _problem(error: dict, field: tuple = ()) -> str:
    """A validation error's words: a validator's message as it raised it (it names what it checked), else pydantic's
    after the field's name (`field`: its place in the entry)."""
    cause = (error.get("ctx") or {}).get("error")
    if cause is not None:
        return str(cause)
    where = ".".join(str(part) for part in field)
    return f"{where + ': ' if where else ''}{error['msg']}, not {error.get('input')!r}"


def _state_file_error(path: Path, data: Any, exc: ValidationError) -> ExpectedStateError:
    errors = exc.errors()
    missing = [e["loc"][0] for e in errors if e["type"] == "missing" and len(e["loc"]) == 1]
    if missing:
        return ExpectedStateError(f"{path}: missing section(s) {missing}")
    error = errors[0]
    loc = error["loc"]
    if loc[:1] == ("profiles",) and len(loc) >= 2 and isinstance(loc[1], int):
        entry = data["profiles"][loc[1]]
        where = f"{path}: profile #{loc[1] + 1}"
        if not isinstance(entry, dict) or any(e["type"] in ("missing", "extra_forbidden") and e["loc"][:2] == loc[:2]
                                              for e in errors):
            return ExpectedStateError(f"{where}: needs exactly the fields {list(_PROFILE_FIELDS)}, has {entry}")
        return ExpectedStateError(f"{where} ({entry.get('name')}): {_problem(error, loc[2:])}")
    if loc == ("image_sizes",) and error["type"] == "dict_type":
        return ExpectedStateError(f"{path}: image_sizes must map image tags to sizes, not {error['input']!r}")
    return ExpectedStateError(f"{path}: {_problem(error, loc)}")


def load(path: str | Path = DEFAULT_FILE) -> ExpectedState:
    path = Path(path).resolve()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ExpectedStateError(f"cannot read the expected-state file {path}: {exc}") from None
    data = yaml.safe_load(raw) or {}
    try:
        spec = _StateFile.model_validate(data)
    except ValidationError as exc:
        raise _state_file_error(path, data, exc) from None
    profiles = tuple(ExpectedProfile(**p.model_dump()) for p in spec.profiles)
    return ExpectedState(path=path, sha256=hashlib.sha256(raw).hexdigest(), data=data, profiles=profiles)


_OVERLAY_SECTIONS = ("profiles", "image_sizes")
_OVERLAY_OPTIONAL = ("imports", "commands", "id")
_MODULE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_COMMAND = re.compile(r"^[\w][\w.+-]*$")
# a profile's id names the harness's servers of it ("survey-<id>", "cpu-<id>"): JupyterHub's server names are
# safe slugs of at most 30 characters (lower-case letters, digits, single hyphens; a letter first)
_ID = re.compile(r"^[a-z](-?[a-z0-9])*$")
_ID_MAX = 23
_NAME_KINDS = {"imports": "module names (polars, sklearn.linear_model)", "commands": "command names (duckdb)"}


def _default_id(image: str, cpus: float, memory: str) -> str:
    """An overlay profile's id when it gives none: its image's name and its limits ("analytics-2cpu-4g"), the
    name shortened to keep the id a valid server-name part."""
    limits = f"-{cpus:g}cpu-{memory.lower()}".replace(".", "p")
    name = re.sub(r"[^a-z0-9]+", "-", image.split("/")[-1].split(":")[0].lower()).strip("-")
    return re.sub(r"^[^a-z]+", "", name[:_ID_MAX - len(limits)].rstrip("-") + limits)


class _OverlayProfile(_ProfileEntry):
    """A profile an overlay adds: the expected state's fields, limits above 0, and what its kernel must import
    and its PATH hold."""
    cpus: float = Field(gt=0)
    imports: list[Annotated[StrictStr, StringConstraints(pattern=_MODULE.pattern)]] | None = None
    commands: list[Annotated[StrictStr, StringConstraints(pattern=_COMMAND.pattern)]] | None = None
    id: str | None = None

    @field_validator("lands_on")
    @classmethod
    def _lands_on(cls, lands_on: str) -> str:
        if not lands_on.startswith("/"):
            raise ValueError(f"lands_on {lands_on!r} must start with '/'")
        return lands_on

    @property
    def key(self) -> str:
        return self.id or _default_id(self.image, self.cpus, self.memory)

    @model_validator(mode="after")
    def _valid_id(self) -> _OverlayProfile:
        if not _ID.match(self.key) or len(self.key) > _ID_MAX:
            raise ValueError(f"id {self.key!r} must be at most {_ID_MAX} lower-case letters, digits and single "
                             "hyphens, a letter first (it names the harness's servers of it)")
        return self


class _OverlayFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    profiles: list[_OverlayProfile] = Field(min_length=1)
    image_sizes: dict[str, str] | None = None

    sizes_parse = field_validator("image_sizes")(_sizes)


def _overlay_error(path: Path, data: Any, exc: ValidationError) -> ExpectedStateError:
    errors = exc.errors()
    error = errors[0]
    loc = error["loc"]
    if loc == ():
        return ExpectedStateError(f"{path}: an overlay is a mapping with a `profiles` list")
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1)
    if unknown:
        return ExpectedStateError(f"{path}: unknown section(s) {unknown}: an overlay adds `profiles` (and their "
                                  "images' `image_sizes`), nothing else")
    if loc[0] == "profiles" and len(loc) == 1:
        return ExpectedStateError(f"{path}: `profiles` must be a non-empty list of profiles to add")
    if loc[0] == "profiles":
        entry, where = data["profiles"][loc[1]], f"{path}: profile #{loc[1] + 1}"
        if not isinstance(entry, dict):
            return ExpectedStateError(f"{where}: not a mapping of profile fields")
        where = f"{where} ({entry.get('name', '?')})"
        here = [e for e in errors if e["loc"][:2] == loc[:2]]
        missing = [e["loc"][2] for e in here if e["type"] == "missing" and len(e["loc"]) == 3]
        extra = sorted(e["loc"][2] for e in here if e["type"] == "extra_forbidden")
        if missing or extra:
            return ExpectedStateError(f"{where}: missing field(s) {missing}, unknown field(s) {extra} (fields: "
                                      f"{list(_PROFILE_FIELDS)}, optional {list(_OVERLAY_OPTIONAL)})")
        field = loc[2] if len(loc) > 2 else None
        if field in _NAME_KINDS:
            return ExpectedStateError(f"{where}: {field} must be a list of {_NAME_KINDS[field]}, not "
                                      f"{entry[field]!r}")
        if field == "cpus":
            return ExpectedStateError(f"{where}: cpus must be > 0" if error["type"] == "greater_than" else
                                      f"{where}: cpus {entry['cpus']!r} is not a number")
        return ExpectedStateError(f"{where}: {_problem(error, loc[2:])}")
    if loc == ("image_sizes",) and error["type"] == "dict_type":
        return ExpectedStateError(f"{path}: image_sizes must map image tags to sizes, not {error['input']!r}")
    return ExpectedStateError(f"{path}: {_problem(error, loc)}")


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
    try:
        spec = _OverlayFile.model_validate(data)
    except ValidationError as exc:
        raise _overlay_error(path, data, exc) from None
    expected_by = {p.name: p.source or state.path.name for p in state.profiles}
    ids = {p.id for p in state.profiles}
    images, added = list(state.images), []
    for i, entry in enumerate(spec.profiles, 1):
        where = f"{path}: profile #{i} ({entry.name})"
        p = ExpectedProfile(name=entry.name, image=entry.image, cpus=entry.cpus, memory=entry.memory,
                            lands_on=entry.lands_on, app=entry.app, imports=tuple(entry.imports or ()),
                            commands=tuple(entry.commands or ()), key=entry.key, source=path.name)
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
    sizes = spec.image_sizes or {}
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
                "profiles": [*state.data["profiles"], *(dict(e) for e in data["profiles"])]}
    if merged_sizes:
        data_out["image_sizes"] = merged_sizes
    return ExpectedState(path=state.path, sha256=state.sha256, data=data_out, profiles=(*state.profiles, *added),
                         overlays=(*state.overlays, (path, hashlib.sha256(raw).hexdigest())))


def load_with(path: str | Path | None = None, extras: Iterable[str | Path] = ()) -> ExpectedState:
    """The expected-state file `path` (None: the default) with the overlays `extras` added, in order."""
    state = load(path or DEFAULT_FILE)
    for extra in extras:
        state = overlay(state, extra)
    return state


def for_run(path: str | Path | None, extras: Iterable[str | Path] = (), stack: str = "compose") -> ExpectedState:
    """The run's expected state: `path` (None: the default file) with the overlays `extras` added, as the platform
    deployed as `stack` (--stack) is expected to be."""
    return load_with(path, extras).for_stack(stack)
