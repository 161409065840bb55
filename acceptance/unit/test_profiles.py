"""stack/profiles.yaml and jhub_platform.profiles: agreement with the specification's expected state,
validation, spawner entries."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from jhub_platform.profiles import ProfileError, load_profiles, memory_bytes, spawner_profiles

from acceptance import expected, settings
from acceptance.settings import ROOT

COMMON = {"ip": "0.0.0.0", "port": 8888, "notebook_dir": "/home/nebula"}
ENTRY = {"key": "k", "name": "N - 1 CPU / 1GB", "image": "local/uv-lab:latest", "cpus": 1, "memory": "1G",
         "default_url": "/lab", "app": "lab"}


def write_profiles(tmp_path, entries):
    path = tmp_path / "profiles.yaml"
    path.write_text(yaml.safe_dump({"profiles": entries}))
    return path


def load_error(tmp_path, entries) -> str:
    with pytest.raises(ProfileError) as info:
        load_profiles(write_profiles(tmp_path, entries))
    return str(info.value)


def dockerfile_targets() -> set[str]:
    text = (ROOT / "images" / "singleuser" / "Dockerfile").read_text()
    return set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, flags=re.MULTILINE | re.IGNORECASE))


def test_the_hub_package_tested_is_this_checkouts():
    """jhub_platform is installed editable (noxfile.py): a copy installed from an older checkout, or a plain install
    not rebuilt after an edit, would have every test here pass against code that is not the one in images/hub/."""
    import jhub_platform

    assert Path(jhub_platform.__file__).resolve().parent == ROOT / "images" / "hub" / "jhub_platform", \
        f"jhub_platform imported from {jhub_platform.__file__}: reinstall it with pip install -e images/hub"


def test_profiles_yaml_agrees_with_the_expected_state():
    """Whoever edits stack/profiles.yaml or the expected-state file is told at once when they disagree."""
    state = expected.load()
    platform = {p.name: p for p in settings.platform_profiles()}
    disagreements = []
    for want in state.profiles:
        have = platform.pop(want.name, None)
        if have is None:
            disagreements.append(f"{want.name!r}: in {state.path.name}, not in profiles.yaml")
            continue
        fields = {"image": (have.image, want.image), "cpus": (have.cpus, want.cpus),
                  "memory": (have.mem_bytes, want.mem_bytes), "landing": (have.default_url, want.lands_on),
                  "app": (have.app, want.app)}
        disagreements += [f"{want.name!r} {field}: profiles.yaml {a!r}, expected {b!r}"
                          for field, (a, b) in fields.items() if a != b]
    disagreements += [f"{name!r}: in profiles.yaml, not in {state.path.name}" for name in platform]
    assert not disagreements, "stack/profiles.yaml and the expected state disagree:\n" + "\n".join(disagreements)


def test_six_profiles_with_unique_keys():
    assert len({p.key for p in settings.platform_profiles()}) == 6


def test_display_name_states_own_cpus_and_memory():
    for p in settings.platform_profiles():
        m = re.search(r"(\d+(?:\.\d+)?) CPU / (\d+)GB", p.name)
        assert m, f"{p.key}: name {p.name!r} states no 'N CPU / NGB'"
        assert float(m.group(1)) == p.cpus, p.key
        assert int(m.group(2)) * 1024**3 == p.mem_bytes, p.key


def test_every_image_is_a_singleuser_dockerfile_target():
    """... or, for a profile with `build: <folder>` (a custom image), built from images/<folder>/Dockerfile."""
    targets = dockerfile_targets()
    for p in settings.platform_profiles():
        if p.build:
            assert (ROOT / "images" / p.build / "Dockerfile").is_file(), f"{p.key}: build {p.build}"
        else:
            assert p.image.split("/")[-1].split(":")[0] in targets, p.image


def test_build_is_optional_and_names_a_folder_under_images(tmp_path):
    [plain, custom] = load_profiles(write_profiles(tmp_path, [ENTRY, ENTRY | {"key": "c", "name": "C",
                                                                               "build": "teams/analytics"}]))
    assert (plain.build, custom.build) == (None, "teams/analytics")
    for bad in ("../x", "/abs", "a/../b", "", "a b"):
        message = load_error(tmp_path, [ENTRY | {"build": bad}])
        assert "profile #1 (k): build" in message and "not a folder under images/" in message, bad


@pytest.mark.parametrize(("text", "expected"), [
    ("512M", 512 * 1024**2), ("4G", 4 * 1024**3), ("4g", 4 * 1024**3), ("1.5G", 3 * 512 * 1024**2),
    ("2048K", 2 * 1024**2), ("1T", 1024**4), ("100", 100),
])
def test_memory_bytes_units(text, expected):
    assert memory_bytes(text) == expected


@pytest.mark.parametrize("text", ["4 gigs", "4GB", "", "-1G"])
def test_memory_bytes_rejects_non_docker_sizes(text):
    with pytest.raises(ProfileError):
        memory_bytes(text)


def test_load_error_missing_field_names_entry_and_field(tmp_path):
    broken = {k: v for k, v in ENTRY.items() if k != "memory"}
    message = load_error(tmp_path, [ENTRY | {"key": "ok"}, broken])
    assert "profile #2" in message and "(k)" in message and "memory" in message


def test_load_error_bad_memory_names_entry_and_field(tmp_path):
    message = load_error(tmp_path, [ENTRY | {"key": "ok"}, ENTRY | {"memory": "4 gigs"}])
    assert "memory" in message and "4 gigs" in message
    assert "profile #2" in message or "(k)" in message


def test_load_error_duplicate_key_names_key(tmp_path):
    message = load_error(tmp_path, [ENTRY, ENTRY | {"name": "other"}])
    assert "duplicate profile key" in message and "'k'" in message


def test_load_error_unknown_app_names_entry_and_field(tmp_path):
    message = load_error(tmp_path, [ENTRY | {"app": "jupyter"}])
    assert "profile #1" in message and "(k)" in message and "app" in message and "'jupyter'" in message


def test_spawner_profiles_child_config_carries_profile_and_common():
    profiles = settings.platform_profiles()
    entries = spawner_profiles(profiles, "dockerspawner.DockerSpawner", COMMON)
    assert len(entries) == len(profiles)
    for p, (name, key, cls, child) in zip(profiles, entries, strict=True):
        assert (name, key, cls) == (p.name, p.key, "dockerspawner.DockerSpawner")
        assert child == COMMON | {"image": p.image, "cpu_limit": p.cpus, "mem_limit": p.memory,
                                  "default_url": p.default_url}


def test_spawner_profiles_children_are_independent_of_common():
    common = dict(COMMON)
    entries = spawner_profiles(settings.platform_profiles(), "dockerspawner.DockerSpawner", common)
    entries[0][3]["port"] = 1
    assert common == COMMON
    assert entries[1][3]["port"] == 8888


def test_seventh_profile_gives_seven_spawner_profiles_and_changes_nothing_else(tmp_path):
    data = yaml.safe_load(settings.PROFILES_FILE.read_text())
    data["profiles"].append({"key": "lab-8cpu-16gb", "name": "uv Lab - 8 CPU / 16GB", "image": "local/uv-lab:latest",
                             "cpus": 8, "memory": "16G", "default_url": "/lab", "app": "lab"})
    path = tmp_path / "profiles.yaml"
    path.write_text(yaml.safe_dump(data))
    before = spawner_profiles(settings.platform_profiles(), "dockerspawner.DockerSpawner", COMMON)
    after = spawner_profiles(load_profiles(path), "dockerspawner.DockerSpawner", COMMON)
    assert len(after) == 7
    assert after[:6] == before
    assert after[6][:2] == ("uv Lab - 8 CPU / 16GB", "lab-8cpu-16gb")
    assert after[6][3]["cpu_limit"] == 8 and after[6][3]["mem_limit"] == "16G"
