"""A custom image end to end, as a user makes one (docs/profiles.md#custom-images): the template copied into a scratch
copy of the platform (stack/ and images/, as the mutation self-test makes one; PLATFORM_ROOT points the harness
at it), a package from PyPI added to its requirements, the image built by images/build.py under a unique tag, a
seventh profile registered in stack/profiles.yaml, an overlay written, and Phases 1 and 3 and Tests 2 and 8 run
with --expect-extra. The seventh profile must be built from the checkout, be offered, land, have its limits and
import the package. Then two breakages, in one more run, must be caught on their checks' assertions: the custom
image's requirements edited with a typo, so that its rebuild fails (Phase 1: the image built before is still
there, the build of this checkout failed), and an eighth profile whose image lacks the package (the imports
check).

Nightly only: collected when CUSTOM_IMAGE_SELFTEST=1 (acceptance/selftest/conftest.py)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from acceptance.settings import ROOT

PACKAGE, REQUIREMENT = "polars", "polars==1.44.2"    # a real package from PyPI, with wheels for Python 3.11
BROKEN_REQUIREMENT = "polars=1.44.2"                  # a typo a user makes: not a requirement uv can parse
STAGE_LABEL = "org.jupyterhub.platform.install-stage-of"   # the template's install stage (left untagged)


@dataclass
class Custom:
    """One custom image as a user adds it: its folder under images/, tag, profile and overlay entry."""

    folder: str
    name: str                       # the profile's display name
    requirement: str | None         # the line added to requirements.txt
    profile_id: str                 # its id in the overlay (and in check names)
    cpus: int = 2
    memory: str = "4G"

    @property
    def tag(self) -> str:
        return f"local/{self.folder}:latest"

    def profile_entry(self) -> str:
        """The stack/profiles.yaml entry, as text appended to the file (its comments stay)."""
        return (f"  - key: {self.folder}\n    name: {self.name}\n    image: {self.tag}\n    build: {self.folder}\n"
                f"    cpus: {self.cpus}\n    memory: {self.memory}\n    default_url: /lab\n    app: lab\n")

    def overlay_entry(self) -> dict:
        return {"name": self.name, "image": self.tag, "cpus": self.cpus, "memory": self.memory, "lands_on": "/lab",
                "app": "lab", "imports": [PACKAGE], "id": self.profile_id}


@dataclass
class Platform:
    """The user's copy of the platform (stack/ and images/) with custom images added."""

    root: Path
    customs: list[Custom] = field(default_factory=list)
    first_build: tuple[int, float] = (-1, 0.0)   # the first build's exit status and seconds

    @property
    def overlay(self) -> Path:
        return self.root / "site-extra.yaml"

    @property
    def build_status(self) -> Path:
        return self.root / "image-build.json"

    @property
    def build_log(self) -> Path:
        return self.root / "build.log"

    @classmethod
    def copy(cls, into: Path) -> Platform:
        for part in ("stack", "images"):
            shutil.copytree(ROOT / part, into / part, ignore=shutil.ignore_patterns("__pycache__", ".env"))
        return cls(into)

    def add(self, custom: Custom) -> None:
        """The user's steps: copy the template, add the requirement, register the profile, extend the overlay."""
        images = self.root / "images"
        shutil.copytree(images / "templates" / "singleuser-uv", images / custom.folder)
        if custom.requirement:
            self.require(custom, custom.requirement)
        with open(self.root / "stack" / "profiles.yaml", "a") as f:
            f.write(custom.profile_entry())
        self.customs.append(custom)
        self.overlay.write_text(yaml.safe_dump({"profiles": [c.overlay_entry() for c in self.customs],
                                                "image_sizes": {c.tag: "2.5GB" for c in self.customs}},
                                               sort_keys=False))

    def require(self, custom: Custom, line: str) -> None:
        with open(self.root / "images" / custom.folder / "requirements.txt", "a") as f:
            f.write(f"{line}\n")

    def build(self) -> tuple[int, float]:
        """images/build.py for the custom images (the user's `nox -s images` builds these after the shipped
        ones, which are current here): exit status and seconds."""
        start = time.monotonic()
        with open(self.build_log, "w") as out:
            built = subprocess.run([sys.executable, str(self.root / "images" / "build.py"),
                                    *(c.folder for c in self.customs), "--status-file", str(self.build_status)],
                                   env={**os.environ, "DOCKER_BUILDKIT": "0"}, stdout=out, stderr=subprocess.STDOUT,
                                   cwd=ROOT)
        return built.returncode, time.monotonic() - start

    def remove_images(self) -> None:
        for c in self.customs:
            subprocess.run(["docker", "image", "rm", "-f", c.tag], capture_output=True)
            subprocess.run(["docker", "image", "prune", "-f", "--filter", f"label={STAGE_LABEL}={c.folder}"],
                           capture_output=True)

    def run_steps(self, markexpr: str, outdir: Path) -> dict:
        """The acceptance steps against this platform, with its overlay; the deployment report (JSON), with
        the exit status and the run's duration."""
        env = {k: v for k, v in os.environ.items() if k not in ("PLATFORM_ROOT", "IMAGE_BUILD_STATUS")}
        env.update(PLATFORM_ROOT=str(self.root), IMAGE_BUILD_STATUS=str(self.build_status),
                   TESTCONTAINERS_RYUK_DISABLED="true", DOCKER_BUILDKIT="0")
        cmd = [sys.executable, "-m", "pytest", "acceptance/tests", "-p", "no:cacheprovider", "-m", markexpr,
               "--expect-extra", str(self.overlay), "--report-dir", str(outdir), f"--junitxml={outdir / 'junit.xml'}",
               f"--html={outdir / 'pytest-report.html'}", f"--output={outdir / 'artifacts'}"]
        start = time.monotonic()
        with open(outdir / "run.log", "w") as log:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        report = json.loads((outdir / "deployment-report.json").read_text())
        report["exit_code"], report["seconds"] = proc.returncode, time.monotonic() - start
        return report


