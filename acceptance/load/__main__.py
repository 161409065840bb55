"""python -m acceptance.load --scenario FILE [--hub-url URL [--docker-host]] [--step] [--report-dir DIR]

Without --hub-url a stack of its own is started (stack/docker-compose.yml under a run-specific name), its admin
signed up with a random password, and everything is removed at the end. With --hub-url the admin's credentials
come from JUPYTERHUB_ADMIN_TOKEN, or JUPYTERHUB_ADMIN_USER and JUPYTERHUB_ADMIN_PASSWORD; the run's users are
deleted at the end, their home volumes only with --docker-host. Exit status 0 only when every gate passed."""
# Locust first: it monkey-patches the process for gevent before ssl, sockets and threads are imported
import locust  # noqa: F401, I001

import argparse
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from acceptance.load import report
from acceptance.load.host import docker_name
from acceptance.load.runner import Admin, run_once
from acceptance.load.scenario import ScenarioError, load_scenario
from acceptance.settings import REPORTS_DIR, platform_profiles


def _admin_token(hub_url: str, ca_bundle: str | None) -> str:
    from acceptance.client.hub_api import HubSession

    if os.environ.get("JUPYTERHUB_ADMIN_TOKEN"):
        return os.environ["JUPYTERHUB_ADMIN_TOKEN"]
    user, password = os.environ.get("JUPYTERHUB_ADMIN_USER"), os.environ.get("JUPYTERHUB_ADMIN_PASSWORD")
    if not (user and password):
        raise SystemExit("--hub-url needs JUPYTERHUB_ADMIN_TOKEN, or JUPYTERHUB_ADMIN_USER and "
                         "JUPYTERHUB_ADMIN_PASSWORD, in the environment")
    with HubSession(hub_url, ca_bundle) as session:
        session.login(user, password)
        return session.create_token(user, "load", expires_in=6 * 3600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m acceptance.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="acceptance/load/scenarios/default.yaml")
    parser.add_argument("--hub-url", help="a running hub (default: start a stack of its own)")
    parser.add_argument("--docker-host", action="store_true",
                        help="with --hub-url: the local Docker engine runs that hub; remove the run's user volumes")
    parser.add_argument("--step", action="store_true", help="raise the user count through the scenario's steps")
    parser.add_argument("--report-dir", type=Path, default=REPORTS_DIR / "load")
    parser.add_argument("--ca-bundle", metavar="FILE", help="CA certificates for an https:// hub (a private CA)")
    args = parser.parse_args(argv)
    if args.ca_bundle:   # requests, and websocket-client for the kernels' wss://, verify the hub with it
        os.environ["REQUESTS_CA_BUNDLE"] = os.environ["WEBSOCKET_CLIENT_CA_BUNDLE"] = args.ca_bundle
    profiles = {p.key: {"default_url": p.default_url, "app": p.app} for p in platform_profiles()}
    try:
        scenario = load_scenario(args.scenario, list(profiles))
    except ScenarioError as exc:
        print(f"scenario refused: {exc}", file=sys.stderr)
        return 2
    if args.step and not scenario.steps:
        print(f"scenario refused: {scenario.source}: steps: missing (--step needs a list of user counts)",
              file=sys.stderr)
        return 2
    counts = scenario.steps if args.step else [scenario.users]
    started = time.monotonic()
    data = {"scenario": {**scenario.__dict__, "journey": scenario.journey.__dict__},
            "mode": "step" if args.step else "single", "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "runs": [], "knee": None, "notes": [], "cleanup": []}
    stack = None
    docker_client = None
    try:
        if args.hub_url:
            hub_url, token = args.hub_url.rstrip("/"), _admin_token(args.hub_url, args.ca_bundle)
            run_id = uuid.uuid4().hex[:6]
            user_prefix = f"load-{run_id}-"
            match = f"jupyter-{docker_name(user_prefix)}"   # the run's server containers
            if args.docker_host:
                import docker
                docker_client = docker.from_env()
        else:
            from acceptance.client.hub_api import HubSession
            from acceptance.deployments.compose import StackRun

            stack = StackRun()
            print(f"starting stack {stack.project} on {stack.hub_url} ...", flush=True)
            stack.up()
            hub_url, password = stack.hub_url, uuid.uuid4().hex
            with HubSession(hub_url) as session:
                session.signup("admin", password)
                session.login("admin", password)
                token = session.create_token("admin", "load")
            user_prefix, match, docker_client = "load-", stack.project, stack.docker
        data["hub_url"] = hub_url
        admin = Admin(hub_url, token, scenario.timeouts["http"])
        for i, n in enumerate(counts):
            prefix = f"{user_prefix}s{i + 1}-" if args.step else user_prefix
            print(f"run: {n} users ({scenario.name}{', step ' + str(i + 1) if args.step else ''}), arriving at "
                  f"{scenario.arrival_rate}/s, time limit {scenario.time_limit_seconds:.0f}s", flush=True)
            run = run_once(scenario, n, hub_url, admin, profiles, prefix, step=i + 1 if args.step else None,
                           docker=docker_client, container_match=match)
            data["runs"].append(run)
            data["cleanup"] += run["cleanup_problems"]
            if not run["passed"]:
                break
            data["knee"] = n if args.step else None
        if args.hub_url:
            names = [r["user"] for run in data["runs"] for r in run["records"]]
            data["cleanup"].append(f"deleted the run's {len(names)} users on {hub_url}")
            if docker_client is not None:
                removed = 0
                for v in docker_client.volumes.list():
                    if any(v.name.endswith(f"jupyterhub-user-{docker_name(n)}") for n in names):
                        v.remove(force=True)
                        removed += 1
                data["cleanup"].append(f"removed {removed} user home volumes")
            else:
                data["cleanup"].append(f"their home volumes (*jupyterhub-user-{docker_name(user_prefix)}*) stay on "
                                       "that host: run with --docker-host there to remove them")
    finally:
        if stack is not None:
            try:
                stack.down()
                data["cleanup"].append(f"stack {stack.project} removed: no container, volume or network left")
            except Exception as exc:  # noqa: BLE001 - reported, and the run fails
                data["cleanup"].append(f"clean-up failed: {exc}")
                if data["runs"]:
                    data["runs"][-1]["gates"].append(
                        {"gate": "clean-up", "limit": None, "value": None, "passed": False, "note": str(exc)})
    data["duration"] = round(time.monotonic() - started, 1)
    data.setdefault("hub_url", args.hub_url or "")
    js, page = report.write(data, args.report_dir)
    print(report.console_summary(data))
    for line in data["cleanup"]:
        print(f"  clean-up: {line}")
    print(f"report: {page} (raw: {js})")
    return 0 if data["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
