"""Paths, timeouts and the checklist's step titles: set here, used everywhere."""
from __future__ import annotations

import os
from pathlib import Path

# jhub_platform: the hub's own package (images/hub/), installed into the harness's virtualenv by noxfile.py
from jhub_platform.profiles import Profile, load_profiles

ROOT = Path(__file__).resolve().parent.parent
# The platform under test: its stack/ and images/. This checkout's by default; the mutation self-test
# (acceptance/mutants.py) points PLATFORM_ROOT at a scratch copy with one deliberate breakage.
PLATFORM_ROOT = Path(os.environ.get("PLATFORM_ROOT", ROOT)).resolve()
STACK_DIR = PLATFORM_ROOT / "stack"
IMAGES_DIR = PLATFORM_ROOT / "images"
COMPOSE_FILE = STACK_DIR / "docker-compose.yml"
PROFILES_FILE = STACK_DIR / "profiles.yaml"
REPORTS_DIR = Path(os.environ.get("REPORTS_DIR", ROOT / "reports"))
ARTIFACTS_DIR = REPORTS_DIR / "artifacts"


def platform_profiles() -> list[Profile]:
    """The platform's own profile definition (stack/profiles.yaml): what the harness starts and builds.
    Never what a check expects: that comes from the expected state (acceptance/expected.py)."""
    return load_profiles(PROFILES_FILE)


class Timeouts:
    """Every deadline of the harness, in seconds (scaled by ACCEPTANCE_TIMEOUT_SCALE)."""

    scale = float(os.environ.get("ACCEPTANCE_TIMEOUT_SCALE", "1"))
    hub_ready = 120 * scale          # compose up -> hub API answers
    spawn = 300 * scale              # server start -> ready
    stop = 120 * scale               # server stop -> gone
    http = 30 * scale                # one HTTP request
    ui = 30 * scale                  # one Playwright action / expect (ms = * 1000)
    app_load = 120 * scale           # an app's UI (Lab, VS Code, marimo) appears
    navigation = 120 * scale         # a page navigation, spawn redirects included


# Settings every stack the harness starts gets on top of the platform's defaults: a short
# account lock, so that R1 can show the lock lifting (the platform's default is 600 s).
# Log bounds of 1 MiB x 3 files per container (the platform's: 10 MiB x 5), so that R8's flood passes them quickly.
HARNESS_STACK_ENV = {"LOGIN_LOCK_SECONDS": "10", "LOG_MAX_SIZE": "1m", "LOG_MAX_FILES": "3"}


# The specification's phases and checklist steps: id -> title. Tests carry a marker
# with the lower-case id (p1..p4, t1..t8); the report groups results by it.
STEPS: dict[str, str] = {
    "P1": "Phase 1: Image Building",
    "P2": "Phase 2: Stack Deployment",
    "P3": "Phase 3: Resource Profiles Configuration",
    "P4": "Phase 4: Authentication & Authorization",
    "T1": "Test 1: User Signup & Admin Creation",
    "T2": "Test 2: Profile Dropdown",
    "T3": "Test 3: JupyterLab Profile (2CPU/4GB)",
    "T4": "Test 4: VS Code Profile (2CPU/4GB)",
    "T5": "Test 5: Marimo Profile (1CPU/2GB)",
    "T6": "Test 6: Volume Persistence",
    "T7": "Test 7: Admin Panel",
    "T8": "Test 8: Resource Limits",
    # Reliability and security: beyond the checklist, the platform holds when users err,
    # try what they should not, and when parts fail.
    "R1": "Reliability 1: Bad Input",
    "R2": "Security 2: Isolation",
    "R3": "Reliability 3: Faults, Nothing Lost",
    "R4": "Security 4: Hardened (Production) Mode",
    "R5": "Security 5: Secrets",
    "R6": "Security 6: Known Advisories",
    "R7": "Production: TLS, Database, Culler, Metrics, Hardening",
    "R8": "Reliability 8: Logging",
    # the load stage, with --load SCENARIO: many users at once (acceptance/load/)
    "L1": "Load: Many Users at Once",
}

# The reliability and security section's counts, in the report's order. Tests add to them
# with the `tally` fixture; a count no test measured shows as "not measured", not 0.
RELIABILITY_COUNTS: tuple[str, ...] = (
    "inputs tried",
    "faults injected",
    "cross-user attempts refused",
    "files lost",
    "servers lost on hub restart",
)


# Phase 1: this project's image size targets (bytes), below the specification's measured sizes (the
# expected state's `image_sizes`, which Phase 1 enforces). Targets are printed by the benchmark and shown in
# the report; no test enforces them.
IMAGE_SIZE_TARGETS = {"local/uv-lab:latest": 1.5e9, "local/uv-vscode:latest": 1.4e9,
                      "local/uv-marimo:latest": 0.9e9}
IMAGES_TOGETHER_TARGET = 2.0e9
