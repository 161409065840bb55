"""Verify a running deployment by its URL (`nox -s verify -- --hub-url URL`), without harming it.

A pytest plugin: the options, the scope each mode allows (checks outside it are left out of the run and
listed in the report, not counted), the users a run makes (all named with the run's prefix, deleted at the
end with their servers and, with Docker access, their volumes), and which checks each
mode requires (the manifest's, acceptance/required.py). The exit status follows the verdict in every mode
(acceptance/report/)."""
from __future__ import annotations

import os
from urllib.parse import quote, urlparse

import docker
import pytest
from dockerspawner import DockerSpawner

from acceptance import run_state
from acceptance.client.hub_api import HubAPI
from acceptance.deployments.mode import Credentials, RunMode, new_user_prefix
from acceptance.expected import ExpectedState
from acceptance.load.scenario import ScenarioError, load_scenario
from acceptance.report.collect import get_collector
from acceptance.settings import platform_profiles

SCOPE_MARKERS = {
    "disruptive": "disturbs others (restarts the hub, stops servers, starts second stacks): needs --disruptive",
    "read_only": "safe without credentials: creates nothing",
    "https_only": "checks the TLS certificate: only for an https:// URL",
    "own_stack": "compares the deployment with this checkout: only for the stack the harness builds and starts",
    "swarm": "beyond the checklist: a swarm run covers the checklist and the marked checks; the other reliability "
             "and security checks run on the compose stack",
    "production": "of the production stack only (TLS proxy, PostgreSQL, culler, metrics): --stack production",
    "load": "the load stage runs when given a scenario: --load FILE (or on its own: nox -s load)",
}
# a production run: the checklist, these reliability and security steps, and the checks marked `production`;
# the others run on the compose stack
PRODUCTION_STEPS = ("R6", "R7", "R8")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("acceptance").addoption(
        "--stack", choices=("compose", "swarm", "production"), default="compose",
        help="how the harness deploys the platform it verifies: compose (one host, the default), swarm "
             "(stack/swarm/ on this host's swarm; a host in none is made a single-node swarm for the run) or "
             "production (stack/production/: TLS proxy, PostgreSQL, culler, metrics, hardened auth). With "
             "--hub-url: whether the deployment at the URL is a compose or a production one (its variant of the "
             "expected state, and the steps that kind covers)")
    parser.getgroup("acceptance").addoption(
        "--load", metavar="SCENARIO", help="end the run with the load stage (L1): the scenario's users at once "
                                          "(acceptance/load/scenarios/; on the compose stack or, with "
                                          "--disruptive, a deployment given by --hub-url)")
    g = parser.getgroup("verify", "verify a running deployment by its URL")
    g.addoption("--hub-url", metavar="URL", help="verify the deployment at URL instead of starting one")
    g.addoption("--docker-host", action="store_true",
                help="the deployment's Docker engine is this run's (DOCKER_HOST or the local socket): run the "
                     "checks that need docker inspect, cgroups or volumes")
    g.addoption("--disruptive", action="store_true",
                help="also run what disturbs others: hub restart, killing containers, second stacks")
    g.addoption("--read-only", action="store_true",
                help="no credentials, nothing created: reachability, version, health, login and signup pages, "
                     "TLS certificate, security headers")
    g.addoption("--gate-read-only", action="store_true",
                help="with --read-only: exit 0 on the read-only verdict READ-ONLY (every read-only check passed); "
                     "without it a read-only run exits non-zero, since it did not verify the deployment")
    g.addoption("--ca-bundle", metavar="FILE", help="CA certificates for an https:// hub (a private CA)")
    g.addoption("--credentials", metavar="FILE",
                help="KEY=VALUE file with JUPYTERHUB_ADMIN_TOKEN, or JUPYTERHUB_ADMIN_USER and "
                     "JUPYTERHUB_ADMIN_PASSWORD (else the environment's)")
    g.addoption("--name-prefix", default="", help="the deployment's NAME_PREFIX (Docker names), default none")
    g.addoption("--compose-project", default="jhub-docker", help="the deployment's compose project")


