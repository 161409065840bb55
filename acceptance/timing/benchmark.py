"""Benchmark: prints figures and writes them to reports/benchmark.json; enforces nothing.

    python -m acceptance.timing.benchmark [--spawns N] [--run-report reports/deployment-report.json]
                                   [--junit reports/junit.xml] [--builds] [--suite cold warm] [--output FILE]

Image sizes against the targets; hub start (compose up -> API answers); N spawns of every profile
(default 3), each timed from the REST request to ready and split by evidence into where the time went
(acceptance/timing/spawn.py: the container's create and start times, the server's and the hub's logs),
with the landing page's first answer and the stop time; whether the spawn times fall into a fast and a
slow group, and which segment makes the difference. With --run-report (and --junit), where a test run's time
went: per step, the checklist's sum, the slowest checks and setups (acceptance/timing/run.py). With --suite, README's
main job timed from a fresh clone, warm and/or cold (acceptance/timing/suite.py). Last, issue 18's speed targets,
measured or not. `--spawns 0` starts no stack. With --builds, also the time of a cached
rebuild of each image.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import docker

from acceptance.client.hub_api import HubAPI, HubSession
from acceptance.client.servers import Servers, read_offered_profiles
from acceptance.deployments.compose import StackRun
from acceptance.deployments.images_info import image_size, shared_size
from acceptance.expected import load as load_expected
from acceptance.settings import (
    IMAGE_SIZE_TARGETS,
    IMAGES_TOGETHER_TARGET,
    PLATFORM_ROOT,
    REPORTS_DIR,
    Timeouts,
)
from acceptance.timing import run as run_timing
from acceptance.timing import spawn as spawn_timing
from acceptance.timing import suite
from acceptance.timing.run import fmt_s
from acceptance.timing.spawn import ROWS, SEGMENTS, Spawn
from images import build

MAX_SPAWNS = 10   # per profile: keeps a run bounded (6 profiles x 10 x ~10 s)
# --hub-package checkout: where the checkout's jhub_platform is mounted in the hub (PYTHONPATH, ahead of the image's)
CHECKOUT_PACKAGE_DIR = "/opt/jhub_platform-checkout"
OUTPUT = REPORTS_DIR / "benchmark.json"


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def host_facts() -> dict:
    mem = next((int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), None) if Path("/proc/meminfo").exists() else None
    return {"cores": os.cpu_count(), "memory_bytes": mem, "load_average_at_start": list(os.getloadavg())}


def sizes(client) -> dict:
    state = load_expected()   # the specification's expected state
    tags, spec = state.images, state.image_sizes
    rows = []
    print(f"\n{'image':28} {'size':>9} {'target':>9} {'spec':>8}  within")
    for tag in tags:
        size, target = image_size(client, tag), IMAGE_SIZE_TARGETS.get(tag)
        within = bool(target and size <= target)
        rows.append({"image": tag, "size_bytes": size, "target_bytes": target, "within": within})
        print(f"{tag:28} {_gb(size):>9} {_gb(target):>9} {spec.get(tag, '-'):>8}  {'yes' if within else 'NO'}")
    together = shared_size(client, tags)
    ok = together <= IMAGES_TOGETHER_TARGET
    label = "three together (shared once)"
    print(f"{label:28} {_gb(together):>9} {_gb(IMAGES_TOGETHER_TARGET):>9} {'6.54GB':>8}  {'yes' if ok else 'NO'}")
    hub = image_size(client, build.HUB_IMAGE)
    print(f"{build.HUB_IMAGE:28} {_gb(hub):>9}")
    return {"images": rows, "together": {"size_bytes": together, "target_bytes": IMAGES_TOGETHER_TARGET,
                                         "within": ok}, "hub_image_bytes": hub}


def builds() -> dict:
    base = build.choose_base_image()
    build.prepare_extra_ca()
    print("\ncached rebuilds:")
    out = {}
    for spec in build.image_specs():
        out[spec.tag] = round(build.build(spec, base), 3)
        print(f"  {spec.tag:28} {out[spec.tag]:6.1f} s")
    return out


def timed_spawn(api: HubAPI, servers: Servers, user: str, name: str, profile) -> Spawn:
    """Start one server and collect its evidence (the container's times and log, read before the stop
    removes it); the hub's points are filled in later from the hub's log."""
    spawn = Spawn(profile.name, user, name)
    value = servers.form_value(profile)
    t0 = time.time()
    api.start_server(user, name, value)
    spawn.post_answer_s = round(time.time() - t0, 3)
    servers.started.append((user, name))
    api.wait_ready(user, name)
    spawn.points.update(post=t0, client_ready=time.time())
    container = servers.container(user, name)
    container.reload()
    spawn.points["created"] = spawn_timing.parse_docker_time(container.attrs["Created"])
    spawn.points["started"] = spawn_timing.parse_docker_time(container.attrs["State"]["StartedAt"])
    server_log = spawn_timing.parse_log(container.logs(timestamps=True))
    spawn.points["listening"] = spawn_timing.first(server_log, spawn_timing.SERVER_RUNNING)
    t1 = time.monotonic()
    status = api.server_get(servers.url(user, name), timeout=Timeouts.app_load).status_code
    spawn.landing_s = round(time.monotonic() - t1, 3)
    if status != 200:
        print(f"  ({profile.name}: landing HTTP {status})")
    t2 = time.monotonic()
    servers.stop(user, name)
    spawn.stop_s = round(time.monotonic() - t2, 3)
    return spawn


def checkout_package_override(run: StackRun) -> None:
    """Run the hub with this checkout's images/hub/jhub_platform bind-mounted beside the image's installed copy and
    first on PYTHONPATH, so it is the one imported (a compose override in the run's temporary directory): a change of
    the hub's package is measured before a rebuild."""
    override = Path(run._env_dir.name) / "hub-package.yml"
    override.write_text(json.dumps({"services": {"hub": {
        "volumes": [f"{PLATFORM_ROOT / 'images/hub/jhub_platform'}:{CHECKOUT_PACKAGE_DIR}/jhub_platform:ro"],
        "environment": {"PYTHONPATH": CHECKOUT_PACKAGE_DIR}}}}))
    run.compose.compose_file_name = [*run.compose.compose_file_name, str(override)]


class Target:
    """One stack the spawns run on: started, with the admin signed up and a token."""

    def __init__(self, label: str, env: dict[str, str], checkout_package: bool):
        self.label, self.env = label, env
        self.run = StackRun(extra_env=env)
        if checkout_package:
            checkout_package_override(self.run)
        self.spawns: list[Spawn] = []

    def up(self) -> None:
        t0 = time.monotonic()
        self.run.up()
        self.hub_start = round(time.monotonic() - t0, 3)
        print(f"\n{self.label}: hub start (compose up -> API answers): {self.hub_start:.1f} s")
        self.session = HubSession(self.run.hub_url)
        password = "Bench-" + self.run.run_id * 2
        self.session.signup("admin", password)
        self.session.login("admin", password)
        self.api = HubAPI(self.run.hub_url, self.session.create_token("admin", "benchmark"))
        self.servers = Servers(self.api, self.run, read_offered_profiles(self.run.hub_url, "admin", password,
                                                                         self.api))

    def read_hub_log(self) -> None:
        """The hub's points of every spawn, from its log (read once, before the stack goes)."""
        container = self.run.docker.containers.get(self.run.hub_container_name)
        hub_log = spawn_timing.parse_log(container.logs(timestamps=True))
        for s in self.spawns:
            s.points.update(spawn_timing.hub_points(hub_log, s.user, s.name, self.servers.url(s.user, s.name),
                                                    after=s.points["post"] - 1))

    def result(self, n: int) -> dict:
        summary = spawn_timing.summarize(self.spawns)
        modes = spawn_timing.modes(self.spawns)
        return {"label": self.label, "env": self.env, "hub_start_s": self.hub_start, "spawns_per_profile": n,
                "summary": summary, "modes": modes, "explanation": spawn_timing.explain_modes(modes),
                "spawns": [s.to_json() for s in self.spawns]}

    def down(self) -> None:
        for client in (getattr(self, "api", None), getattr(self, "session", None)):
            if client is not None:
                client.close()
        self.run.down()


def stack_times(n: int, checkout_package: bool = False, baseline_env: dict[str, str] | None = None) -> list[dict]:
    """N spawns per profile on a stack (and, with baseline_env, the same spawns on a second stack with those
    settings, each spawn right after its twin on the first, so both meet the same host load)."""
    profiles = load_expected().profiles   # the specification's
    targets = [Target("stack", {}, checkout_package)]
    if baseline_env:
        targets.append(Target("baseline (" + ", ".join(f"{k}={v}" for k, v in baseline_env.items()) + ")",
                              baseline_env, checkout_package))
    started: list[Target] = []
    try:
        for t in targets:
            started.append(t)
            t.up()
        print(f"{n} spawn(s) per profile and stack, rounds over all profiles ...")
        for i in range(1, n + 1):   # rounds outermost: a profile's spawns are spread over the run
            for p in profiles:
                for t in targets:
                    t.spawns.append(timed_spawn(t.api, t.servers, "admin", f"bench-{p.id}-{i}", p))
        for t in targets:
            t.read_hub_log()
        return [t.result(n) for t in targets]
    finally:
        errors = []
        for t in started:
            try:
                t.down()
            except Exception as exc:  # noqa: BLE001 - every stack is removed, then the failures are raised
                errors.append(exc)
        if errors:
            raise errors[0]


def _cell(st: dict) -> str:
    return "—" if st["p50"] is None else f"{st['p50']:.2f}/{st['p95']:.2f}/{st['max']:.2f}"


def print_spawns(result: dict) -> None:
    summary = result["summary"]
    print(f"\n{result['label']}: spawn request -> ready, per segment ({result['spawns_per_profile']} spawns per "
          "profile; seconds p50/p95/max over all profiles)")
    for key, label in ROWS.items():
        print(f"  {_cell(summary['all'][key]):>17}  {key:26} {label}")
    keys = ["total", *SEGMENTS, "landing", "stop"]
    print("\nper profile (p50 seconds; total also p95/max):")
    print(f"  {'profile':26} {'total':>17}" + "".join(f" {k[:9]:>9}" for k in keys[1:]))
    for name, block in summary["per_profile"].items():
        p50s = "".join(f" {'—' if block[k]['p50'] is None else format(block[k]['p50'], '.2f'):>9}" for k in keys[1:])
        print(f"  {name[:26]:26} {_cell(block['total']):>17}{p50s}")
    print(f"  spawn times: {result['explanation']}")


def print_run(run: dict, junit: dict | None) -> None:
    print(f"\nrun breakdown (report of {run['report_started']}, {run['report_status']}, whole pytest run "
          f"{fmt_s(run['report_duration_s'])}):")
    for s in run["steps"]:
        print(f"  {s['id']:4} {s['duration_s']:8.1f} s  {s['checks']:3} checks  {s['title']}")
    print(f"  checklist (P1-P4, T1-T8): {fmt_s(run['checklist_s'])}; full run (checklist + R1-R5): "
          f"{fmt_s(run['full_run_s'])}")
    print("  slowest checks (setup + call + teardown):")
    for c in run["slowest_checks"]:
        phases = c["phases_s"]
        split = f"  (setup {phases['setup']:.1f}, call {phases.get('call', 0):.1f}, teardown " \
                f"{phases.get('teardown', 0):.1f})" if phases and "setup" in phases else ""
        print(f"    {c['duration_s']:7.1f} s  {c['nodeid']}{split}")
    if run["slowest_setups"]:
        print("  slowest setups (the fixtures a test is first to use):")
        for c in run["slowest_setups"]:
            print(f"    {c['setup_s']:7.1f} s  {c['nodeid']}")
    else:
        print("  (this report records no setup/call/teardown split: reports written before it was added)")
    if junit:
        print(f"  JUnit: {junit['tests']} tests, {fmt_s(junit['sum_s'])} in all; slowest:")
        for c in junit["slowest"]:
            print(f"    {c['time_s']:7.1f} s  {c['test']}")


def previous_suite(output: Path) -> dict:
    """The suite figures an earlier run wrote to `output` (a spawn-only run keeps them beside its own)."""
    try:
        return dict(json.loads(output.read_text()).get("suite") or {})
    except (OSError, ValueError, AttributeError):
        return {}


def write_figures(result: dict, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def print_suite(fig: dict) -> None:
    print(f"\nREADME's main job, {fig['kind']} (fresh clone of {fig['commit'][:10]}): provisioning "
          f"{fmt_s(fig['provision_s'])}, main job {fmt_s(fig['main_job_s'])}, total {fmt_s(fig['total_s'])}; "
          f"the suite {fmt_s(fig['suite_s'])}, verdict {fig['verdict']}, {fig['checks']} checks"
          + ("" if fig["green"] else " (NOT green: see the logs)") + f"; logs {fig['logs']}")


def print_targets(rows: list[dict]) -> None:
    print(f"\n{'speed target (issue 18)':48} {'measured':>14} {'target':>10}  met")
    for r in rows:
        met = "—" if r["met"] is None else ("yes" if r["met"] else "NO")
        print(f"{r['figure']:48} {fmt_s(r['measured_s']):>14} {fmt_s(r['target_s']):>10}  {met}")
        if r["note"]:
            print(f"{'':50}{r['note']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", action="store_true", help="also time a cached rebuild of each image")
    parser.add_argument("--spawns", type=int, default=3, metavar="N",
                        help=f"spawns per profile (0: start no stack; at most {MAX_SPAWNS}; default 3)")
    parser.add_argument("--run-report", type=Path, metavar="JSON", help="a deployment-report.json to break down")
    parser.add_argument("--junit", type=Path, metavar="XML", help="that run's JUnit XML (pytest's reports/junit.xml)")
    parser.add_argument("--hub-package", choices=("image", "checkout"), default="image",
                        help="the hub's jhub_platform: the image's (default) or this checkout's, bind-mounted "
                             "(measures a change of it before the image is rebuilt)")
    parser.add_argument("--baseline-env", action="append", default=[], metavar="KEY=VALUE",
                        help="also time the same spawns on a second stack with this setting (repeatable), "
                             "alternating with the first: a before/after under the same host load")
    parser.add_argument("--suite", nargs="+", choices=("cold", "warm"), default=[], metavar="KIND",
                        help="time README's main job from a fresh clone: warm, and/or cold (stops the engine and "
                             "removes the project's images first: for a throw-away machine); see "
                             "acceptance/timing/suite.py. Kept in the output beside the other figures")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where the figures go (default {OUTPUT})")
    args = parser.parse_args(argv)
    if not 0 <= args.spawns <= MAX_SPAWNS:
        parser.error(f"--spawns takes 0 to {MAX_SPAWNS}")
    result: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "host": host_facts()}
    result["suite"] = previous_suite(args.output)
    for kind in sorted(set(args.suite)):   # cold first when both: the warm run then starts from what the cold one built
        result["suite"][kind] = suite.time_suite(kind)
        print_suite(result["suite"][kind])
    failed = [kind for kind in sorted(set(args.suite)) if not result["suite"][kind]["green"]]
    if failed:   # the images may be missing (a cold run that failed early): nothing more to measure on them
        write_figures(result, args.output)
        sys.exit(f"the {' and '.join(failed)} suite run failed: its logs are in {result['suite'][failed[0]]['logs']}; "
                 f"the figures so far are in {args.output}")
    result["images"] = sizes(docker.from_env())   # after a cold suite run: the images it built
    result["builds_s"] = builds() if args.builds else None
    baseline_env = dict(kv.split("=", 1) for kv in args.baseline_env)
    stacks = stack_times(args.spawns, args.hub_package == "checkout", baseline_env) if args.spawns else []
    result["hub_package"] = args.hub_package
    result["stack"] = stacks[0] if stacks else None
    result["baseline"] = stacks[1] if len(stacks) > 1 else None
    for figures in stacks:
        print_spawns(figures)
    result["run"] = run_timing.run_breakdown(json.loads(args.run_report.read_text())) if args.run_report else None
    result["junit"] = run_timing.junit_slowest(args.junit) if args.junit else None
    if result["run"]:
        print_run(result["run"], result["junit"])
    total = result["stack"]["summary"]["all"]["total"] if result["stack"] else {}
    result["targets"] = run_timing.targets({
        "full_run": (result["run"] or {}).get("full_run_s"), "checklist": (result["run"] or {}).get("checklist_s"),
        "spawn_p50": total.get("p50"), "spawn_p95": total.get("p95"),
        "suite_warm": (result["suite"].get("warm") or {}).get("suite_s"),
        "cold": (result["suite"].get("cold") or {}).get("total_s")})
    print_targets(result["targets"])
    write_figures(result, args.output)
    print(f"\nwritten: {args.output}")


if __name__ == "__main__":
    main()
