"""The load scenario file: the shipped ones load, a bad one is refused naming its field."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from acceptance.load.scenario import ScenarioError, load_scenario, parse_scenario
from acceptance.settings import platform_profiles

SCENARIOS = Path(__file__).resolve().parents[1] / "load" / "scenarios"
KEYS = [p.key for p in platform_profiles()]
GOOD = yaml.safe_load((SCENARIOS / "smoke.yaml").read_text())


@pytest.mark.parametrize("name", ["smoke.yaml", "default.yaml"])
def test_shipped_scenarios_load(name):
    s = load_scenario(SCENARIOS / name, KEYS)
    assert s.users >= 1 and s.gates


def test_default_is_fifty_users_over_all_six_profiles_with_steps():
    s = load_scenario(SCENARIOS / "default.yaml", KEYS)
    assert s.users == 50 and sorted(s.profiles) == sorted(KEYS) and s.steps[-1] == 50


def test_smoke_is_one_user_per_app_kind():
    s = load_scenario(SCENARIOS / "smoke.yaml", KEYS)
    apps = {p.key: p.app for p in platform_profiles()}
    assert sorted(apps[k] for k in s.profile_plan(s.users)) == ["lab", "marimo", "vscode"]


@pytest.mark.parametrize("change, field", [
    ({"users": 0}, "users"),
    ({"users": "many"}, "users"),
    ({"arrival_rate": 0}, "arrival_rate"),
    ({"profiles": {"no-such-profile": 1}}, "profiles.no-such-profile"),
    ({"profiles": {"lab-2cpu-4gb": -1}}, "profiles.lab-2cpu-4gb"),
    ({"journey": {"code": 5}}, "journey.code"),
    ({"journey": {"stay": 5}}, "journey"),
    ({"timeouts": {"spawn": 0}}, "timeouts.spawn"),
    ({"gates": {"spawn_p99_seconds": 5}}, "gates.spawn_p99_seconds"),
    ({"gates": {"failure_rate_percent": "low"}}, "gates.failure_rate_percent"),
    ({"steps": [10, 5]}, "steps"),
    ({"steps": [5, 0]}, "steps[1]"),
    ({"hub_vs_client": {"gap": 1}}, "hub_vs_client"),
    ({"userz": 3}, "userz"),
])
def test_bad_field_is_named(change, field):
    with pytest.raises(ScenarioError) as err:
        parse_scenario({**GOOD, **change}, "bad.yaml", KEYS)
    assert f"bad.yaml: {field}" in str(err.value)


@pytest.mark.parametrize("missing", ["users", "arrival_rate", "profiles", "time_limit_seconds", "gates"])
def test_missing_field_is_named(missing):
    data = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(ScenarioError, match=f"bad.yaml: {missing}: missing"):
        parse_scenario(data, "bad.yaml", KEYS)


def test_not_a_file_and_not_yaml(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("users: [1,\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(bad)


def test_profile_plan_follows_the_weights_and_is_repeatable():
    s = parse_scenario({**GOOD, "profiles": {"lab-2cpu-4gb": 3, "marimo-1cpu-2gb": 1}}, "x", KEYS)
    plan = s.profile_plan(8)
    assert Counter(plan) == {"lab-2cpu-4gb": 6, "marimo-1cpu-2gb": 2}
    assert plan == s.profile_plan(8)
    assert len(s.profile_plan(50)) == 50