def checks_of(report: dict) -> dict[str, dict]:
    return {c["check_id"]: c for s in report["steps"] for c in s["checks"]}


def tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])


# --- the custom image, as a user makes it

@pytest.fixture(scope="module")
def run_id() -> str:
    """This self-test's id, in the names of the images and profiles it makes."""
    return uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def platform(tmp_path_factory, run_id):
    """The user's platform with a seventh profile on a custom image with polars, built."""
    platform = Platform.copy(tmp_path_factory.mktemp("custom-image"))
    try:
        platform.add(Custom(f"selftest-polars-{run_id}", f"Polars Lab {run_id} - 2 CPU / 4GB", REQUIREMENT,
                            "polars-lab"))
        platform.first_build = platform.build()
        yield platform
    finally:
        platform.remove_images()


def test_a_custom_image_from_the_template_is_offered_lands_has_its_limits_and_imports_its_package(platform,
                                                                                                   tmp_path):
    custom, (returncode, seconds) = platform.customs[0], platform.first_build
    assert returncode == 0, f"images/build.py failed:\n{tail(platform.build_log)}"
    report = platform.run_steps("p1 or p3 or t2 or t8", tmp_path)
    print(f"\n[custom image] build {seconds:.0f} s; P1, P3, T2, T8 with the overlay {report['seconds']:.0f} s: "
          f"{report['status']}")
    checks, pid = checks_of(report), custom.profile_id
    seventh = [f"test_p1_images.py::test_image_is_built_from_this_checkout[{custom.tag}]",
               f"test_p1_images.py::test_single_user_image_runs_jupyterhub_singleuser_as_nebula[{custom.tag}]",
               f"test_p3_profiles.py::test_profile_lands_on_its_app[{pid}]",
               f"test_p3_profiles.py::test_profile_runs_its_image_with_its_limits[{pid}]",
               f"test_p3_profiles.py::test_profile_python_imports_its_packages[{pid}]",
               f"test_t8_resource_limits.py::test_the_kernel_enforces_the_profile_limits[{pid}]",
               "test_p3_profiles.py::test_the_hub_offers_exactly_the_specified_profiles",
               "test_t2_profile_dropdown.py::test_spawn_form_lists_exactly_the_six_profiles"]
    not_passed = {cid: (checks.get(cid, {}).get("status", "not in the report"), checks.get(cid, {}).get("message"))
                  for cid in seventh if checks.get(cid, {}).get("status") != "passed"}
    assert not not_passed, f"the seventh profile's checks did not pass: {not_passed}; log {tmp_path / 'run.log'}"
    assert custom.name in checks["test_t2_profile_dropdown.py::test_spawn_form_lists_exactly_the_six_profiles"][
        "facts"]["dropdown"]
    imported = checks[f"test_p3_profiles.py::test_profile_python_imports_its_packages[{pid}]"]["facts"]
    assert imported[f"import {PACKAGE}"].startswith(REQUIREMENT.split("==")[1]), imported
    # everything selected passed: the seventh profile broke none of the six (the run is narrowed: PARTIAL)
    assert (report["status"], report["exit_code"]) == ("PARTIAL", 0), (report["reasons"][:5], tmp_path / "run.log")


