"""`verify` against a deployment the harness did not start: the platform started as a user would
(`docker compose up`, the default names, a free port), a resident user with a running server and a file,
then a verify run. It must leave the resident, their server, file and volume untouched and nothing of its
own behind; and a deployment that breaks the expected state must come out red on the right step.

Runs a subset of the steps (VERIFY_SELFTEST_STEPS, default below) to keep CI short; the nightly workflow
sets VERIFY_SELFTEST_STEPS=all."""
from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import docker
import httpx
import pytest
import yaml
from docker.errors import NotFound
from dockerspawner import DockerSpawner

from acceptance.client.accounts import Accounts
from acceptance.client.hub_api import HubAPI, HubSession
from acceptance.client.polling import wait_for
from acceptance.client.servers import Servers, read_offered_profiles
from acceptance.deployments.compose import StackRun
from acceptance.deployments.own import free_port
from acceptance.settings import HARNESS_STACK_ENV, ROOT, STACK_DIR, Timeouts
from images.build import HUB_IMAGE

STEPS = os.environ.get("VERIFY_SELFTEST_STEPS", "p3 or t6 or t7 or r1 or r2")
RESIDENT, FILE, CONTENT = "resident", "resident-notes.txt", "the resident's own notes"


class DefaultStack(StackRun):
    """The platform as a user starts it: project jhub-docker, no name prefix, on a free loopback port."""

    def __init__(self, extra_env: dict[str, str] | None = None):
        super().__init__(run_id="x", extra_env=extra_env)
        self.project, self.prefix = "jhub-docker", ""
        self.hub_container_name = "jupyterhub-hub"
        self.env.update(COMPOSE_PROJECT_NAME=self.project, NAME_PREFIX="")
        for key in HARNESS_STACK_ENV:          # the platform's own defaults, as a user has them
            self.env.pop(key)
        self.write_env_file()

    def up_again(self, **env: str) -> None:
        """`docker compose up -d` with changed settings: the hub is recreated, user servers keep running."""
        self.env.update(env)
        self.write_env_file()
        self.compose_run("up", "-d")
        self.wait_until_ready()

    def everything(self) -> list[str]:
        """Every container, volume and network of this deployment (default names): the volumes compose made for
        the project (by its label: named ones such as jupyterhub-logs too) and the users' homes."""
        client = self.docker
        return ([f"container {c.name}" for c in self.containers()]
                + [f"volume {v.name}" for v in client.volumes.list()
                   if v.name.startswith(("jhub-docker_", "jupyterhub-user-"))
                   or (v.attrs.get("Labels") or {}).get("com.docker.compose.project") == self.project]
                + [f"network {n.name}" for n in client.networks.list() if n.name == "jupyterhub-net"])

    def remove_everything(self) -> None:
        for item in self.everything():
            kind, name = item.split(" ", 1)
            try:
                obj = getattr(self.docker, f"{kind}s").get(name)
                obj.remove() if kind == "network" else obj.remove(force=True)
            except NotFound:
                pass
        self._env_dir.cleanup()


@pytest.fixture(scope="module")
def deployment():
    client = docker.from_env()
    taken = [c.name for c in client.containers.list(all=True) if c.name == "jupyterhub-hub"]
    assert not taken, "a deployment with the default names already runs on this host: the self-test leaves it alone"
    run = DefaultStack()
    try:
        run.up()
        yield run
    finally:
        run.remove_everything()
    assert run.everything() == [], f"the self-test left {run.everything()}"


@pytest.fixture(scope="module")
def resident(deployment, expected):
    """The site's admin, and a resident with a running server and a file in their home."""
    admin_password, password = Accounts.new_password(), Accounts.new_password()
    with HubSession(deployment.hub_url) as session:
        assert session.signup(expected.admin, admin_password).ok
        session.login(expected.admin, admin_password)
        admin_token = session.create_token(expected.admin, "site admin")
        admin_api = HubAPI(deployment.hub_url, admin_token)
    with HubSession(deployment.hub_url) as session:
        assert session.signup(RESIDENT, password).ok
        session.login(RESIDENT, password)
        own = HubAPI(deployment.hub_url, session.create_token(RESIDENT, "resident"))
    offered = read_offered_profiles(deployment.hub_url, RESIDENT, password, admin_api)
    servers = Servers(own, deployment, offered, admin_api)
    server = servers.start(RESIDENT, "", expected.profiles[0])
    servers.write_home_file(RESIDENT, "", FILE, CONTENT)
    yield {"admin": (expected.admin, admin_password), "api": admin_api, "token": admin_token, "servers": servers,
           "server": server,
           "tokens": len(admin_api.get(f"/users/{expected.admin}/tokens")["api_tokens"])}
    admin_api.close()
    own.close()


