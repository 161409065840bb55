"""The harness tests itself by mutation: deliberate breakages of the platform, one at a time, each in a
scratch copy of stack/ and images/, and the checklist steps that must catch it run against it.

    python -m acceptance.mutants            # every breakage (the nightly workflow)
    python -m acceptance.mutants --smoke    # the few .ci/run runs
    python -m acceptance.mutants --only p3-memory-doubled t2-profile-dropped
    python -m acceptance.mutants --list

A breakage is caught when every step it names comes out "failed" in the deployment report of its run.
Prints a table and writes reports/mutants.json (the deployment report shows the latest) and each run's
own reports under reports/mutants/<id>/. Exit status 0 only when every breakage was caught.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from acceptance.settings import REPORTS_DIR, ROOT

pytest_no_tests = 5   # pytest's exit status when nothing was selected
PROFILES, CONFIG, COMPOSE = "stack/profiles.yaml", "stack/jupyterhub_config.py", "stack/docker-compose.yml"
DOCKERFILE, SERVER_CONFIG = "images/singleuser/Dockerfile", "images/singleuser/jupyter_server_config.py"


@dataclass(frozen=True)
class Mutant:
    id: str
    breakage: str                       # what is wrong, in words
    category: str                       # profile definition | hub config | compose file | images
    steps: tuple[str, ...]              # the steps that must fail
    edits: tuple[tuple[str, str, str], ...]   # (file, text, replacement): the text must occur exactly once
    select: str | None = None           # -k: the steps' checks that can see it (saves time)
    build: tuple[str, ...] = ()         # images/build.py names to build from the scratch copy
    smoke: bool = False                 # also run by .ci/run
    stack: str = "compose"              # --stack the steps run against
    args: tuple[str, ...] = ()          # more pytest options the steps need (L1: --load SCENARIO)


def _tag(mutant_id: str) -> str:
    return f"local/uv-marimo:mutant-{mutant_id}"


def _marimo_image(cpus: int, tag: str) -> tuple[str, str, str]:
    """The edit that gives the marimo profile with `cpus` the image `tag`."""
    return PROFILES, f"image: local/uv-marimo:latest\n    cpus: {cpus}\n", f"image: {tag}\n    cpus: {cpus}\n"


MUTANTS: tuple[Mutant, ...] = (
    # --- the profile definition: wrong but consistent (the platform configures itself from it)
    Mutant("p3-memory-doubled", '"uv Lab - 2 CPU / 4GB" is given 8G of memory', "profile definition", ("P3", "T8"),
           ((PROFILES, "    cpus: 2\n    memory: 4G\n    default_url: /lab\n",
             "    cpus: 2\n    memory: 8G\n    default_url: /lab\n"),), select="lab-2cpu-4g", smoke=True),
    Mutant("p3-cpu-halved", '"uv VS Code - 2 CPU / 4GB" is capped at 1 CPU', "profile definition", ("P3", "T8"),
           ((PROFILES, "    cpus: 2\n    memory: 4G\n    default_url: /vscode/\n",
             "    cpus: 1\n    memory: 4G\n    default_url: /vscode/\n"),), select="vscode-2cpu-4g"),
    Mutant("t5-marimo-lands-on-lab", '"uv Marimo - 1 CPU / 2GB" lands on JupyterLab', "profile definition",
           ("P3", "T5"), ((PROFILES, "    memory: 2G\n    default_url: /proxy/marimo/\n    app: marimo\n",
                           "    memory: 2G\n    default_url: /lab\n    app: lab\n"),),
           select="marimo-1cpu-2g or named_marimo"),
    Mutant("t2-profile-dropped", '"uv Marimo - 2 CPU / 4GB" is not offered', "profile definition", ("T2",),
           ((PROFILES, "  - key: marimo-2cpu-4gb\n    name: uv Marimo - 2 CPU / 4GB\n"
                       "    image: local/uv-marimo:latest\n    cpus: 2\n    memory: 4G\n"
                       "    default_url: /proxy/marimo/\n    app: marimo\n", ""),),
           smoke=True),
    Mutant("t4-vscode-runs-marimo-image", '"uv VS Code - 2 CPU / 4GB" runs the marimo image', "profile definition",
           ("T4",), ((PROFILES, "  - key: vscode-2cpu-4gb\n    name: uv VS Code - 2 CPU / 4GB\n"
                                "    image: local/uv-vscode:latest\n",
                      "  - key: vscode-2cpu-4gb\n    name: uv VS Code - 2 CPU / 4GB\n"
                      "    image: local/uv-marimo:latest\n"),)),
    Mutant("t3-lab-lands-on-tree", '"uv Lab - 2 CPU / 4GB" lands on /tree instead of /lab', "profile definition",
           ("T3",), ((PROFILES, "    cpus: 2\n    memory: 4G\n    default_url: /lab\n",
                      "    cpus: 2\n    memory: 4G\n    default_url: /tree\n"),), select="launcher_entries"),
    # --- the compose file
    Mutant("p2-hub-api-published", "the hub API port 8081 is published too (on loopback)", "compose file",
           ("P2", "R2"), ((COMPOSE, '      - "${HUB_BIND:-127.0.0.1}:${HUB_PORT:-8000}:8000"\n',
                           '      - "${HUB_BIND:-127.0.0.1}:${HUB_PORT:-8000}:8000"\n      - "127.0.0.1::8081"\n'),),
           select="publishes or only_the_proxy"),
    Mutant("p2-network-renamed", "the network is jupyterhub-network, not jupyterhub-net", "compose file", ("P2",),
           ((COMPOSE, "name: ${NAME_PREFIX:-}jupyterhub-net", "name: ${NAME_PREFIX:-}jupyterhub-network"),
            (CONFIG, 'f"{NAME_PREFIX}jupyterhub-net"', 'f"{NAME_PREFIX}jupyterhub-network"')), select="network"),
    # --- the hub config
    Mutant("p2-state-outside-the-volume", "the hub database lives in /tmp, outside the data volume", "hub config",
           ("P2",), ((CONFIG, 'f"sqlite:///{DATA_DIR}/jupyterhub.sqlite"', '"sqlite:////tmp/jupyterhub.sqlite"'),),
           select="state_lives"),
    Mutant("p4-signup-closed", "bootstrap mode with signup closed (open_signup False)", "hub config", ("P4",),
           ((CONFIG, "    c.NativeAuthenticator.open_signup = True", "    c.NativeAuthenticator.open_signup = False"),),
           select="auth_mode"),
    Mutant("p4-short-passwords", "4-character passwords accepted", "hub config", ("P4",),
           ((CONFIG, 'int(env("MIN_PASSWORD_LENGTH", "8"))', 'int(env("MIN_PASSWORD_LENGTH", "4"))'),),
           select="minimum_length", smoke=True),
    Mutant("t7-no-admin", "nobody is an admin", "hub config", ("T1", "T7"),
           ((CONFIG, "c.Authenticator.admin_users = {ADMIN_USER}", "c.Authenticator.admin_users = set()"),),
           select="admin_access or loads_and_lists"),
    Mutant("t6-home-not-a-volume", "user homes are not mounted volumes", "hub config", ("T6",),
           ((CONFIG, 'c.DockerSpawner.volumes = {f"{NAME_PREFIX}jupyterhub-user-{{username}}": NOTEBOOK_HOME}',
             "c.DockerSpawner.volumes = {}"),)),
    Mutant("r1-no-account-lock", "failed logins never lock an account", "hub config", ("R1",),
           ((CONFIG, 'int(env("LOGIN_MAX_FAILURES", "5"))', 'int(env("LOGIN_MAX_FAILURES", "0"))'),), select="lock"),
    Mutant("r2-containers-keep-capabilities", "user containers keep their capabilities and may gain privileges",
           "hub config", ("R2",), ((CONFIG, 'c.DockerSpawner.extra_host_config = {"security_opt": '
                                            '["no-new-privileges"], "cap_drop": ["ALL"]}',
                                    "c.DockerSpawner.extra_host_config = {}"),), select="unprivileged"),
    Mutant("r7-no-hsts", "the production proxy sends no Strict-Transport-Security header", "compose file", ("R7",),
           (("stack/production/nginx/jupyterhub.conf.template",
             'add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;', ""),),
           select="hsts", stack="production"),
    Mutant("l1-spawn-timeout-2s", "a spawn is given up after 2 s (Spawner.start_timeout)", "hub config", ("L1",),
           ((CONFIG, 'env("SPAWNER_START_TIMEOUT", "300")', 'env("SPAWNER_START_TIMEOUT", "2")'),),
           args=("--load", "acceptance/load/scenarios/smoke.yaml")),
    Mutant("r3-servers-die-with-the-hub", "a hub restart stops every user server (cleanup_servers)", "hub config",
           ("R3",), ((CONFIG, "c.JupyterHub.cleanup_servers = False", "c.JupyterHub.cleanup_servers = True"),),
           select="hub_restart"),
    Mutant("r4-allowed-users-ignored", "production mode ignores ALLOWED_USERS", "hub config", ("R4",),
           ((CONFIG, 'c.Authenticator.allowed_users = {u.strip() for u in env("ALLOWED_USERS", "").split(",") '
                     'if u.strip()} | {\n        ADMIN_USER\n    }', "c.Authenticator.allowed_users = {ADMIN_USER}"),),
           select="only_listed"),
    Mutant("r5-proxy-token-per-start", "the proxy token is made anew at every start, not kept in the volume",
           "hub config", ("R5",), ((CONFIG, 'persistent_secret(DATA_DIR / "proxy_auth_token")',
                                    "secrets.token_hex(32)"),), select="first_start"),
    Mutant("r6-xsrf-off", "the hub does not check XSRF tokens (tornado's xsrf_cookies off)", "hub config", ("R6",),
           ((CONFIG, "c.JupyterHub.admin_access = True\n",
             'c.JupyterHub.admin_access = True\nc.JupyterHub.tornado_settings = {"xsrf_cookies": False}\n'),),
           select="xsrf"),
    Mutant("r6-any-image", "user_options may name any image (allowed_images '*')", "hub config", ("R6",),
           ((CONFIG, "c.DockerSpawner.allowed_images = []", 'c.DockerSpawner.allowed_images = "*"'),),
           select="user_options"),
    Mutant("r6-framing-allowed", "hub pages may be framed by any site (CSP frame-ancestors *)", "hub config",
           ("R2", "R6"), ((CONFIG, "c.JupyterHub.admin_access = True\n",
                           'c.JupyterHub.admin_access = True\nc.JupyterHub.tornado_settings = {"headers": '
                           '{"Content-Security-Policy": "frame-ancestors *"}}\n'),), select="security_headers or csp"),
    # --- the images
    Mutant("p1-stale-image", "the single-user Dockerfile changed and the images were not rebuilt", "images", ("P1",),
           ((DOCKERFILE, "FROM uv-vscode AS uv-lab\n", "FROM uv-vscode AS uv-lab\n# changed after the build\n"),),
           select="built_from_this_checkout", smoke=True),
    Mutant("p1-broken-build", "the uv-marimo image does not build", "images", ("P1",),
           ((DOCKERFILE, "FROM common AS uv-marimo\n", "FROM common AS uv-marimo\nRUN exit 3\n"),),
           select="built_from_this_checkout", build=("uv-marimo",)),
    Mutant("t5-marimo-moved", "the marimo image serves marimo at /marimo-app/, not /proxy/marimo/", "images", ("T5",),
           ((SERVER_CONFIG, '    "proxy/marimo": {', '    "marimo-app": {'),
            # both marimo profiles use the mutant's tag: local/uv-marimo:latest is never rebuilt from the copy
            *(_marimo_image(cpus, _tag("t5-marimo-moved")) for cpus in (1, 2))),
           select="named_marimo", build=("uv-marimo",)),
)


@dataclass
class Outcome:
    mutant: Mutant
    caught: bool = False
    failed_steps: list[str] = field(default_factory=list)
    message: str = ""
    duration_s: float = 0.0

    def row(self) -> dict:
        m = self.mutant
        return {"id": m.id, "breakage": m.breakage, "category": m.category, "expected_steps": list(m.steps),
                "caught": self.caught, "failed_steps": self.failed_steps, "message": self.message,
                "duration_s": round(self.duration_s, 1)}


def scratch_copy(mutant: Mutant, into: Path) -> Path:
    """stack/ and images/ copied into `into`, with the mutant's edits applied (each must match once)."""
    for part in ("stack", "images"):
        shutil.copytree(ROOT / part, into / part, ignore=shutil.ignore_patterns("__pycache__", ".env"))
    for rel, text, replacement in mutant.edits:
        path = into / rel
        content = path.read_text()
        if content.count(text) != 1:
            raise ValueError(f"{mutant.id}: {rel} holds the text to break {content.count(text)} times, not once: "
                             f"{text!r}")
        path.write_text(content.replace(text, replacement))
    return into