# --- two breakages, in one run: the custom image's requirements edited with a typo (its rebuild fails; the
# image built before stays), and an eighth profile on a template copy without the package

@pytest.fixture(scope="module")
def breakages(platform, tmp_path_factory, run_id):
    edited = platform.customs[0]
    platform.require(edited, BROKEN_REQUIREMENT)
    platform.add(Custom(f"selftest-nopolars-{run_id}", f"No Polars {run_id} - 1 CPU / 2GB", None, "no-polars", 1,
                        "2G"))
    returncode, _ = platform.build()
    outdir = tmp_path_factory.mktemp("breakages-report")
    return platform, returncode, platform.run_steps("p1 or p3", outdir), outdir


def test_a_broken_template_build_fails_phase_1_on_its_assertion(breakages):
    platform, returncode, report, outdir = breakages
    edited = platform.customs[0]
    status = {i["tag"]: i for i in json.loads(platform.build_status.read_text())["images"]}
    assert returncode == 1 and not status[edited.tag]["ok"], tail(platform.build_log)
    check = checks_of(report)[f"test_p1_images.py::test_image_is_built_from_this_checkout[{edited.tag}]"]
    print(f"\n[custom image] broken build: {check['status']} on {check['failed_on']}: {check['message'][:600]}")
    assert (check["status"], check["failed_on"]) == ("failed", "assertion"), (check, outdir / "run.log")
    assert f"the build of {edited.tag} failed in this run" in check["message"]
    assert "no such comparison operator" in check["message"], check["message"]   # uv's own words, not the RUN line
    assert report["status"] in ("DEGRADED", "FAILED") and report["exit_code"] != 0, report["status"]


def test_a_profile_whose_image_lacks_the_package_fails_the_imports_check_on_its_assertion(breakages):
    platform, _, report, outdir = breakages
    lacking, checks = platform.customs[1], checks_of(report)
    check = checks[f"test_p3_profiles.py::test_profile_python_imports_its_packages[{lacking.profile_id}]"]
    print(f"\n[custom image] image without {PACKAGE}: {check['status']} on {check['failed_on']}: "
          f"{check['message'][:400]}")
    assert (check["status"], check["failed_on"]) == ("failed", "assertion"), (check, outdir / "run.log")
    assert f"cannot import {PACKAGE} (ModuleNotFoundError: No module named '{PACKAGE}')" in check["message"]
    # the image is otherwise fine: built from the checkout, started, landed; only the package is missing
    for cid in (f"test_p1_images.py::test_image_is_built_from_this_checkout[{lacking.tag}]",
                f"test_p3_profiles.py::test_profile_lands_on_its_app[{lacking.profile_id}]"):
        assert checks[cid]["status"] == "passed", (cid, checks[cid]["message"])
