"""images/build.py: which images (the shipped ones, and custom ones from a profile's `build:` folder), which base
image, the extra CA bundle (no docker needed)."""
from __future__ import annotations

import json
import os
import re
import shutil
import threading

import pytest
import yaml

from acceptance.settings import ROOT
from images import build


def dockerfile_targets(dockerfile: str) -> set[str]:
    text = (ROOT / "images" / dockerfile).read_text()
    return set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, flags=re.MULTILINE | re.IGNORECASE))


def test_image_specs_hub_first_then_singleuser_images_then_production_ones_then_the_log_collector():
    assert [(s.name, s.tag) for s in build.image_specs()] == [
        ("hub", build.HUB_IMAGE),
        ("uv-lab", "local/uv-lab:latest"),
        ("uv-vscode", "local/uv-vscode:latest"),
        ("uv-marimo", "local/uv-marimo:latest"),
        ("proxy", "local/jupyterhub-proxy:latest"),
        ("db", "local/jupyterhub-db:latest"),
        ("firewall", "local/jupyterhub-firewall:latest"),
        ("logs", "local/jupyterhub-logs:latest"),
    ]


def test_image_specs_targets_exist_in_dockerfiles():
    for spec in build.image_specs():
        assert (ROOT / "images" / spec.dockerfile).is_file(), spec
        if spec.target is not None:
            assert spec.target in dockerfile_targets(spec.dockerfile), spec


@pytest.fixture
def images_present(monkeypatch):
    """Pretend these images exist locally (no docker)."""
    present: set[str] = set()
    monkeypatch.setattr(build, "image_exists", lambda tag: tag in present)
    monkeypatch.delenv("BASE_IMAGE", raising=False)
    return present


def test_base_image_from_env_wins(images_present, monkeypatch):
    images_present.update({build.PUBLIC_BASE_IMAGE, build.LOCAL_BASE_IMAGE})
    monkeypatch.setenv("BASE_IMAGE", "registry.example/debian:custom")
    assert build.choose_base_image() == "registry.example/debian:custom"


def test_base_image_public_when_present(images_present):
    images_present.update({build.PUBLIC_BASE_IMAGE, build.LOCAL_BASE_IMAGE})
    assert build.choose_base_image() == build.PUBLIC_BASE_IMAGE


def test_base_image_local_when_only_local_present(images_present):
    images_present.add(build.LOCAL_BASE_IMAGE)
    assert build.choose_base_image() == build.LOCAL_BASE_IMAGE


def test_base_image_public_when_none_present(images_present):
    assert build.choose_base_image() == build.PUBLIC_BASE_IMAGE


@pytest.fixture
def ca_dir(tmp_path, monkeypatch):
    """A copy of images/ca as build.HERE/ca, so the real build context is never touched."""
    here = tmp_path / "images"
    shutil.copytree(ROOT / "images" / "ca", here / "ca", ignore=shutil.ignore_patterns("*.pem"))
    monkeypatch.setattr(build, "HERE", here)
    return here / "ca"


def test_extra_ca_copied_from_env(ca_dir, tmp_path, monkeypatch):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("CERT A\n")
    monkeypatch.setenv("EXTRA_CA_BUNDLE", str(bundle))
    assert build.prepare_extra_ca() == str(bundle)
    assert (ca_dir / "extra-ca.pem").read_text() == "CERT A\n"


def test_extra_ca_not_rewritten_when_unchanged(ca_dir, tmp_path, monkeypatch):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("CERT A\n")
    dest = ca_dir / "extra-ca.pem"
    dest.write_text("CERT A\n")
    os.utime(dest, ns=(1_000_000_000, 1_000_000_000))
    monkeypatch.setenv("EXTRA_CA_BUNDLE", str(bundle))
    build.prepare_extra_ca()
    assert dest.stat().st_mtime_ns == 1_000_000_000


def test_extra_ca_rewritten_when_changed(ca_dir, tmp_path, monkeypatch):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("CERT B\n")
    dest = ca_dir / "extra-ca.pem"
    dest.write_text("CERT A\n")
    monkeypatch.setenv("EXTRA_CA_BUNDLE", str(bundle))
    build.prepare_extra_ca()
    assert dest.read_text() == "CERT B\n"


def test_extra_ca_none_removes_it(ca_dir, monkeypatch):
    dest = ca_dir / "extra-ca.pem"
    dest.write_text("CERT A\n")
    monkeypatch.setenv("EXTRA_CA_BUNDLE", "none")
    assert build.prepare_extra_ca() == "none"
    assert not dest.exists()


def test_extra_ca_missing_bundle_removes_it(ca_dir, tmp_path, monkeypatch):
    dest = ca_dir / "extra-ca.pem"
    dest.write_text("CERT A\n")
    monkeypatch.setenv("EXTRA_CA_BUNDLE", str(tmp_path / "no-such.pem"))
    assert build.prepare_extra_ca() == "none"
    assert not dest.exists()


