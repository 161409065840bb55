"""Where a spawn's time goes: one REST spawn, from the client's request to "ready", split by evidence.

Every point is a wall-clock time on this host's clock (the client's `time.time()`, Docker's timestamps):

    post          the client sends POST /hub/api/users/<user>/servers/<name>
    created       the container exists             (docker inspect: Created)
    started       the container runs               (docker inspect: State.StartedAt)
    listening     the single-user server says it runs ("Jupyter Server ... is running at", docker logs)
    hub_ready     the hub's readiness poll got an answer ("User <user>:<name> took N seconds to start", hub log)
    routed        the proxy has the route          (the proxy's "Route added"/"Adding route" line for the
                                                   server's path, else the hub's "Adding user <user> to proxy")
    client_ready  the client sees the server ready (REST GET, polled once a second after the POST returns)

The segments between consecutive points are what `SEGMENTS` names. A point that cannot be found leaves the
two segments beside it unknown (None): nothing is guessed.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from acceptance.load.stats import percentile

POINTS = ("post", "created", "started", "listening", "hub_ready", "routed", "client_ready")
SEGMENTS = {
    "hub_to_container_created": "hub handling until the container exists",
    "container_create_to_start": "container create -> start",
    "server_startup": "single-user server start-up (start -> it says it runs)",
    "hub_readiness_poll": "hub's readiness poll (server runs -> hub sees it answer)",
    "proxy_route": "proxy route added",
    "client_sees_ready": "client sees ready (POST answer, REST poll)",
}

# the rows a summary shows: the total, its segments, then what follows a spawn
ROWS = {"total": "request -> ready (client)", **SEGMENTS, "landing": "landing page's first answer",
        "stop": "stop -> container removed"}

# single-user server (Jupyter Server 2.x under jupyterhub-singleuser): printed once it listens, just before
# its event loop starts
SERVER_RUNNING = re.compile(r"Jupyter Server \S+ is running at|is running at:")
_DOCKER_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def parse_docker_time(text: str) -> float | None:
    """Epoch seconds of a Docker timestamp (RFC 3339 with up to nanoseconds: '2026-11-27T16:06:08.123456789Z');
    None for Docker's zero time ('0001-01-01T00:00:00Z', never started) or anything unreadable."""
    m = _DOCKER_TS.match(text.strip())
    if not m or m.group(1).startswith("0001-"):
        return None
    base, frac, zone = m.groups()
    when = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    return when.timestamp() + (float(f"0.{frac}") if frac else 0.0)


def parse_log(raw: bytes | str) -> list[tuple[float, str]]:
    """`docker logs --timestamps` output as (epoch seconds, line); lines without a timestamp are skipped."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    out = []
    for line in text.splitlines():
        stamp, _, rest = line.partition(" ")
        when = parse_docker_time(stamp)
        if when is not None:
            out.append((when, rest))
    return out


def first(lines: Iterable[tuple[float, str]], pattern: re.Pattern | str, after: float | None = None) -> float | None:
    """The time of the first line matching `pattern` (at or after `after`, when given)."""
    rx = re.compile(pattern) if isinstance(pattern, str) else pattern
    return next((t for t, line in lines if (after is None or t >= after) and rx.search(line)), None)


def server_label(user: str, name: str) -> str:
    """How JupyterHub names a server in its log: 'user' or 'user:name'."""
    return f"{user}:{name}" if name else user


def hub_points(hub_lines: Sequence[tuple[float, str]], user: str, name: str, route: str,
               after: float | None = None) -> dict[str, float | None]:
    """hub_ready and routed of one spawn, from the hub container's log (the proxy runs inside it and logs
    there too). `route` is the server's path (/user/<user>/<name>/)."""
    label = re.escape(server_label(user, name))
    hub_ready = first(hub_lines, rf"User {label} took [\d.]+ seconds to start", after)
    if hub_ready is None:
        return {"hub_ready": None, "routed": None}
    adding = first(hub_lines, rf"Adding user {re.escape(user)} to proxy {re.escape(route)}", hub_ready)
    path = re.escape(route.rstrip("/"))
    proxy = first(hub_lines, rf"(?i)(route added|added route|adding route)\s+{path}/?\s", adding or hub_ready)
    return {"hub_ready": hub_ready, "routed": proxy if proxy is not None else adding}


