"""One load run (or a step series): Locust's local runner starts the scenario's users at its arrival rate,
each runs one journey; the host is sampled and the hub's metrics scraped before and after; afterwards every
user the run made is stopped and deleted. Importing this module imports Locust (gevent's monkey-patching)."""
from __future__ import annotations

import time

import requests
from locust.env import Environment

from acceptance.client import hub_protocol as hub
from acceptance.load import host, metrics, stats
from acceptance.load.journey import RunContext
from acceptance.load.scenario import Scenario
from acceptance.load.users import user_class


class Admin:
    """The admin's token on the hub's REST API (requests: cooperative under gevent)."""

    def __init__(self, hub_url: str, token: str, timeout: float):
        self.hub_url, self.timeout = hub_url.rstrip("/"), timeout
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"
        self.token = token

    def api(self, method: str, path: str, **kw) -> requests.Response:
        """A request to the hub at `path` (one under hub_protocol.API) with the admin's token."""
        return self.http.request(method, f"{self.hub_url}{path}", timeout=self.timeout, **kw)

    def metrics(self) -> dict[str, float]:
        return metrics.scrape(self.hub_url, self.token, self.timeout)

    def running_servers(self, names: list[str]) -> int:
        """How many servers of these users the REST API lists."""
        r = self.api("GET", f"{hub.API}/users?state=active")
        r.raise_for_status()
        users = r.json()["items"] if isinstance(r.json(), dict) else r.json()
        return sum(len(u.get("servers") or {}) for u in users if u["name"] in names)

    def stop_servers(self, names: list[str], deadline: float) -> list[str]:
        """Stop whatever server of these users still runs (a journey cut short, a failed stop)."""
        problems = []
        for name in names:
            r = self.api("GET", hub.user_path(name))
            if not r.ok or not r.json().get("servers"):
                continue
            for server in r.json()["servers"]:
                self.api("DELETE", hub.server_path(name, server))
            while time.monotonic() < deadline and self.api("GET", hub.user_path(name)).json().get("servers"):
                time.sleep(0.5)   # polled until stopped, within the clean-up's deadline
            if time.monotonic() >= deadline:
                problems.append(f"{name}'s server not stopped by the clean-up's deadline")
        return problems

    def delete_users(self, names: list[str]) -> list[str]:
        """Delete the users (the hub stops a server still running; NativeAuthenticator's record goes too)."""
        problems = []
        for name in names:
            r = self.api("DELETE", hub.user_path(name))
            if r.status_code not in (204, 404):
                problems.append(f"deleting user {name}: HTTP {r.status_code} {r.text[:200]}")
        return problems


def _client_view(records: list[dict]) -> dict:
    def ok(phase: str) -> list[float]:
        return [p["seconds"] for r in records for p in r["phases"] if p["phase"] == phase and p["ok"]]
    spawned, stopped = ok("spawn"), ok("stop")
    return {"spawn_ok": len(spawned),
            "spawn_failed": sum(1 for r in records for p in r["phases"] if p["phase"] == "spawn" and not p["ok"]),
            "spawn_mean": sum(spawned) / len(spawned) if spawned else None,
            "stop_ok": len(stopped), "stop_mean": sum(stopped) / len(stopped) if stopped else None,
            "users": len(records), "peak_running": max((n for _, n in stats.running_over_time(records)), default=0)}


def _locust_stats(env: Environment) -> list[dict]:
    out = []
    for e in env.stats.entries.values():
        out.append({"phase": e.method, "profile": e.name, "n": e.num_requests, "failures": e.num_failures,
                    "p50": e.get_response_time_percentile(0.5) / 1000 if e.num_requests else None,
                    "p95": e.get_response_time_percentile(0.95) / 1000 if e.num_requests else None,
                    "max": e.max_response_time / 1000 if e.num_requests else None})
    return sorted(out, key=lambda s: (s["phase"], s["profile"]))