def _first_line(text: str) -> str:
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


def failure_summary(step: dict) -> str:
    """The distinct first lines of the step's failed checks' messages (the check's own words, not its title)."""
    lines = [_first_line(c["message"]) for c in step["checks"] if c["status"] in ("failed", "error")]
    return "; ".join(dict.fromkeys(line for line in lines if line)) or f"step {step['status']}"


def run_mutant(mutant: Mutant, reports: Path) -> Outcome:
    outcome = Outcome(mutant)
    start = time.monotonic()
    outdir = reports / "mutants" / mutant.id
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    env = {**os.environ, "TESTCONTAINERS_RYUK_DISABLED": "true", "DOCKER_BUILDKIT": "0"}
    env.pop("IMAGE_BUILD_STATUS", None)
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.id}-") as tmp:
        try:
            scratch = scratch_copy(mutant, Path(tmp))
            env["PLATFORM_ROOT"] = str(scratch)
            log = open(outdir / "run.log", "w")
            if mutant.build:
                env["IMAGE_BUILD_STATUS"] = str(outdir / "image-build.json")
                subprocess.run([sys.executable, str(scratch / "images" / "build.py"), *mutant.build,
                                "--status-file", env["IMAGE_BUILD_STATUS"]], env=env, stdout=log,
                               stderr=subprocess.STDOUT, cwd=ROOT)
            markers = " or ".join(s.lower() for s in mutant.steps)
            cmd = [sys.executable, "-m", "pytest", "acceptance/tests", "-m", markers, "-p", "no:cacheprovider",
                   "--report-dir", str(outdir), f"--junitxml={outdir / 'junit.xml'}",
                   f"--html={outdir / 'pytest-report.html'}", f"--output={outdir / 'artifacts'}"]
            if mutant.select:
                cmd += ["-k", mutant.select]
            if mutant.stack != "compose":
                cmd += ["--stack", mutant.stack]
            cmd += mutant.args
            proc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
            log.close()
            if proc.returncode == pytest_no_tests:
                raise ValueError(f"-m {markers!r} -k {mutant.select!r} selects no check")
            report = json.loads((outdir / "deployment-report.json").read_text())
        except Exception as exc:  # noqa: BLE001 - a mutant that could not run is reported as missed
            outcome.message = f"the mutant did not run: {type(exc).__name__}: {exc}"
            outcome.duration_s = time.monotonic() - start
            return outcome
        finally:
            _remove_mutant_images(mutant)
    steps = {s["id"]: s for s in report["steps"]}
    outcome.failed_steps = [sid for sid, s in steps.items() if s["status"] == "failed"]
    outcome.caught = all(sid in outcome.failed_steps for sid in mutant.steps)
    messages = [f"{sid}: {failure_summary(steps[sid])}" for sid in mutant.steps if sid in steps]
    outcome.message = " | ".join(messages) or f"expected {list(mutant.steps)} to fail; report status " \
                                              f"{report.get('status')}"
    outcome.duration_s = time.monotonic() - start
    return outcome


