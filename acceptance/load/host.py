"""Samples during a run: the host's CPU (/proc/stat) and memory (/proc/meminfo), each of the run's containers'
memory use and limit (the docker SDK's stats, as `docker stats` shows them), and the hub's running servers.

The 2/4/8 GB of the profiles are limits, not reservations: the samples show what was actually used."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dockerspawner import DockerSpawner


def meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo: {field: bytes}."""
    out = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            out[name] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
    return out


def cpu_times(text: str) -> tuple[int, int]:
    """/proc/stat's aggregate cpu line: (busy jiffies, all jiffies); idle and iowait count as not busy."""
    fields = [int(x) for x in text.splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def container_memory(stats: dict) -> tuple[int, int]:
    """(bytes used, limit) from a container's stats, the page cache left out as `docker stats` does."""
    mem = stats.get("memory_stats") or {}
    detail = mem.get("stats") or {}
    cache = detail.get("total_inactive_file", detail.get("inactive_file", detail.get("cache", 0)))
    return max(0, int(mem.get("usage", 0)) - int(cache)), int(mem.get("limit", 0))


class HostSampler:
    """Samples every `interval` seconds in a background thread (a greenlet under Locust's gevent) until stop().

    `docker`: a docker client, or None (then containers are not sampled); `match`: the containers to sample
    (their names contain it); `running`: a callable giving the hub's running servers (or None)."""

    def __init__(self, interval: float, docker=None, match: str = "", running: Callable[[], float] | None = None,
                 t0: float | None = None):
        self.interval, self.docker, self.match, self.running = interval, docker, match, running
        self.t0 = t0 if t0 is not None else time.monotonic()
        self.samples: list[dict] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="host-sampler", daemon=True)
        self._last_cpu = cpu_times(Path("/proc/stat").read_text())

    def start(self) -> HostSampler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(self.sample())
            except Exception as exc:  # noqa: BLE001 - a failed sample is noted, the run goes on
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self._stop.wait(self.interval)

    def sample(self) -> dict:
        busy, all_ = cpu_times(Path("/proc/stat").read_text())
        (busy0, all0), self._last_cpu = self._last_cpu, (busy, all_)
        mem = meminfo(Path("/proc/meminfo").read_text())
        out = {"t": round(time.monotonic() - self.t0, 2),
               "cpu_percent": round(100.0 * (busy - busy0) / (all_ - all0), 1) if all_ > all0 else 0.0,
               "mem_used": mem["MemTotal"] - mem["MemAvailable"], "mem_total": mem["MemTotal"], "containers": {}}
        if self.docker is not None:
            def stats(c):
                try:
                    return c.name, container_memory(c.stats(stream=False, one_shot=True))
                except Exception:  # noqa: BLE001 - a container that stopped meanwhile
                    return c.name, None
            matching = [c for c in self.docker.containers.list(filters={"name": self.match}) if self.match in c.name]
            with ThreadPoolExecutor(8) as pool:   # 50 containers' stats within one interval
                for name, mem in pool.map(stats, matching):
                    if mem is not None:
                        out["containers"][name] = {"mem": mem[0], "limit": mem[1]}
        if self.running is not None:
            try:
                out["hub_running_servers"] = self.running()
            except Exception as exc:  # noqa: BLE001
                self.errors.append(f"hub metrics: {exc}")
        return out


def summary(samples: list[dict]) -> dict:
    """Peaks and means of the samples: host CPU and memory, and the containers' memory used beside their limits."""
    if not samples:
        return {"samples": 0}
    peak_sum = max(samples, key=lambda s: sum(c["mem"] for c in s["containers"].values()))
    per_container: dict[str, dict] = {}
    for s in samples:
        for name, c in s["containers"].items():
            p = per_container.setdefault(name, {"peak_mem": 0, "limit": c["limit"]})
            p["peak_mem"] = max(p["peak_mem"], c["mem"])
    mem_total = samples[0]["mem_total"]
    return {
        "samples": len(samples),
        "cpu_mean_percent": round(sum(s["cpu_percent"] for s in samples) / len(samples), 1),
        "cpu_peak_percent": max(s["cpu_percent"] for s in samples),
        "mem_total": mem_total,
        "mem_peak_used": max(s["mem_used"] for s in samples),
        "mem_peak_percent": round(100.0 * max(s["mem_used"] for s in samples) / mem_total, 1),
        "containers_peak_mem_sum": sum(c["mem"] for c in peak_sum["containers"].values()),
        "containers_limits_at_peak": sum(c["limit"] for c in peak_sum["containers"].values()
                                         if c["limit"] < mem_total),
        "containers_at_peak": len(peak_sum["containers"]),
        "per_container": per_container,
    }


def docker_name(username: str) -> str:
    """A user name as DockerSpawner puts it into container and volume names (its own escaping: every character
    but a-z and 0-9 as -XX), so load-001 becomes load-2d001."""
    return DockerSpawner._escape(username)


def memory_by_profile(per_container: dict[str, dict], profile_of_user: dict[str, str]) -> dict[str, dict]:
    """Each profile's servers' peak memory (largest, mean) beside their limit. A server's container is named
    ...jupyter-<user as docker_name escapes it> (DockerSpawner's default name)."""
    out: dict[str, dict] = {}
    for name, c in per_container.items():
        user = next((u for u in profile_of_user if name.endswith(f"jupyter-{docker_name(u)}")), None)
        if user is None:
            continue
        p = out.setdefault(profile_of_user[user], {"servers": 0, "peaks": [], "limit": c["limit"]})
        p["servers"] += 1
        p["peaks"].append(c["peak_mem"])
    return {k: {"servers": v["servers"], "peak_max": max(v["peaks"]), "peak_mean": sum(v["peaks"]) / len(v["peaks"]),
                "limit": v["limit"]} for k, v in sorted(out.items())}
