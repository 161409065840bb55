"""A load scenario (YAML): who arrives, how fast, on which profiles, what each does, the limits and the gates.
Every field is checked (pydantic models of the file); a bad file is refused with a message that names the field."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

PHASES = ("login", "spawn", "landing", "kernel_start", "first_result", "stop")
STATS = ("p50", "p95", "max")
# gate names: failure_rate_percent, or <phase>_<p50|p95|max>_seconds, or host_memory_peak_percent
_GATE = re.compile(rf"^({'|'.join(PHASES)})_({'|'.join(STATS)})_seconds$")
OTHER_GATES = ("failure_rate_percent", "host_memory_peak_percent")
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


# numbers as the file writes them (an int stays an int); a bool is not a number
Number = Annotated[StrictInt | StrictFloat, Field(ge=0)]
Positive = Annotated[StrictInt | StrictFloat, Field(gt=0)]
Count = Annotated[StrictInt, Field(ge=1)]


class _Problem(ValueError):
    """A validator's finding about the entry `at` of the field it checks ("": the field itself)."""

    def __init__(self, text: str, at: str = ""):
        super().__init__(text)
        self.at = at


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Journey(_Fields):
    code: StrictStr = Journey.code
    expect: StrictStr = Journey.expect
    stay_seconds: Number = Journey.stay_seconds


class _Timeouts(_Fields):
    http: Positive = 30.0
    spawn: Positive = 300.0
    kernel: Positive = 60.0
    stop: Positive = 120.0


class _HubVsClient(_Fields):
    max_mean_gap_seconds: Number = 5


class _ScenarioFile(_Fields):
    name: StrictStr | None = None
    users: Count
    arrival_rate: Positive
    profiles: dict[str, Positive] = Field(min_length=1)
    journey: _Journey | None = None
    timeouts: _Timeouts | None = None
    time_limit_seconds: Positive
    sample_interval_seconds: Annotated[StrictInt | StrictFloat, Field(ge=0.5)] = 5
    steps: list[Count] | None = None
    gates: dict[str, Number] = Field(min_length=1)
    hub_vs_client: _HubVsClient | None = None

    @field_validator("profiles")
    @classmethod
    def _known_profiles(cls, mix: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        keys = (info.context or {}).get("profile_keys")
        for key in mix:
            if keys is not None and key not in keys:
                raise _Problem(f"no such profile (the platform has {', '.join(keys)})", at=key)
        return mix

    @field_validator("gates")
    @classmethod
    def _known_gates(cls, gates: dict[str, float]) -> dict[str, float]:
        for name in gates:
            if not (_GATE.match(name) or name in OTHER_GATES):
                raise _Problem(f"unknown gate (use failure_rate_percent, host_memory_peak_percent or "
                               f"<phase>_<p50|p95|max>_seconds with phase one of {', '.join(PHASES)})", at=name)
        return gates

    @field_validator("steps")
    @classmethod
    def _rising(cls, steps: list[int] | None) -> list[int] | None:
        if steps is not None and steps != sorted(set(steps)):
            raise _Problem(f"must rise strictly, not {steps!r}")
        return steps


# what a field must be, for a value of the wrong shape
_SHAPES = {"profiles": "must map profile keys to weights", "gates": "must map gate names to limits, e.g. "
           "spawn_p95_seconds: 60", "steps": "must be a list of user counts", "journey": "takes code, expect, "
           "stay_seconds", "timeouts": f"takes {', '.join(_TIMEOUTS)}", "hub_vs_client": "takes max_mean_gap_seconds"}
_MODELS = {(): _ScenarioFile, ("journey",): _Journey, ("timeouts",): _Timeouts, ("hub_vs_client",): _HubVsClient}


def _message(source: str, errors: list[dict]) -> str:
    """The first validation error as the file's author reads it: the field's place (profiles.x, steps[1]) and
    what is wrong with it."""
    error = errors[0]
    loc, kind, value = error["loc"], error["type"], error.get("input")
    if loc and loc[-1] in ("int", "float") and kind in ("int_type", "float_type"):   # StrictInt | StrictFloat
        loc, kind = loc[:-1], "number_type"
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _Problem) and cause.at:
        loc = (*loc, cause.at)
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    if isinstance(cause, _Problem):
        return f"{source}: {where}: {cause}" if cause.at else f"{source}: {where} {cause}"
    if kind == "missing":
        return f"{source}: {where}: missing"
    if kind == "extra_forbidden":
        known = ", ".join(sorted(_MODELS[loc[:-1]].model_fields))
        return f"{source}: {where}: unknown field (known: {known})"
    if where in _SHAPES and kind in ("dict_type", "list_type", "model_type", "too_short"):
        return f"{source}: {where} {_SHAPES[where]}, not {value!r}"
    words = {"int_type": "must be a whole number", "number_type": "must be a number", "string_type": "must be a string",
             "greater_than": f"must be above {(error.get('ctx') or {}).get('gt')}",
             "greater_than_equal": f"must be at least {(error.get('ctx') or {}).get('ge')}"}.get(kind, error["msg"])
    return f"{source}: {where} {words}, not {value!r}"


def parse_scenario(data: object, source: str = "<scenario>", profile_keys: list[str] | None = None) -> Scenario:
    """Check a scenario's data (as loaded from YAML); `profile_keys` (the platform's) checks the mix."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario is a mapping of fields, not {type(data).__name__}")
    try:
        s = _ScenarioFile.model_validate(data, context={"profile_keys": profile_keys})
    except ValidationError as exc:
        raise ScenarioError(_message(source, exc.errors())) from None
    journey, timeouts = s.journey or _Journey(), s.timeouts or _Timeouts()
    return Scenario(name=Path(source).stem if s.name is None else s.name, users=s.users, arrival_rate=s.arrival_rate,
                    profiles=dict(s.profiles), journey=Journey(**journey.model_dump()), timeouts=timeouts.model_dump(),
                    time_limit_seconds=s.time_limit_seconds, sample_interval_seconds=s.sample_interval_seconds,
                    gates=dict(s.gates), max_mean_gap_seconds=(s.hub_vs_client or _HubVsClient()).max_mean_gap_seconds,
                    steps=list(s.steps or []), source=source)


def load_scenario(path: str | Path, profile_keys: list[str] | None = None) -> Scenario:
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: no such scenario file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    return parse_scenario(data, str(path), profile_keys)
