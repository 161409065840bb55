"""Load and validate stack/profiles.yaml, and turn it into ProfilesSpawner entries."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

APPS = ("lab", "vscode", "marimo")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)([KMGT]?)$")
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_FIELDS = ("key", "name", "image", "cpus", "memory", "default_url", "app")
# optional: `build`, the folder under images/ whose Dockerfile makes the image (images/build.py; the hub ignores
# it). Without it the image is a target of images/singleuser/Dockerfile.
_OPTIONAL = ("build",)
_FOLDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class ProfileError(ValueError):
    """The profiles file is malformed; the message names the entry and field."""


def memory_bytes(memory: str) -> int:
    """Docker memory units ("512M", "4G") in bytes, as Docker stores them."""
    m = _MEMORY.match(str(memory).strip().upper())
    if not m:
        raise ProfileError(f"memory {memory!r} is not a Docker size like 512M or 4G")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


@dataclass(frozen=True)
class Profile:
    key: str
    name: str
    image: str
    cpus: float
    memory: str
    default_url: str
    app: str
    build: str | None = None   # folder under images/ with the image's Dockerfile (a custom image)

    @property
    def mem_bytes(self) -> int:
        return memory_bytes(self.memory)

    @property
    def cpu_quota(self) -> int:
        """CFS quota (us per 100000us period) DockerSpawner sets for cpu_limit."""
        return int(self.cpus * 100_000)


def load_profiles(path: str | Path) -> list[Profile]:
    data = yaml.safe_load(Path(path).read_text()) or {}
    entries = data.get("profiles")
    if not isinstance(entries, list) or not entries:
        raise ProfileError(f"{path}: expected a non-empty list under 'profiles'")
    profiles: list[Profile] = []
    for i, entry in enumerate(entries, 1):
        where = f"{path}: profile #{i}"
        if not isinstance(entry, dict):
            raise ProfileError(f"{where} is not a mapping")
        missing = [f for f in _FIELDS if f not in entry]
        extra = sorted(set(entry) - set(_FIELDS) - set(_OPTIONAL))
        if missing or extra:
            raise ProfileError(f"{where} ({entry.get('key', '?')}): missing {missing}, unknown {extra}")
        p = Profile(
            key=str(entry["key"]), name=str(entry["name"]), image=str(entry["image"]),
            cpus=float(entry["cpus"]), memory=str(entry["memory"]),
            default_url=str(entry["default_url"]), app=str(entry["app"]),
            build=None if entry.get("build") is None else str(entry["build"]),
        )
        try:
            memory_bytes(p.memory)
        except ProfileError as exc:
            raise ProfileError(f"{where} ({p.key}): {exc}") from None
        if p.cpus <= 0:
            raise ProfileError(f"{where} ({p.key}): cpus must be > 0")
        if p.app not in APPS:
            raise ProfileError(f"{where} ({p.key}): app {p.app!r} is not one of {APPS}")
        if not p.default_url.startswith("/"):
            raise ProfileError(f"{where} ({p.key}): default_url must start with '/'")
        if p.build is not None and not _FOLDER.match(p.build):
            raise ProfileError(f"{where} ({p.key}): build {p.build!r} is not a folder under images/ "
                               "(like analytics or teams/analytics)")
        profiles.append(p)
    for attr in ("key", "name"):
        values = [getattr(p, attr) for p in profiles]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise ProfileError(f"{path}: duplicate profile {attr}(s) {dupes}")
    return profiles


def spawner_profiles(profiles: list[Profile], spawner_class: str, common: dict) -> list[tuple]:
    """ProfilesSpawner.profiles entries: (display name, key, class, child config).

    Each child config carries the profile's image, limits and default_url plus
    `common`. Values that Spawner and DockerSpawner share must be in this dict:
    wrapspawner 1.0.1 links every shared trait not in it from the wrapper to the
    child, replacing c.DockerSpawner values with plain Spawner defaults.
    """
    out = []
    for p in profiles:
        child = dict(common)
        child.update(image=p.image, cpu_limit=p.cpus, mem_limit=p.memory, default_url=p.default_url)
        out.append((p.name, p.key, spawner_class, child))
    return out