def run_verify(url: str, admin: tuple[str, str] | None, tmp_path: Path, *args: str) -> dict:
    """A verify run in its own pytest process (with the admin's credentials and Docker access, or
    --read-only without either); its deployment report (JSON)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_ADMIN_") and k != "IMAGE_BUILD_STATUS"}
    env["TESTCONTAINERS_RYUK_DISABLED"] = "true"
    if admin:
        env.update(JUPYTERHUB_ADMIN_USER=admin[0], JUPYTERHUB_ADMIN_PASSWORD=admin[1])
    access = ["--docker-host"] if admin else ["--read-only"]
    cmd = [sys.executable, "-m", "pytest", "acceptance/tests", "--hub-url", url, *access,
           "-p", "no:cacheprovider", "--report-dir", str(tmp_path), f"--junitxml={tmp_path / 'junit.xml'}",
           f"--html={tmp_path / 'pytest-report.html'}", f"--output={tmp_path / 'artifacts'}", *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=Timeouts.spawn * 6 + 1800)
    (tmp_path / "verify.log").write_text(proc.stdout + proc.stderr)
    report = json.loads((tmp_path / "deployment-report.json").read_text())
    report["exit_code"] = proc.returncode
    return report


def test_a_verify_run_leaves_the_residents_things_untouched_and_nothing_of_its_own(deployment, resident, expected,
                                                                                    tmp_path):
    api, servers, before = resident["api"], resident["servers"], resident["server"]
    report = run_verify(deployment.hub_url, resident["admin"], tmp_path, *([] if STEPS == "all" else ["-m", STEPS]))
    steps = {s["id"]: s for s in report["steps"]}
    ran = {sid: s["status"] for sid, s in steps.items() if s["checks"]}
    assert ran and all(status == "passed" for status in ran.values()), \
        f"the verify run did not pass ({report['status']}): {report['reasons'][:5]}; log {tmp_path / 'verify.log'}"
    # the one exit status rule: 0 for OPERATIONAL, and for PARTIAL when narrowed on purpose and all selected passed
    assert report["exit_code"] == (0 if report["status"] in ("OPERATIONAL", "PARTIAL") else 1)
    assert report["status"] == ("OPERATIONAL" if STEPS == "all" else "PARTIAL"), report["reasons"]
    assert "out of scope (disturbs others" in report["scope"], report["scope"]   # no --disruptive: said so

    # the resident: the same running container, the file intact, the volume there
    assert servers.container(RESIDENT).id == before.container.id, "the resident's server was replaced"
    assert servers.home_file(RESIDENT, "", FILE) == CONTENT, "the resident's file changed"
    deployment.docker.volumes.get(f"jupyterhub-user-{RESIDENT}")
    # nothing of the run's: no user, container, volume or token
    prefix = report["info"]["Users made by this run"].split()[1].rstrip("*,")
    users = [u["name"] for u in api.get("/users")]
    assert set(users) == {expected.admin, RESIDENT}, f"users after the run: {users}"
    escaped = DockerSpawner._escape(prefix)
    left = [i for i in deployment.everything() if escaped in i or prefix in i]
    assert not left, f"the verify run ({prefix}) left {left}"
    assert len(api.get(f"/users/{expected.admin}/tokens")["api_tokens"]) == resident["tokens"], \
        "the run left a token of the admin's"


def test_a_deployment_that_breaks_the_expected_state_is_red_on_the_right_step(deployment, resident, tmp_path):
    profiles = yaml.safe_load((STACK_DIR / "profiles.yaml").read_text())
    for p in profiles["profiles"]:
        if p["key"] == "marimo-2cpu-4gb":
            p["default_url"] = "/lab"          # a wrong landing URL
        if p["key"] == "lab-4cpu-8gb":
            p["cpus"] = 1                      # a wrong CPU limit
    broken = tmp_path / "profiles.yaml"
    broken.write_text(yaml.safe_dump(profiles))
    deployment.up_again(PROFILES_HOST_FILE=str(broken))
    report = run_verify(deployment.hub_url, resident["admin"], tmp_path, "-m", "p3")
    steps = {s["id"]: s for s in report["steps"]}
    assert report["status"] in ("FAILED", "DEGRADED") and report["exit_code"] != 0, report["status"]
    assert steps["P3"]["status"] == "failed"
    message = steps["P3"]["message"]
    assert "uv Marimo - 2 CPU / 4GB: lands on /lab" in message, message
    assert "uv Lab - 4 CPU / 8GB: CPU limit 100000/100000 (quota/period), the specification says 4 CPUs" in message, \
        message
    assert free_port()   # the host is still usable


@pytest.fixture
def behind_tls_proxy(deployment, tmp_path):
    """The hub served under /jupyter/, behind a TLS-terminating reverse proxy (configurable-http-proxy from
    the hub image, with websockets) on a free loopback port, with a certificate of a private CA."""
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(certs / "key.pem"), "-out",
                    str(certs / "cert.pem")], check=True, capture_output=True)
    deployment.hub_url = deployment.hub_url.rstrip("/") + "/jupyter"
    deployment.up_again(BASE_URL="/jupyter/")
    port = free_port()
    proxy = deployment.docker.containers.run(
        HUB_IMAGE, ["configurable-http-proxy", "--ip", "0.0.0.0", "--port", "8443", "--ssl-key", "/certs/key.pem",
                    "--ssl-cert", "/certs/cert.pem", "--default-target", "http://jupyterhub-hub:8000"],
        name="jhv-selftest-tls-proxy", detach=True, network="jupyterhub-net",
        ports={"8443/tcp": ("127.0.0.1", port)}, volumes={str(certs): {"bind": "/certs", "mode": "ro"}})
    url = f"https://127.0.0.1:{port}/jupyter"
    try:
        trust = ssl.create_default_context(cafile=str(certs / "cert.pem"))
        wait_for(lambda: httpx.get(f"{url}/hub/health", verify=trust).status_code == 200,
                 timeout=Timeouts.hub_ready, what=f"the hub through the TLS proxy at {url}")
        yield url, certs / "cert.pem"
    finally:
        proxy.remove(force=True)


def test_a_read_only_run_over_https_behind_a_proxy_under_a_prefix(deployment, resident, behind_tls_proxy, tmp_path):
    """--read-only with --ca-bundle against https://127.0.0.1:PORT/jupyter: the pages, the version and the
    certificate verify; the proxy sends no HSTS, which the header check reports; nothing is created."""
    url, cert = behind_tls_proxy
    with HubAPI(deployment.hub_url, resident["token"]) as api:   # the hub is under /jupyter/ now
        users_before = {u["name"] for u in api.get("/users")}
        report = run_verify(url, None, tmp_path, "--ca-bundle", str(cert))
        users_after = {u["name"] for u in api.get("/users")}
    checks = {c["title"]: c for s in report["steps"] for c in s["checks"]}
    statuses = {title.split(":")[0][:60]: c["status"] for title, c in checks.items()}
    # health and version, the pages, the headers, the certificate, and Security 6's CSP on every page
    assert len(checks) == 5, statuses
    headers = next(c for t, c in checks.items() if "security headers" in t)
    assert headers["status"] == "failed" and "Strict-Transport-Security" in headers["message"], headers
    others = [c for c in checks.values() if c is not headers]
    assert all(c["status"] == "passed" for c in others), statuses
    tls = next(c for t, c in checks.items() if "certificate" in t)
    assert tls["facts"]["certificate"].startswith("127.0.0.1 until"), tls["facts"]
    assert users_after == users_before, "a read-only run created users"
    assert report["exit_code"] != 0


def test_a_read_only_run_is_never_operational(deployment, resident, tmp_path):
    """Every read-only check passing against the plain-HTTP deployment is READ-ONLY, not OPERATIONAL: the run
    exits non-zero unless asked to gate on the read-only verdict (--gate-read-only)."""
    (tmp_path / "plain").mkdir()
    (tmp_path / "gated").mkdir()
    report = run_verify(deployment.hub_url, None, tmp_path / "plain")
    assert report["status"] == "READ-ONLY" and report["exit_code"] == 1, (report["status"], report["reasons"])
    assert any(r.startswith("read-only run: only what answers without credentials") for r in report["reasons"])
    gated = run_verify(deployment.hub_url, None, tmp_path / "gated", "--gate-read-only")
    assert (gated["status"], gated["exit_code"]) == ("READ-ONLY", 0), gated["reasons"]
