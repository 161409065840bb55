"""Sessions: `nox -s acceptance` (main job: verify the platform, write the report),
`nox -s tests` (what CI runs), `nox -s images`, `nox -s lint`, `nox -s benchmark`.
The host must be provisioned first: stack/provision-host.sh."""
from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYTHON = "3.11"
HARNESS_REQS = "acceptance/requirements.txt"
HUB_REQS = "images/hub/requirements.txt"   # the unit tests load the real hub config
ENV = {"TESTCONTAINERS_RYUK_DISABLED": "true", "DOCKER_BUILDKIT": "0"}


def _install(session: nox.Session) -> None:
    session.install("-r", HARNESS_REQS, "-r", HUB_REQS)


def _build_images(session: nox.Session) -> None:
    # Always build: Docker's layer cache rebuilds only what changed (all cached: about 7 s), so a
    # run never verifies stale images. A failed build does not stop the session: the suite then
    # runs and its report says which image is missing (the run is red either way).
    session.run("python", "images/build.py", env=ENV, success_codes=[0, 1])


@nox.session(python=PYTHON)
def images(session: nox.Session) -> None:
    """Build the hub and single-user images (all, or those named: nox -s images -- uv-lab)."""
    session.install("pyyaml==6.0.3")
    session.run("python", "images/build.py", *session.posargs, env=ENV)


@nox.session(python=PYTHON)
def acceptance(session: nox.Session) -> None:
    """Build the images (cached), run the whole checklist against a fresh stack, write reports/."""
    _install(session)
    _build_images(session)
    session.run("pytest", "acceptance/tests", *session.posargs, env=ENV)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit tests of the project's own logic, then the acceptance suite: CI's gate."""
    _install(session)
    _build_images(session)
    session.run("pytest", *session.posargs, env=ENV)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff==0.14.0")
    session.run("ruff", "check", ".")


@nox.session(python=PYTHON)
def benchmark(session: nox.Session) -> None:
    """Print figures: image sizes against the targets, hub start and spawn times per profile."""
    _install(session)
    _build_images(session)
    session.run("python", "-m", "acceptance.benchmark", *session.posargs, env=ENV)