def _remove_mutant_images(mutant: Mutant) -> None:
    if mutant.build:
        subprocess.run(["docker", "image", "rm", "-f", _tag(mutant.id)], capture_output=True)


def write_table(outcomes: list[Outcome], reports: Path, merge: bool = False) -> Path:
    """reports/mutants.json; with `merge` (a re-run of some breakages) their rows replace the earlier ones."""
    path = reports / "mutants.json"
    rows = {o.mutant.id: o.row() for o in outcomes}
    if merge and path.exists():
        earlier = {r["id"]: r for r in json.loads(path.read_text()).get("rows", [])}
        rows = {m.id: rows.get(m.id) or earlier[m.id] for m in MUTANTS if m.id in rows or m.id in earlier}
    caught = sum(r["caught"] for r in rows.values())
    data = {"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "total": len(rows), "caught": caught,
            "kill_rate": round(caught / len(rows), 4) if rows else 0.0, "rows": list(rows.values())}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def print_table(outcomes: list[Outcome]) -> None:
    print(f"\n{'breakage':34} {'steps':9} {'result':7} {'time':>6}  message")
    for o in outcomes:
        m = o.mutant
        print(f"{m.id:34} {','.join(m.steps):9} {'caught' if o.caught else 'MISSED':7} {o.duration_s:5.0f}s  "
              f"{o.message[:160]}")
    caught = sum(o.caught for o in outcomes)
    print(f"\nkill rate: {caught}/{len(outcomes)} ({100 * caught / max(len(outcomes), 1):.0f} %)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="only the breakages .ci/run runs")
    parser.add_argument("--only", nargs="+", metavar="ID",
                        help="only these breakages (their rows replace the earlier ones in reports/mutants.json)")
    parser.add_argument("--list", action="store_true", help="list the breakages and exit")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if (not args.smoke or m.smoke) and (not args.only or m.id in args.only)]
    unknown = set(args.only or ()) - {m.id for m in MUTANTS}
    if unknown:
        parser.error(f"unknown breakage(s) {sorted(unknown)}")
    if args.list:
        for m in chosen:
            print(f"{m.id:34} {m.category:18} {','.join(m.steps):9} {m.breakage}")
        return 0
    reports = Path(REPORTS_DIR)
    outcomes = []
    for n, mutant in enumerate(chosen, 1):
        print(f"[mutants] {n}/{len(chosen)} {mutant.id}: {mutant.breakage} (must fail: {', '.join(mutant.steps)})",
              flush=True)
        outcome = run_mutant(mutant, reports)
        print(f"[mutants]   {'caught' if outcome.caught else 'MISSED'} in {outcome.duration_s:.0f} s: "
              f"{outcome.message[:300]}", flush=True)
        outcomes.append(outcome)
    print_table(outcomes)
    print(f"[mutants] table: {write_table(outcomes, reports, merge=bool(args.only))}")
    return 0 if outcomes and all(o.caught for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
