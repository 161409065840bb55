"""One spawn of every expected profile, and what the running deployment shows of it: the container the
hub made (docker inspect), its cgroup limits, what its Python imports, where the server lands and which app
answers there. Phase 3 and Test 8 both read the survey, so each profile is started once per run, two at a time
(SURVEY_AT_ONCE)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pytest

from acceptance import probes
from acceptance.client.app_signatures import app_of
from acceptance.client.servers import Servers
from acceptance.expected import ExpectedProfile
from acceptance.settings import Timeouts

CGROUP_READ = (
    "if [ -f /sys/fs/cgroup/memory.max ]; then cat /sys/fs/cgroup/memory.max; cut -d' ' -f1 /sys/fs/cgroup/cpu.max; "
    "else cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us; fi"
)


@dataclass
class ProfileSurvey:
    """What one profile's server showed. `error` says why the survey of it stopped early."""

    profile: ExpectedProfile
    server: str
    error: str | None = None
    container: str | None = None
    image: str | None = None
    memory: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    nano_cpus: int | None = None       # a swarm service's CPU limit (its container's NanoCpus)
    node_cores: int | None = None      # the cores of the Docker host the server runs on
    cgroup_memory: int | None = None
    cgroup_quota: int | None = None
    landed_on: str | None = None       # path, relative to the server's URL
    landing_status: int | None = None
    app: str | None = None
    spawn_seconds: float | None = None
    api_url: str | None = None         # the server's JUPYTERHUB_API_URL: how it reaches the hub
    python: dict | None = None         # the imports probe's answer (acceptance/probes/imports.py)
    python_error: str | None = None    # why the imports probe gave no answer
    facts: dict[str, str] = field(default_factory=dict)

    def require(self, container: bool = False) -> ProfileSurvey:
        """Fail the check at once when the profile could not be surveyed; with container=True, skip it as
        not verifiable when the run had no Docker access."""
        if self.error:
            raise AssertionError(f"{self.profile.name}: {self.error}")
        if container and self.container is None:
            pytest.skip("not verifiable without Docker access (the server's container): give the run the "
                        "deployment's engine with --docker-host or DOCKER_HOST")
        return self


# Profiles surveyed at once. A server's start-up is CPU-bound (imports, extensions): one at a time left one of this
# 2-core host's cores idle while P2's setup ran 36 s for six profiles (docs/benchmark.md, issue 18).
SURVEY_AT_ONCE = 2


def survey_profiles(servers: Servers, user: str, profiles: Sequence[ExpectedProfile],
                    at_once: int = SURVEY_AT_ONCE) -> dict[str, ProfileSurvey]:
    """Every profile surveyed, `at_once` at a time, each on its own named server: {profile name: survey}, in
    the profiles' order."""
    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="survey") as pool:
        results = list(pool.map(lambda profile: survey_profile(servers, user, profile), profiles))
    return {r.profile.name: r for r in results}


def survey_profile(servers: Servers, user: str, profile: ExpectedProfile) -> ProfileSurvey:
    result = ProfileSurvey(profile, server=f"survey-{profile.id}".replace(".", "-"))
    try:
        server = servers.start(user, result.server, profile)
    except AssertionError as exc:
        result.error = f"did not start: {exc}"
        return result
    try:
        result.spawn_seconds = server.spawn_seconds
        c = server.container
        if c is not None:   # with Docker access: what the hub made, and its cgroup
            host = c.attrs["HostConfig"]
            result.container, result.image = c.name, c.attrs["Config"]["Image"]
            result.memory, result.cpu_quota, result.cpu_period = host["Memory"], host["CpuQuota"], host["CpuPeriod"]
            result.nano_cpus, result.node_cores = host.get("NanoCpus") or None, servers.stack.docker.info()["NCPU"]
            result.api_url = dict(v.split("=", 1) for v in c.attrs["Config"]["Env"]).get("JUPYTERHUB_API_URL")
            out = c.exec_run(["sh", "-c", probes.shell("cgroup_limits")]).output.decode().split()
            result.cgroup_memory, result.cgroup_quota = (int(v) if v.lstrip("-").isdigit() else -1 for v in out[:2])
            probe_python(c, profile, result)
        response = servers.api.server_get(server.url, timeout=Timeouts.app_load)
        result.landing_status = response.status_code
        path = response.url.path
        base = urlparse(servers.stack.hub_url).path.rstrip("/") + server.url.rstrip("/")   # a hub under a prefix too
        result.landed_on = path[len(base):] if path.startswith(base) else path
        result.app = app_of(response.text)
    except Exception as exc:  # noqa: BLE001 - reported with the profile's checks
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        servers.stop(user, result.server)
    return result


def probe_python(container, profile: ExpectedProfile, result: ProfileSurvey) -> None:
    """Import the profile's expected modules and look up its commands in the running server's container, as
    its user with its environment (the Python first on its PATH, which its kernel runs)."""
    wanted = json.dumps({"imports": list(profile.imports), "commands": list(profile.commands)})
    run = container.exec_run(["python3", "-c", probes.source("imports"), wanted])
    out = run.output.decode(errors="replace").strip()
    try:
        if run.exit_code != 0:
            raise ValueError(f"exit {run.exit_code}")
        result.python = json.loads(out.splitlines()[-1])
    except (ValueError, IndexError) as exc:
        result.python_error = f"the imports probe failed ({exc}): {out[-500:]}"