# --- custom images: a profile with `build: <folder>` is built from images/<folder>/ (the template's copy)

CUSTOM = {"key": "analytics-2cpu-4gb", "name": "Analytics - 2 CPU / 4GB", "image": "local/analytics:latest",
          "build": "analytics", "cpus": 2, "memory": "4G", "default_url": "/lab", "app": "lab"}


@pytest.fixture
def platform(tmp_path):
    """A scratch copy of stack/profiles.yaml and images/ with the template copied to images/analytics and a
    seventh profile built from it: returns (profiles file, images dir)."""
    images = tmp_path / "images"
    shutil.copytree(ROOT / "images", images, ignore=shutil.ignore_patterns("__pycache__", "*.pem"))
    shutil.copytree(images / "templates" / "singleuser-uv", images / "analytics")
    (tmp_path / "stack").mkdir()
    profiles = tmp_path / "stack" / "profiles.yaml"
    data = yaml.safe_load((ROOT / "stack" / "profiles.yaml").read_text())
    data["profiles"].append(dict(CUSTOM))
    profiles.write_text(yaml.safe_dump(data, sort_keys=False))
    return profiles, images


def write_custom(profiles, **changes):
    data = yaml.safe_load(profiles.read_text())
    data["profiles"][-1].update(changes)
    profiles.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_profile_with_a_build_folder_is_built_from_it_after_the_shipped_images(platform):
    profiles, images = platform
    specs = build.image_specs(profiles)
    assert [(s.name, s.tag) for s in specs] == [
        ("hub", build.HUB_IMAGE), ("uv-lab", "local/uv-lab:latest"), ("uv-vscode", "local/uv-vscode:latest"),
        ("uv-marimo", "local/uv-marimo:latest"), ("analytics", "local/analytics:latest"),
        ("proxy", "local/jupyterhub-proxy:latest"), ("db", "local/jupyterhub-db:latest"),
        ("firewall", "local/jupyterhub-firewall:latest"), ("logs", "local/jupyterhub-logs:latest")]
    custom = specs[4]
    assert (custom.dockerfile, custom.target, custom.folder) == ("analytics/Dockerfile", None, "analytics")
    assert [p.tag for p in custom.parents] == ["local/uv-lab:latest"]   # the template starts FROM uv-lab
    assert build.missing_dockerfile(custom, images) is None


def test_the_template_starts_from_the_shipped_lab_image():
    template = ROOT / "images" / "templates" / "singleuser-uv" / "Dockerfile"
    assert build.dockerfile_parents(template) == ["local/uv-lab:latest"]
    assert (template.parent / "requirements.txt").is_file() and (template.parent / "README.md").is_file()


def test_a_custom_images_inputs_follow_its_folder_and_its_parents_not_other_folders(platform):
    profiles, images = platform
    hashes = lambda: {s.name: build.inputs_hash(s, images) for s in build.image_specs(profiles)}  # noqa: E731
    before = hashes()
    (images / "analytics" / "requirements.txt").write_text("polars==1.44.2\n")
    after_requirements = hashes()
    assert after_requirements["analytics"] != before["analytics"]
    assert {k: v for k, v in after_requirements.items() if k != "analytics"} == \
        {k: v for k, v in before.items() if k != "analytics"}
    (images / "singleuser" / "jupyter_server_config.py").write_text("# changed\n")   # the parent's input
    after_parent = hashes()
    assert after_parent["uv-lab"] != after_requirements["uv-lab"]
    assert after_parent["analytics"] != after_requirements["analytics"]   # stale when its parent is
    (images / "templates" / "singleuser-uv" / "requirements.txt").write_text("pandas\n")   # the template itself
    assert hashes()["analytics"] == after_parent["analytics"]


def test_the_shared_excludes_file_is_an_input_of_every_image(platform):
    profiles, images = platform
    hashes = lambda: {s.name: build.inputs_hash(s, images) for s in build.image_specs(profiles)}  # noqa: E731
    before = hashes()
    (images / "uv-excludes.txt").write_text("rfc3987-syntax\n")
    after = hashes()
    assert all(after[name] != before[name] for name in before)


