"""Expected-state overlays (--expect-extra): a site's custom profiles added to the specification's six, what
each must import, refused with a message naming the entry when malformed; the verdict requires their checks."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from acceptance import expected
from acceptance.deployments.mode import RunMode
from acceptance.settings import ROOT

PROFILE = {"name": "Analytics - 2 CPU / 4GB", "image": "local/analytics:latest", "cpus": 2, "memory": "4G",
           "lands_on": "/lab", "app": "lab", "imports": ["polars"]}
SIZES = {"local/analytics:latest": "2.5GB"}


def write(tmp_path, data, name="site-extra.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_an_overlay_adds_its_profiles_and_their_images_after_the_specifications(tmp_path):
    path = write(tmp_path, {"profiles": [PROFILE], "image_sizes": SIZES})
    base = expected.load()
    state = expected.load_with(None, [path])
    assert [p.name for p in state.profiles] == [*(p.name for p in base.profiles), "Analytics - 2 CPU / 4GB"]
    added = state.profile("Analytics - 2 CPU / 4GB")
    assert (added.id, added.imports, added.commands, added.source) == (
        "analytics-2cpu-4g", ("polars",), (), "site-extra.yaml")
    assert state.images == [*base.images, "local/analytics:latest"]
    assert state.image_sizes["local/analytics:latest"] == "2.5GB"
    assert (state.path, state.sha256) == (base.path, base.sha256)   # the specification's file, as it is
    assert state.overlays[0][0] == path.resolve() and len(state.overlays[0][1]) == 64
    assert all(not p.imports and not p.source for p in state.profiles[:6])


def test_an_overlay_profile_on_a_shipped_image_adds_no_image_and_needs_no_bound(tmp_path):
    path = write(tmp_path, {"profiles": [{**PROFILE, "image": "local/uv-lab:latest", "id": "lab-polars"}]})
    state = expected.load_with(None, [path])
    assert state.images == expected.load().images and state.profiles[-1].id == "lab-polars"


def test_overlays_survive_the_stack_variant(tmp_path):
    state = expected.load_with(None, [write(tmp_path, {"profiles": [PROFILE], "image_sizes": SIZES})])
    swarm = state.for_stack("swarm")
    assert swarm.profiles == state.profiles and swarm.overlays == state.overlays and swarm.images == state.images


@pytest.mark.parametrize(("data", "words"), [
    ({"profiles": [{**PROFILE, "name": "uv Lab - 2 CPU / 4GB"}], "image_sizes": SIZES},
     "profile #1 (uv Lab - 2 CPU / 4GB): a profile named 'uv Lab - 2 CPU / 4GB' is already expected (in "
     "deployment-verification.yaml)"),
    ({"profiles": [PROFILE, {**PROFILE, "cpus": 4, "memory": "8G"}], "image_sizes": SIZES},
     "profile #2 (Analytics - 2 CPU / 4GB): a profile named 'Analytics - 2 CPU / 4GB' is already expected (in "
     "site-extra.yaml)"),
    ({"profiles": [PROFILE, {**PROFILE, "name": "Other"}], "image_sizes": SIZES},
     "profile #2 (Other): its id 'analytics-2cpu-4g' is another expected profile's: give it an `id`"),
    ({"profiles": [{**PROFILE, "image": "local/uv-lab:latest", "app": "lab", "id": "lab-2cpu-4g"}]},
     "its id 'lab-2cpu-4g' is another expected profile's"),
    ({"profiles": [{k: v for k, v in PROFILE.items() if k != "memory"}], "image_sizes": SIZES},
     "profile #1 (Analytics - 2 CPU / 4GB): missing field(s) ['memory']"),
    ({"profiles": [{**PROFILE, "import": ["polars"]}], "image_sizes": SIZES}, "unknown field(s) ['import']"),
    ({"profiles": [{**PROFILE, "imports": "polars"}], "image_sizes": SIZES},
     "profile #1 (Analytics - 2 CPU / 4GB): imports must be a list of module names"),
    ({"profiles": [{**PROFILE, "imports": ["polars; rm -rf /"]}], "image_sizes": SIZES}, "imports must be a list"),
    ({"profiles": [{**PROFILE, "commands": ["/bin/sh"]}], "image_sizes": SIZES}, "commands must be a list"),
    ({"profiles": [{**PROFILE, "app": "rstudio"}], "image_sizes": SIZES}, "app 'rstudio' is not one of"),
    ({"profiles": [{**PROFILE, "memory": "lots"}], "image_sizes": SIZES}, "profile #1 (Analytics - 2 CPU / 4GB): "
                                                                          "memory 'lots'"),
    ({"profiles": [{**PROFILE, "cpus": "two"}], "image_sizes": SIZES}, "cpus 'two' is not a number"),
    ({"profiles": [{**PROFILE, "cpus": 0}], "image_sizes": SIZES}, "cpus must be > 0"),
    ({"profiles": [{**PROFILE, "lands_on": "lab"}], "image_sizes": SIZES}, "lands_on 'lab' must start with '/'"),
    ({"profiles": [PROFILE]}, "image_sizes: give each image the overlay adds a size bound"),
    ({"profiles": [PROFILE], "image_sizes": {**SIZES, "local/uv-lab:latest": "9GB"}},
     "image_sizes local/uv-lab:latest: an overlay bounds only the images its profiles add"),
    ({"profiles": [PROFILE], "image_sizes": {"local/analytics:latest": "big"}}, "image_sizes local/analytics:latest"),
    ({"profiles": []}, "`profiles` must be a non-empty list"),
    ({"profiles": [PROFILE], "image_sizes": SIZES, "users": {"admin": "root"}},
     "unknown section(s) ['users']: an overlay adds `profiles`"),
    ({"profiles": ["Analytics"]}, "profile #1: not a mapping"),
    ({"profiles": [{**PROFILE, "id": "Lab_1"}], "image_sizes": SIZES}, "id 'Lab_1' must be at most 23 lower-case"),
    ({"profiles": [{**PROFILE, "id": "a--b"}], "image_sizes": SIZES}, "id 'a--b' must be"),
    ({"profiles": [{**PROFILE, "id": "a" * 24}], "image_sizes": SIZES}, "must be at most 23"),
])
def test_a_bad_overlay_is_refused_with_a_message_naming_the_entry(tmp_path, data, words):
    path = write(tmp_path, data)
    with pytest.raises(expected.ExpectedStateError) as info:
        expected.load_with(None, [path])
    assert words in str(info.value) and str(path.resolve()) in str(info.value)


@pytest.mark.parametrize(("image", "cpus", "memory", "want"), [
    ("local/analytics:latest", 2, "4G", "analytics-2cpu-4g"),
    ("local/selftest-polars-13ff75:latest", 2, "4G", "selftest-polars-2cpu-4g"),   # shortened to 23
    ("registry.example/team/Big_Data.Image:v2", 0.5, "512M", "big-data-im-0p5cpu-512m"),
])
def test_an_overlay_profiles_default_id_is_a_valid_server_name_part(image, cpus, memory, want):
    assert expected._default_id(image, cpus, memory) == want
    assert expected._ID.match(want) and len(f"survey-{want}") <= 30


def test_a_second_overlay_may_not_repeat_the_firsts_profile(tmp_path):
    first = write(tmp_path, {"profiles": [PROFILE], "image_sizes": SIZES}, "team-a.yaml")
    second = write(tmp_path, {"profiles": [{**PROFILE, "id": "other"}]}, "team-b.yaml")
    with pytest.raises(expected.ExpectedStateError, match=r"team-b.yaml: profile #1 .* already expected \(in "
                                                          r"team-a.yaml\)"):
        expected.load_with(None, [first, second])


def test_an_unreadable_overlay_is_named(tmp_path):
    with pytest.raises(expected.ExpectedStateError, match="cannot read the expected-state overlay .*nope.yaml"):
        expected.load_with(None, [tmp_path / "nope.yaml"])
    (tmp_path / "list.yaml").write_text("- a\n")
    with pytest.raises(expected.ExpectedStateError, match="list.yaml: an overlay is a mapping"):
        expected.load_with(None, [tmp_path / "list.yaml"])


def test_the_verdict_requires_the_overlay_profiles_checks(tmp_path):
    """The run's expected state (set from --expect-extra) is what the verdict requires: each
    parametrized check once more for the added profile and image."""
    from acceptance.verify import required_checks

    path = write(tmp_path, {"profiles": [PROFILE], "image_sizes": SIZES})
    needed, _ = required_checks(RunMode(), expected.for_run(None, [path]))
    for cid in ("test_p3_profiles.py::test_profile_lands_on_its_app[analytics-2cpu-4g]",
                "test_p3_profiles.py::test_profile_runs_its_image_with_its_limits[analytics-2cpu-4g]",
                "test_p3_profiles.py::test_profile_python_imports_its_packages[analytics-2cpu-4g]",
                "test_t8_resource_limits.py::test_the_kernel_enforces_the_profile_limits[analytics-2cpu-4g]",
                "test_p1_images.py::test_image_is_built_from_this_checkout[local/analytics:latest]",
                "test_p1_images.py::test_single_user_image_runs_jupyterhub_singleuser_as_nebula[local/analytics:latest]"):
        assert needed.get(cid) == cid.split("_")[1].upper(), cid
    assert "test_t2_profile_dropdown.py::test_spawn_form_lists_exactly_the_six_profiles" in needed
    assert not any("analytics" in cid for cid in required_checks(RunMode(), expected.load())[0])   # and not without it


def collect(tmp_path, *args) -> subprocess.CompletedProcess:
    """`pytest acceptance/tests --collect-only` in a process of its own (test modules parametrize over the
    expected state when imported)."""
    return subprocess.run([sys.executable, "-m", "pytest", "acceptance/tests", "--collect-only", "-q", "-p",
                           "no:cacheprovider", "--report-dir", str(tmp_path / "reports"), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_expect_extra_adds_the_profiles_checks_to_the_collected_ones(tmp_path):
    path = write(tmp_path, {"profiles": [PROFILE], "image_sizes": SIZES})
    run = collect(tmp_path, "-m", "p1 or p3 or t2 or t8", "--expect-extra", str(path))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    for cid in ("test_p1_images.py::test_image_is_built_from_this_checkout[local/analytics:latest]",
                "test_p3_profiles.py::test_profile_python_imports_its_packages[analytics-2cpu-4g]",
                "test_t8_resource_limits.py::test_the_kernel_enforces_the_profile_limits[analytics-2cpu-4g]"):
        assert cid in run.stdout, cid


def test_a_bad_overlay_stops_the_run_before_collection_with_its_message(tmp_path):
    path = write(tmp_path, {"profiles": [{**PROFILE, "name": "uv Lab - 2 CPU / 4GB"}], "image_sizes": SIZES})
    run = collect(tmp_path, "--expect-extra", str(path))
    assert run.returncode == 4   # pytest's usage error
    assert "profile #1 (uv Lab - 2 CPU / 4GB): a profile named 'uv Lab - 2 CPU / 4GB' is already expected" \
        in run.stderr