def segments(points: dict[str, float | None]) -> dict[str, float | None]:
    """The seconds between consecutive points (None where either is unknown)."""
    values = [points.get(p) for p in POINTS]
    return {seg: (None if a is None or b is None else round(b - a, 3))
            for seg, a, b in zip(SEGMENTS, values[:-1], values[1:], strict=True)}


@dataclass
class Spawn:
    """One measured spawn."""

    profile: str
    user: str
    name: str
    points: dict[str, float | None] = field(default_factory=dict)
    post_answer_s: float | None = None   # how long the POST itself took (it waits for the spawn up to 10 s)
    landing_s: float | None = None
    stop_s: float | None = None

    @property
    def total(self) -> float | None:
        a, b = self.points.get("post"), self.points.get("client_ready")
        return None if a is None or b is None else round(b - a, 3)

    def to_json(self) -> dict:
        return {"profile": self.profile, "server": server_label(self.user, self.name), "total_s": self.total,
                "segments_s": segments(self.points), "post_answer_s": self.post_answer_s,
                "landing_s": self.landing_s, "stop_s": self.stop_s,
                "points": {k: self.points.get(k) for k in POINTS}}


def stats(values: Iterable[float | None]) -> dict:
    """n, p50, p95 (the load stage's percentile: linear between ranks) and max, to the millisecond."""
    vals = [v for v in values if v is not None]
    p50, p95 = percentile(vals, 50), percentile(vals, 95)
    return {"n": len(vals), "p50": None if p50 is None else round(p50, 3),
            "p95": None if p95 is None else round(p95, 3), "max": round(max(vals), 3) if vals else None}


def summarize(spawns: Sequence[Spawn]) -> dict:
    """Stats of the total and of each segment, over all spawns and per profile, plus landing and stop."""
    def block(group: Sequence[Spawn]) -> dict:
        segs = [segments(s.points) for s in group]
        return {"total": stats(s.total for s in group),
                **{seg: stats(x[seg] for x in segs) for seg in SEGMENTS},
                "landing": stats(s.landing_s for s in group), "stop": stats(s.stop_s for s in group)}

    profiles = list(dict.fromkeys(s.profile for s in spawns))
    return {"all": block(spawns), "per_profile": {p: block([s for s in spawns if s.profile == p])
                                                  for p in profiles}}


def modes(spawns: Sequence[Spawn], min_gap: float = 1.0) -> dict | None:
    """Whether the totals fall into a fast and a slow group (split at the widest gap between sorted totals,
    at least `min_gap` seconds, two or more spawns on each side), and which segment makes the difference:
    the mean of each segment in the slow group minus in the fast one. None when there are no two groups."""
    timed = sorted((s for s in spawns if s.total is not None), key=lambda s: s.total)
    if len(timed) < 4:
        return None
    gaps = [(timed[i + 1].total - timed[i].total, i) for i in range(1, len(timed) - 2)]
    gap, i = max(gaps)
    if gap < min_gap:
        return None
    fast, slow = timed[:i + 1], timed[i + 1:]

    def mean(group, seg):
        vals = [v for v in (segments(s.points)[seg] for s in group) if v is not None]
        return sum(vals) / len(vals) if vals else None

    diff = {seg: round(b - a, 3) for seg in SEGMENTS
            if (a := mean(fast, seg)) is not None and (b := mean(slow, seg)) is not None}
    cause = max(diff, key=diff.get) if diff else None
    fast_mean = sum(s.total for s in fast) / len(fast)
    slow_mean = sum(s.total for s in slow) / len(slow)
    return {"fast": {"n": len(fast), "mean_s": round(fast_mean, 3)},
            "slow": {"n": len(slow), "mean_s": round(slow_mean, 3)},
            "gap_s": round(gap, 3), "segment_difference_s": diff, "cause": cause,
            "slow_servers": [server_label(s.user, s.name) for s in slow]}


def explain_modes(m: dict | None) -> str:
    if not m:
        return "spawn times form one group (no gap of 1 s or more between a fast and a slow group)"
    cause = m["cause"]
    return (f"two groups: {m['fast']['n']} spawns at about {m['fast']['mean_s']:.1f} s and {m['slow']['n']} at "
            f"about {m['slow']['mean_s']:.1f} s; the slow group's extra time is mostly in {cause} "
            f"({SEGMENTS.get(cause, cause)}): +{m['segment_difference_s'].get(cause, 0):.1f} s of "
            f"+{m['slow']['mean_s'] - m['fast']['mean_s']:.1f} s")
