"""A load scenario (YAML): who arrives, how fast, on which profiles, what each does, the limits and the gates.
Every field is checked; a bad file is refused with a message that names the field."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PHASES = ("login", "spawn", "landing", "kernel_start", "first_result", "stop")
STATS = ("p50", "p95", "max")
# gate names: failure_rate_percent, or <phase>_<p50|p95|max>_seconds, or host_memory_peak_percent
_GATE = re.compile(rf"^({'|'.join(PHASES)})_({'|'.join(STATS)})_seconds$")
OTHER_GATES = ("failure_rate_percent", "host_memory_peak_percent")
_TOP = {"name", "users", "arrival_rate", "profiles", "journey", "timeouts", "time_limit_seconds",
        "sample_interval_seconds", "steps", "gates", "hub_vs_client"}
_TIMEOUTS = ("http", "spawn", "kernel", "stop")


class ScenarioError(ValueError):
    """The scenario file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class Journey:
    code: str = "5 * 4"
    expect: str = "20"
    stay_seconds: float = 10


@dataclass(frozen=True)
class Scenario:
    name: str
    users: int
    arrival_rate: float
    profiles: dict[str, float]
    journey: Journey
    timeouts: dict[str, float]
    time_limit_seconds: float
    sample_interval_seconds: float
    gates: dict[str, float]
    max_mean_gap_seconds: float
    steps: list[int] = field(default_factory=list)
    source: str = ""

    def profile_plan(self, users: int, seed: int = 0) -> list[str]:
        """The profile key of each of `users` users: the mix's weights by largest remainder, in a shuffled
        (seeded, repeatable) order so that every kind arrives early."""
        total = sum(self.profiles.values())
        exact = {k: users * w / total for k, w in self.profiles.items()}
        counts = {k: int(v) for k, v in exact.items()}
        for k in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[:users - sum(counts.values())]:
            counts[k] += 1
        plan = [k for k in self.profiles for _ in range(counts[k])]
        random.Random(seed).shuffle(plan)
        return plan


def _number(where: str, value, *, integer: bool = False, minimum: float = 0, strict: bool = False) -> float:
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise ScenarioError(f"{where} must be {kind}, not {value!r}")
    if value < minimum or (strict and value == minimum):
        raise ScenarioError(f"{where} must be {'above' if strict else 'at least'} {minimum}, not {value!r}")
    return value


def parse_scenario(data: object, source: str = "<scenario>", profile_keys: list[str] | None = None) -> Scenario:
    """Check a scenario's data (as loaded from YAML); `profile_keys` (the platform's) checks the mix."""
    def where(name: str) -> str:
        return f"{source}: {name}"

    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario is a mapping of fields, not {type(data).__name__}")
    unknown = sorted(set(data) - _TOP)
    if unknown:
        raise ScenarioError(f"{where(unknown[0])}: unknown field (known: {', '.join(sorted(_TOP))})")
    for required in ("users", "arrival_rate", "profiles", "time_limit_seconds", "gates"):
        if required not in data:
            raise ScenarioError(f"{where(required)}: missing")
    users = int(_number(where("users"), data["users"], integer=True, minimum=1))
    rate = _number(where("arrival_rate"), data["arrival_rate"], minimum=0, strict=True)
    mix = data["profiles"]
    if not isinstance(mix, dict) or not mix:
        raise ScenarioError(f"{where('profiles')} must map profile keys to weights, not {mix!r}")
    for key, weight in mix.items():
        _number(where(f"profiles.{key}"), weight, minimum=0, strict=True)
        if profile_keys is not None and key not in profile_keys:
            raise ScenarioError(f"{where(f'profiles.{key}')}: no such profile (the platform has "
                                f"{', '.join(profile_keys)})")
    j = data.get("journey") or {}
    if not isinstance(j, dict) or set(j) - {"code", "expect", "stay_seconds"}:
        raise ScenarioError(f"{where('journey')} takes code, expect, stay_seconds; got {j!r}")
    for text in ("code", "expect"):
        if text in j and not isinstance(j[text], str):
            raise ScenarioError(f"{where(f'journey.{text}')} must be a string, not {j[text]!r}")
    journey = Journey(code=j.get("code", Journey.code), expect=j.get("expect", Journey.expect),
                      stay_seconds=_number(where("journey.stay_seconds"), j.get("stay_seconds", Journey.stay_seconds)))
    t = data.get("timeouts") or {}
    if not isinstance(t, dict) or set(t) - set(_TIMEOUTS):
        raise ScenarioError(f"{where('timeouts')} takes {', '.join(_TIMEOUTS)}; got {t!r}")
    timeouts = {"http": 30.0, "spawn": 300.0, "kernel": 60.0, "stop": 120.0}
    for k, v in t.items():
        timeouts[k] = _number(where(f"timeouts.{k}"), v, minimum=0, strict=True)
    limit = _number(where("time_limit_seconds"), data["time_limit_seconds"], minimum=0, strict=True)
    interval = _number(where("sample_interval_seconds"), data.get("sample_interval_seconds", 5), minimum=0.5)
    gates_in = data["gates"]
    if not isinstance(gates_in, dict) or not gates_in:
        raise ScenarioError(f"{where('gates')} must map gate names to limits, e.g. spawn_p95_seconds: 60")
    gates = {}
    for name, limit_value in gates_in.items():
        if not (_GATE.match(str(name)) or name in OTHER_GATES):
            raise ScenarioError(f"{where(f'gates.{name}')}: unknown gate (use failure_rate_percent, "
                                f"host_memory_peak_percent or <phase>_<p50|p95|max>_seconds with phase one of "
                                f"{', '.join(PHASES)})")
        gates[name] = _number(where(f"gates.{name}"), limit_value, minimum=0)
    steps = data.get("steps") or []
    if not isinstance(steps, list):
        raise ScenarioError(f"{where('steps')} must be a list of user counts, not {steps!r}")
    for i, s in enumerate(steps):
        _number(where(f"steps[{i}]"), s, integer=True, minimum=1)
    if steps != sorted(set(steps)):
        raise ScenarioError(f"{where('steps')} must rise strictly, not {steps!r}")
    hvc = data.get("hub_vs_client") or {}
    if not isinstance(hvc, dict) or set(hvc) - {"max_mean_gap_seconds"}:
        raise ScenarioError(f"{where('hub_vs_client')} takes max_mean_gap_seconds; got {hvc!r}")
    gap = _number(where("hub_vs_client.max_mean_gap_seconds"), hvc.get("max_mean_gap_seconds", 5))
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str):
        raise ScenarioError(f"{where('name')} must be a string, not {name!r}")
    return Scenario(name=name, users=users, arrival_rate=rate, profiles=dict(mix), journey=journey,
                    timeouts=timeouts, time_limit_seconds=limit, sample_interval_seconds=interval, gates=gates,
                    max_mean_gap_seconds=gap, steps=list(steps), source=source)


def load_scenario(path: str | Path, profile_keys: list[str] | None = None) -> Scenario:
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: no such scenario file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    return parse_scenario(data, str(path), profile_keys)