def pytest_configure(config: pytest.Config) -> None:
    for name, text in SCOPE_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    url = config.getoption("--hub-url", default=None)
    stack = config.getoption("--stack", default="compose")
    load = config.getoption("--load", default=None)
    if load:   # refused before any stack starts: the file and every field (the load stage reads it again)
        try:
            load_scenario(load, [p.key for p in platform_profiles()])
        except ScenarioError as exc:
            raise pytest.UsageError(f"--load: {exc}") from None
    if not url:
        config.stash[run_state.MODE] = RunMode(stack=stack, load=load)
        return
    if stack == "swarm":   # its hub is a service's task, whose container the verify run cannot name
        raise pytest.UsageError("--hub-url verifies a compose or production deployment: not --stack swarm")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise pytest.UsageError(f"--hub-url {url!r} is not an http:// or https:// URL")
    read_only = config.getoption("--read-only")
    credentials = Credentials.load(config.getoption("--credentials"))
    if not read_only and not credentials.any:
        raise pytest.UsageError("a verify run needs the admin's credentials: JUPYTERHUB_ADMIN_TOKEN, or "
                                "JUPYTERHUB_ADMIN_USER and JUPYTERHUB_ADMIN_PASSWORD, in the environment or in "
                                "--credentials FILE (or --read-only: nothing is created)")
    m = config.stash[run_state.MODE] = RunMode(
        hub_url=url.rstrip("/"), docker=bool(config.getoption("--docker-host")) and not read_only,
        disruptive=bool(config.getoption("--disruptive")) and not read_only, read_only=read_only,
        ca_bundle=config.getoption("--ca-bundle"), credentials=credentials, user_prefix=new_user_prefix(),
        deployment_prefix=config.getoption("--name-prefix"), project=config.getoption("--compose-project"),
        stack=stack, load=load)
    collector = get_collector(config)
    collector.set_info("Verified deployment", m.hub_url)
    collector.set_info("Verify mode", ", ".join(
        label for label, on in (("read-only", read_only), ("with Docker access", m.docker),
                                ("disruptive", m.disruptive)) if on) or "default (not disruptive, no Docker access)")
    if not read_only:
        collector.set_info("Users made by this run", f"named {m.user_prefix}*, deleted at the end")


def out_of_scope(item: pytest.Item, m: RunMode) -> str | None:
    """Why `item` is not part of this run's mode (None: it is)."""
    from acceptance.report.collect import step_of

    return scope_reason(step_of(item) or "", {name for name in SCOPE_MARKERS if item.get_closest_marker(name)}, m)


def scope_reason(step: str, markers: set[str] | frozenset[str], m: RunMode) -> str | None:
    """Why a check of `step` with these scope markers is not part of this run's mode (None: it is). The same rule
    decides which collected checks run and which of the manifest's checks the mode requires."""
    if "load" in markers:
        if not m.load:
            return SCOPE_MARKERS["load"]
        if not m.verify and m.stack != "compose":
            return "the load stage's users sign themselves up: on the compose stack (bootstrap mode) only"
    https = (m.hub_url or "").startswith("https://") or (not m.verify and m.stack == "production")
    if "https_only" in markers and not https:
        return "served over HTTP: no TLS certificate to check"
    if "production" in markers and (m.verify or m.stack != "production"):
        return SCOPE_MARKERS["production"]
    if m.stack == "swarm" and "swarm" not in markers and step.startswith("R"):
        return SCOPE_MARKERS["swarm"]
    if m.stack == "production" and step.startswith("R") and step not in PRODUCTION_STEPS:
        return (f"beyond the checklist: a production run covers the checklist and {', '.join(PRODUCTION_STEPS)};"
                " the other reliability and security checks run on the compose stack")
    if not m.verify:
        return None
    if "own_stack" in markers:
        return SCOPE_MARKERS["own_stack"]
    if m.read_only and "read_only" not in markers:
        return "creates users or servers: not in a --read-only run"
    if "disruptive" in markers and not m.disruptive:
        return SCOPE_MARKERS["disruptive"]
    return None


def mode_label(m: RunMode) -> str:
    """The run's mode in words, as the verdict line names it."""
    if not m.verify:
        return {"compose": "own stack", "swarm": "own stack on Docker Swarm",
                "production": "own production stack"}.get(m.stack, m.stack) + (", with load" if m.load else "")
    parts = ["read-only" if m.read_only else "verify by URL"] + ([f"a {m.stack} deployment"] if m.stack != "compose"
                                                                   else [])
    parts += [label for label, on in (("with Docker access", m.docker), ("disruptive", m.disruptive),
                                      ("with load", bool(m.load))) if on]
    return ", ".join(parts)