def test_every_uv_install_of_a_lock_excludes_the_shared_list():
    """The hub, the single-user images and the template install with images/uv-excludes.txt (rfc3987-syntax's 1.7 s
    import at every start); a Dockerfile that drops it, or a lock that pins an excluded package, fails here."""
    excluded = [line.strip() for line in (ROOT / "images" / "uv-excludes.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert "rfc3987-syntax" in excluded
    for dockerfile in ("hub/Dockerfile", "singleuser/Dockerfile", "templates/singleuser-uv/Dockerfile"):
        text = (ROOT / "images" / dockerfile).read_text()
        installs = [line for line in text.splitlines()
                    if "uv pip install" in line and "-r /tmp/requirements.txt" in line]
        assert installs and all("--excludes /tmp/uv-excludes.txt" in line for line in installs), dockerfile
        assert "COPY uv-excludes.txt /tmp/uv-excludes.txt" in text, dockerfile
    for lock in (ROOT / "images").glob("*/requirements*.txt"):
        pinned = {line.split("==")[0].strip().lower() for line in lock.read_text().splitlines() if "==" in line}
        assert not pinned & set(excluded), lock


def test_the_build_passes_the_folder_and_labels_the_inputs(platform, monkeypatch):
    profiles, images = platform
    custom = next(s for s in build.image_specs(profiles) if s.folder)
    calls = []
    monkeypatch.setattr(build, "HERE", images)
    monkeypatch.setattr(build.subprocess, "run", lambda cmd, **kw: calls.append(cmd) or
                        build.subprocess.CompletedProcess(cmd, 0, ""))
    build.build(custom, "debian:bookworm-slim")
    cmd = calls[0]
    assert cmd[cmd.index("-f") + 1] == str(images / "analytics" / "Dockerfile") and cmd[-1] == str(images)
    assert "IMAGE_DIR=analytics" in cmd and "--target" not in cmd
    assert f"{build.INPUTS_LABEL}={build.inputs_hash(custom, images)}" in cmd


def test_a_build_folder_without_a_dockerfile_is_named_with_the_copy_command(platform):
    profiles, images = platform
    write_custom(profiles, build="no-such")
    custom = next(s for s in build.image_specs(profiles) if s.folder)
    assert custom.parents == ()
    assert build.missing_dockerfile(custom, images) == (
        "the profile's build: no-such has no Dockerfile (images/no-such/Dockerfile); copy the template: "
        "cp -r images/templates/singleuser-uv images/no-such")


def test_one_image_built_two_ways_is_refused_naming_the_profile(platform):
    profiles, _ = platform
    write_custom(profiles, image="local/uv-lab:latest")
    with pytest.raises(build.BuildConfigError, match="profile analytics-2cpu-4gb: image local/uv-lab:latest is "
                                                     "built from images/analytics/ here and from images/singleuser"):
        build.image_specs(profiles)


def test_main_records_a_missing_folder_and_a_failed_parent_as_failed_builds(platform, monkeypatch, tmp_path):
    profiles, images = platform
    write_custom(profiles, build="no-such")
    monkeypatch.setattr(build, "PROFILES_FILE", profiles)
    monkeypatch.setattr(build, "HERE", images)
    monkeypatch.setattr(build, "choose_base_image", lambda: "debian:bookworm-slim")
    monkeypatch.setattr(build, "prepare_extra_ca", lambda: "none")
    status = tmp_path / "status.json"
    assert build.main(["analytics", "--status-file", str(status)]) == 1
    [result] = json.loads(status.read_text())["images"]
    assert not result["ok"] and "build: no-such has no Dockerfile" in result["error"]

    write_custom(profiles, build="analytics")

    def fail_lab(spec, base):
        if spec.name == "uv-lab":
            raise build.BuildFailed("`docker build` exited 1")
        return 1.0

    monkeypatch.setattr(build, "build", fail_lab)
    monkeypatch.setattr(build, "image_size", lambda tag: 0)
    assert build.main(["uv-lab", "analytics", "--status-file", str(status)]) == 1
    results = {r["name"]: r for r in json.loads(status.read_text())["images"]}
    assert results["analytics"]["error"] == "not built: the image it starts FROM did not build (local/uv-lab:latest)"


def test_a_failed_builds_message_quotes_the_tools_error_not_the_builders_noise():
    output = ("Step 9/17 : RUN uv pip install -r /tmp/requirements.txt && find /opt/venv\n"
              " ---> Running in 7715aff39923\n"
              "\x1b[91merror: Couldn't parse requirement in `/tmp/requirements.txt` at position 316\n"
              "  cause: no such comparison operator \"=\", must be one of ~= == != <= >= < > ===\n"
              "         polars=1.44.2\n\x1b[0mRemoving intermediate container 7715aff39923\n"
              "The command '/bin/sh -c uv pip install -r /tmp/requirements.txt && find /opt/venv' returned a non-zero "
              "code: 2\n")
    assert build.failure_summary(output) == (
        "error: Couldn't parse requirement in `/tmp/requirements.txt` at position 316 | cause: no such comparison "
        "operator \"=\", must be one of ~= == != <= >= < > === | polars=1.44.2 | (the step exited 2)")
    assert build.failure_summary("Step 3/9 : RUN exit 3\n ---> Running in abc\nThe command '/bin/sh -c exit 3' "
                                 "returned a non-zero code: 3\n") == "Step 3/9 : RUN exit 3 | (the step exited 3)"


# --- the build graph: what builds side by side, what waits

def test_targets_of_one_dockerfile_wait_for_each_other_and_custom_images_for_their_parents(platform):
    profiles, _ = platform
    assert build.build_dependencies(build.image_specs(profiles)) == {
        "hub": (), "uv-lab": (), "uv-vscode": ("uv-lab",), "uv-marimo": ("uv-vscode",), "analytics": ("uv-lab",),
        "proxy": (), "db": (), "firewall": (), "logs": ()}


def test_custom_images_copies_of_one_template_wait_for_each_other(platform):
    profiles, images = platform
    shutil.copytree(images / "templates" / "singleuser-uv", images / "geo")
    data = yaml.safe_load(profiles.read_text())
    data["profiles"].append(dict(CUSTOM, key="geo-2cpu-4gb", name="Geo - 2 CPU / 4GB", image="local/geo:latest",
                                 build="geo"))
    profiles.write_text(yaml.safe_dump(data, sort_keys=False))
    deps = build.build_dependencies(build.image_specs(profiles))
    assert deps["analytics"] == ("uv-lab",) and deps["geo"] == ("uv-lab", "analytics")


def fake_build(log, lock, barrier=None, fail=()):
    """A build that logs its start and end, and, for the images `barrier` names, waits until as many are running
    at once (a barrier that times out fails the test: they were not side by side)."""
    active = []

    def build_image(spec):
        with lock:
            active.append(spec.name)
            log.append(("start", spec.name, len(active)))
        if barrier is not None and spec.name in barrier[1]:
            barrier[0].wait()
        with lock:
            active.remove(spec.name)
            log.append(("end", spec.name, len(active)))
        return {"name": spec.name, "tag": spec.tag, "ok": spec.name not in fail, "seconds": 0.0, "error": None}
    return build_image


def test_the_hub_builds_beside_the_single_user_images_and_their_targets_one_after_the_other(platform):
    profiles, _ = platform
    specs = build.image_specs(profiles)
    log, lock = [], threading.Lock()
    barrier = (threading.Barrier(2, timeout=10), {"hub", "uv-lab"})
    results = build.build_graph(specs, fake_build(log, lock, barrier), jobs=2)
    assert [r["name"] for r in results] == [s.name for s in specs] and all(r["ok"] for r in results)
    assert max(n for _, _, n in log) == 2   # never more than --jobs at once
    order = [(event, name) for event, name, _ in log]
    for before, after in (("uv-lab", "uv-vscode"), ("uv-vscode", "uv-marimo"), ("uv-lab", "analytics")):
        assert order.index(("end", before)) < order.index(("start", after)), (before, after, order)


def test_one_job_builds_one_image_at_a_time_in_order(platform):
    profiles, _ = platform
    specs = build.image_specs(profiles)
    log, lock = [], threading.Lock()
    build.build_graph(specs, fake_build(log, lock), jobs=1)
    assert max(n for _, _, n in log) == 1
    assert [name for event, name, _ in log if event == "start"] == [s.name for s in specs]


def test_a_failed_parent_leaves_its_custom_image_unbuilt_and_the_others_built(platform):
    profiles, _ = platform
    log, lock = [], threading.Lock()
    results = {r["name"]: r for r in build.build_graph(build.image_specs(profiles),
                                                        fake_build(log, lock, fail={"uv-lab"}), jobs=2)}
    assert results["analytics"]["error"] == "not built: the image it starts FROM did not build (local/uv-lab:latest)"
    assert ("start", "analytics") not in [(e, n) for e, n, _ in log]
    assert all(results[n]["ok"] for n in ("hub", "uv-vscode", "uv-marimo", "proxy", "db", "firewall", "logs"))


def first_step_after_the_base(dockerfile: str) -> str:
    lines = (ROOT / "images" / dockerfile).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"FROM \$\{BASE_IMAGE\}", line))
    return next(line for line in lines[start + 1:] if line.strip() and not line.startswith("#"))


def test_no_two_dockerfiles_built_from_the_base_share_a_first_step():
    """Built side by side, two Dockerfiles with the same first step each make it, and the classic builder's cache
    then follows the newer twin: the other Dockerfile's later layers are missed and rebuilt (seen: uv-vscode
    rebuilt for 301 s beside the hub)."""
    firsts = {spec.dockerfile: first_step_after_the_base(spec.dockerfile) for spec in build.image_specs()
              if "${BASE_IMAGE}" in (ROOT / "images" / spec.dockerfile).read_text()}
    assert len(firsts) >= 6 and len(set(firsts.values())) == len(firsts), firsts
