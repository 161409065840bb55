"""README's main job timed as a new user runs it: `bash stack/provision-host.sh && python3 -m nox -s acceptance`
from a fresh clone of this checkout's HEAD (its own virtualenvs, its own reports/).

    warm   the engine running and the images built: the harness's virtualenv, a cached image build, the suite
    cold   first the Docker engine stopped (the dockerd stack/provision-host.sh started; an engine run by systemd
           is stopped with systemctl) and the project's images removed (local/jupyterhub-*, local/uv-*, and every
           dangling image: the classic builder's cache of their stages; the base image stays: it has no registry to
           come back from): a bare machine but for Chromium and the packages
           provisioning installs once per machine. For a throw-away machine such as CI's.

Figures only: the provisioning, the main job and their total, the suite's own duration and verdict from the clone's
deployment report, and each image's build time from its image-build.json. Each command is bounded (TIMEOUT_S).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from acceptance.settings import ROOT

TIMEOUT_S = 3600            # per command: a cold main job took 16 min on this 2-core host (issue 18)
PROJECT_IMAGES = ("local/jupyterhub-", "local/uv-")
PROVISION = ["bash", "stack/provision-host.sh"]
MAIN_JOB = ["python3", "-m", "nox", "-s", "acceptance"]


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def user_env(environ: dict[str, str], venv: str | None) -> dict[str, str]:
    """The environment a new user's shell has: this benchmark's own virtualenv (`venv`, the nox session's; None
    outside one) taken off PATH and VIRTUAL_ENV unset, so README's `python3` is the host's, with its pip (the
    provisioning installs nox with it), not the session's."""
    env = {k: v for k, v in environ.items() if k != "VIRTUAL_ENV"}
    if venv:
        env["PATH"] = os.pathsep.join(d for d in environ.get("PATH", "").split(os.pathsep)
                                      if d and not Path(d).resolve().is_relative_to(Path(venv).resolve()))
    return env


def _own_venv() -> str | None:
    return sys.prefix if sys.prefix != sys.base_prefix else None


def _timed(argv: list[str], cwd: Path, log: Path) -> tuple[float, int]:
    """Run argv in cwd, as a new user's shell would, with its output to log: (seconds, exit status); a timeout is
    exit status 124."""
    start = time.monotonic()
    env = user_env(dict(os.environ), _own_venv())
    with log.open("w") as out:
        try:
            code = subprocess.run(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            code = 124
    return round(time.monotonic() - start, 1), code


def project_images() -> list[str]:
    out = subprocess.run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], check=True,
                         capture_output=True, text=True).stdout.split()
    return [tag for tag in out if tag.startswith(PROJECT_IMAGES)]


def make_bare() -> dict:
    """The project's images removed and the engine stopped: what was done, for the figures' record."""
    removed = project_images()
    if removed:
        subprocess.run(["docker", "image", "rm", "--force", *removed], check=True, capture_output=True)
    # The classic builder's cache: the stages no tagged image descends from (code-server's build, the venv's) stay
    # behind as untagged images and would make the next build warm. Every dangling image goes (a throw-away machine).
    pruned = subprocess.run(["docker", "image", "prune", "--force"], check=True, capture_output=True, text=True)
    if shutil.which("systemctl") and subprocess.run(["systemctl", "is-active", "--quiet", "docker"]).returncode == 0:
        subprocess.run(["systemctl", "stop", "docker", "docker.socket"], check=True)
        how = "systemctl stop docker"
    else:
        subprocess.run(["pkill", "-TERM", "-x", "dockerd"], check=False)
        how = "dockerd stopped (SIGTERM)"
    deadline = time.monotonic() + 60
    while subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True).returncode == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("dockerd did not stop within 60 s")
        time.sleep(0.5)
    return {"images_removed": removed, "dangling_pruned": pruned.stdout.strip().splitlines()[-1:], "engine": how}


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def figures(kind: str, provision: tuple[float, int], main_job: tuple[float, int], report: dict | None,
            build: dict | None) -> dict:
    """The record of one timed run (pure: the unit tests build it from samples)."""
    return {
        "kind": kind,
        "provision_s": provision[0], "provision_exit": provision[1],
        "main_job_s": main_job[0], "main_job_exit": main_job[1],
        "total_s": round(provision[0] + main_job[0], 1),
        "suite_s": report.get("duration_s") if report else None,
        "verdict": report.get("status") if report else None,
        "checks": sum(len(s.get("checks", [])) for s in report.get("steps", [])) if report else None,
        "builds_s": {i["name"]: i.get("seconds") for i in (build or {}).get("images", [])} or None,
        "green": provision[1] == 0 and main_job[1] == 0 and bool(report) and report.get("status") == "OPERATIONAL",
    }


def time_suite(kind: str) -> dict:
    """Clone HEAD, make the machine bare for `cold`, run README's main job in two timed parts."""
    if kind not in ("warm", "cold"):
        raise ValueError(f"kind is warm or cold, not {kind!r}")
    commit, dirty = _git("rev-parse", "HEAD"), bool(_git("status", "--porcelain", "--untracked-files=no"))
    with tempfile.TemporaryDirectory(prefix="benchmark-suite-") as tmp:
        clone = Path(tmp) / ROOT.name
        _git("clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone), cwd=Path(tmp))
        if (ROOT.parent / "shared").is_dir():   # the specification beside the checkout, as on the team's machines
            shutil.copytree(ROOT.parent / "shared", Path(tmp) / "shared")
        bare = make_bare() if kind == "cold" else None
        logs = ROOT / "reports" / "benchmark-suite"
        logs.mkdir(parents=True, exist_ok=True)
        provision = _timed(PROVISION, clone, logs / f"{kind}-provision.log")
        main_job = _timed(MAIN_JOB, clone, logs / f"{kind}-main-job.log") if provision[1] == 0 else (0.0, -1)
        reports = clone / "reports"
        result = figures(kind, provision, main_job, _read_json(reports / "deployment-report.json"),
                         _read_json(reports / "image-build.json"))
        if reports.is_dir():   # the clone goes with the temporary directory: keep its reports
            shutil.copytree(reports, logs / f"{kind}-reports", dirs_exist_ok=True)
    return {**result, "date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": commit,
            "dirty_tree_not_timed": dirty, "made_bare": bare, "logs": str(logs)}