def required_checks(m: RunMode, state: ExpectedState) -> tuple[dict[str, str], dict[str, list[str]]]:
    """What the mode requires, from the manifest: (concrete check id -> step, and for each reason a check of the
    manifest is out of this mode's scope, the check ids it leaves out)."""
    needed, left_out = _required_entries(m, state)
    return {cid: entry.step for cid, entry in needed.items()}, left_out


def _required_entries(m: RunMode, state: ExpectedState) -> tuple[dict, dict[str, list[str]]]:
    """required_checks with each check's manifest entry (its step and scope markers) instead of its step."""
    from acceptance import required

    entries = required.concrete(required.load(), [p.id for p in state.profiles], state.images)
    needed, left_out = {}, {}
    for cid, entry in entries.items():
        why = scope_reason(entry.step, entry.markers, m)
        if why is None:
            needed[cid] = entry
        else:
            left_out.setdefault(why, []).append(cid)
    return needed, left_out


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out what the mode may not do (not a deselection: the run is not narrowed by it), and tell the
    report which checks, and so which steps, this mode requires (the manifest's, not what happened to be
    collected)."""
    from acceptance.report.collect import step_of

    collector = get_collector(config)
    m = run_state.run_mode(config)
    kept, left_out = [], {}
    for item in items:
        why = out_of_scope(item, m)
        if why is None:
            kept.append(item)
        else:
            left_out.setdefault(why, []).append(item)
    items[:] = kept
    needed, scoped_out = _required_entries(m, run_state.expected_state(config))
    collector.require_checks({cid: e.step for cid, e in needed.items()}, mode_label(m), scoped_out,
                             read_only=m.read_only, markers={cid: e.markers for cid, e in needed.items()})
    for why, group in left_out.items():
        collector.set_info(f"Left out ({why})", f"{len(group)} checks: " + ", ".join(
            sorted({step_of(i) or i.name for i in group})))


class RunUsers:
    """Every user a run makes is named here: `name(role)`. In a verify run the names carry the run's
    prefix and the users, their servers and (with Docker access) their volumes are removed at the end."""

    def __init__(self, m: RunMode):
        self.mode = m
        self.made: dict[str, str] = {}     # role -> name

    @property
    def prefix(self) -> str:
        return self.mode.user_prefix

    def name(self, role: str) -> str:
        name = f"{self.mode.user_prefix}{role}"
        self.made[role] = name
        return name

    def track(self, name: str) -> str:
        """A name the run tries that must not become a user; removed at the end should it have become one
        (only a name with the run's prefix: any other may be somebody's)."""
        if name.startswith(self.prefix):
            self.made.setdefault(f"tried:{name}", name)
        return name

    def remove_all(self, api: HubAPI, deployment, expected: ExpectedState, collector) -> list[str]:
        """Delete every user this run named; returns what could not be removed (leftovers)."""
        left = []
        for name in self.made.values():
            if not name or not name.startswith(self.prefix):   # never anybody else's
                continue
            path = f"/hub/api/users/{quote(name)}"
            # NativeAuthenticator deletes its own record of a signup only with the hub's user: make the hub
            # user first (a signup that never logged in has none), then delete it with its servers.
            api.http.post(path)
            response = api.http.delete(path)
            if response.status_code not in (204, 404):
                left.append(f"user {name}: HTTP {response.status_code} {response.text[:200]}")
        volumes = [expected.name("home_volume", prefix=deployment.prefix, username=DockerSpawner._escape(n))
                   for n in self.made.values() if n]
        if deployment.docker is None:
            if volumes:
                collector.set_info("Volumes left for the admin (no Docker access)", ", ".join(volumes))
            return left
        for volume in volumes:
            try:
                deployment.docker.volumes.get(volume).remove(force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                left.append(f"volume {volume}: {exc}")
        return left


def environment_docker():
    """The Docker engine named by DOCKER_HOST (or the local socket)."""
    return docker.from_env(environment=dict(os.environ))