def run_once(scenario: Scenario, users: int, hub_url: str, admin: Admin, profiles: dict[str, dict],
             user_prefix: str, step: int | None = None, docker=None, container_match: str = "",
             log=print) -> dict:
    """Run `users` journeys and return everything measured (the shape load.json holds per run)."""
    result: dict = {"users": users, "step": step, "user_prefix": user_prefix, "hub_errors": []}
    try:
        before = admin.metrics()
    except Exception as exc:  # noqa: BLE001 - the hub's view is then missing, and the report says why
        before = None
        result["hub_errors"].append(f"scrape before: {exc}")

    def hub_running() -> float:
        return metrics.total(admin.metrics(), "jupyterhub_running_servers")

    t0 = time.monotonic()
    ctx = RunContext(hub_url=hub_url, scenario=scenario, users=users, plan=scenario.profile_plan(users),
                     profiles=profiles, user_prefix=user_prefix, t0=t0, step=step)
    sampler = host.HostSampler(scenario.sample_interval_seconds, docker, container_match,
                               hub_running if before is not None else None, t0).start()
    env = Environment(user_classes=[user_class(ctx)])
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=scenario.arrival_rate)
    deadline = t0 + scenario.time_limit_seconds
    last_print = 0.0
    while len(ctx.records) < users and time.monotonic() < deadline:
        if time.monotonic() - last_print >= 15:
            last_print = time.monotonic()
            log(f"  [{time.monotonic() - t0:5.0f}s] {len(ctx.started)}/{users} arrived, {len(ctx.records)} done")
        time.sleep(0.5)   # polling the users' progress, bounded by the time limit
    cut_short = len(ctx.records) < users
    runner.quit()   # kills the users still running (their records say so)
    sampler.stop()
    result["duration"] = round(time.monotonic() - t0, 2)
    result["cut_short"] = cut_short
    records = list(ctx.records)
    done = {r["user"] for r in records}
    for i in range(1, users + 1):   # users the limit stopped before their record was written, or never started
        name = f"{user_prefix}{i:03d}"
        if name not in done:
            records.append({"user": name, "profile": ctx.plan[i - 1], "app": profiles[ctx.plan[i - 1]]["app"],
                            "step": step, "arrived": None, "phases": [], "retries_429": 0, "completed": False,
                            "cut_short": True})
    records.sort(key=lambda r: r["user"])
    # servers the journeys did not stop (cut short, failed stops) are stopped before the hub's view is taken
    problems = admin.stop_servers(ctx.started, time.monotonic() + scenario.timeouts["stop"] * 2)
    try:
        after = admin.metrics() if before is not None else None
    except Exception as exc:  # noqa: BLE001
        after = None
        result["hub_errors"].append(f"scrape after: {exc}")
    client = _client_view(records)
    client["running_after"] = admin.running_servers(ctx.started)
    hub_peak = max((s["hub_running_servers"] for s in sampler.samples if "hub_running_servers" in s), default=None)
    problems += admin.delete_users(ctx.started)
    result["cleanup_problems"] = problems
    summary = stats.phase_summary(records)
    rate = stats.failure_rate(records)
    host_summary = host.summary(sampler.samples)
    result.update({
        "records": records, "summary": summary, "failures": stats.failures(records), "failure_rate": rate,
        "retries_429": sum(r["retries_429"] for r in records), "host_samples": sampler.samples,
        "host_summary": host_summary,
        "memory_by_profile": host.memory_by_profile(host_summary.get("per_container", {}),
                                                    {r["user"]: r["profile"] for r in records}),
        "sampler_errors": sampler.errors[:20], "locust_stats": _locust_stats(env),
        "running_over_time": stats.running_over_time(records), "hub_before": before, "hub_after": after,
        "hub_vs_client": metrics.compare(before, after, client, scenario.max_mean_gap_seconds, hub_peak)
        if before is not None and after is not None else None})
    result["gates"] = stats.evaluate_gates(scenario.gates, summary, rate, host_summary.get("mem_peak_percent"),
                                           cut_short)
    result["passed"] = all(g["passed"] for g in result["gates"])
    return result
