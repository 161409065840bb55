"""One source for each setting (stack/settings.py): the hub's environment in each deployment file is written from
the settings stack/jupyterhub_config.py reads, and a setting added on one side only fails here."""
from __future__ import annotations

import re
import shutil

import pytest

from acceptance import settings
from acceptance.deployments.compose import ComposeUnavailable, compose_config
from stack import settings as stack_settings

HUB_SETTINGS = stack_settings.load()
# nativeauthenticator 1.3.0 on import (the hub config imports it); not ours
pytestmark = pytest.mark.filterwarnings("ignore:'locale.getdefaultlocale' is deprecated:DeprecationWarning")


def render(deployment: str, **overrides) -> dict:
    try:
        return compose_config(settings.ROOT / stack_settings.DEPLOYMENTS[deployment], **overrides)
    except ComposeUnavailable as exc:
        pytest.fail(str(exc))


@pytest.fixture
def copy(tmp_path):
    """A scratch copy of the hub config and the deployment files, as stack_settings.check() reads them."""
    for path in (stack_settings.HUB_CONFIG, *stack_settings.DEPLOYMENTS.values()):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(settings.ROOT / path, tmp_path / path)
    return tmp_path


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {path} once"
    path.write_text(text.replace(old, new))


def test_the_deployment_files_are_written_from_the_hub_config():
    assert stack_settings.check() == []


def test_settings_are_read_from_the_hub_config():
    assert {"NAME_PREFIX", "AUTH_MODE", "DATABASE_URL", "CULL_IDLE", "SWARM_RESERVE_FRACTION"} <= HUB_SETTINGS.keys()
    assert HUB_SETTINGS["LOGIN_MAX_FAILURES"].default == "'5'"
    assert HUB_SETTINGS["CULL_IDLE"].default == "False"   # env_bool's


def test_a_setting_added_to_the_hub_config_only_fails_until_the_files_are_written(copy):
    edit(copy / stack_settings.HUB_CONFIG, 'NOTEBOOK_HOME = "/home/nebula"\n',
         'NOTEBOOK_HOME = "/home/nebula"\nNEW_SETTING = env("NEW_SETTING", "1")\n')
    errors = stack_settings.check(copy)
    assert [e.split(":")[0] for e in errors] == list(stack_settings.DEPLOYMENTS.values())
    assert stack_settings.check(copy, write=True) == [] and stack_settings.check(copy) == []
    for path in stack_settings.DEPLOYMENTS.values():
        assert "      NEW_SETTING: ${NEW_SETTING:-}\n" in (copy / path).read_text()


def test_a_setting_added_to_a_deployment_only_fails(copy):
    path = stack_settings.DEPLOYMENTS["swarm"]
    line = "      NAME_PREFIX: ${NAME_PREFIX:-}\n"
    edit(copy / path, line, line + "      STRAY: ${STRAY:-}\n")
    assert [e.split(":")[0] for e in stack_settings.check(copy)] == [path]


def test_a_setting_dropped_from_a_deployment_fails(copy):
    path = stack_settings.DEPLOYMENTS["production"]
    edit(copy / path, "      LOGIN_MAX_FAILURES: ${LOGIN_MAX_FAILURES:-}\n", "")
    assert [e.split(":")[0] for e in stack_settings.check(copy)] == [path]


def test_a_declaration_for_a_setting_the_hub_config_does_not_read_fails(monkeypatch):
    monkeypatch.setattr(stack_settings, "NOT_PASSED", (*stack_settings.NOT_PASSED, (("GONE",), ("swarm",), "why")))
    assert stack_settings.check() == [f"stack/settings.py: GONE is declared, but {stack_settings.HUB_CONFIG} "
                                      "does not read it"]


def test_a_setting_both_given_a_value_and_not_passed_fails(monkeypatch):
    monkeypatch.setitem(stack_settings.OWN_VALUES, "swarm", {"BASE_URL": ("/x/", "why"), "USER_PIDS_LIMIT": ("1", "")})
    assert stack_settings.check() == [
        "stack/settings.py: USER_PIDS_LIMIT has a value of its own in swarm and is not passed there"]


@pytest.mark.parametrize("config", ['A = env("A", "1")\nB = env("A", "2")\n', 'A = os.environ["A"]\n',
                                    'NAME = "A"\nA = env(NAME, "1")\n'])
def test_a_setting_read_otherwise_than_by_name_with_one_default_fails(config):
    with pytest.raises(stack_settings.SettingsError):
        stack_settings.read_settings(f"def env(name, default):\n    return os.environ.get(name) or default\n{config}")


@pytest.mark.parametrize("deployment", stack_settings.DEPLOYMENTS)
def test_each_deployment_passes_its_settings_through_and_gives_no_default_of_its_own(deployment):
    """As `docker compose config` renders the file: the hub's environment is the settings the source names, the
    passed-through ones empty when unset (a default here would hide a change of the hub config's)."""
    environment = render(deployment)["services"]["hub"]["environment"]
    assert environment.keys() == stack_settings.environment(HUB_SETTINGS, deployment).keys()
    passed = stack_settings.passed_through(HUB_SETTINGS, deployment)
    assert {k: environment[k] for k in passed} == dict.fromkeys(passed, "")
    assert render(deployment, LOGIN_MAX_FAILURES="3")["services"]["hub"]["environment"]["LOGIN_MAX_FAILURES"] == "3"



@pytest.mark.parametrize("deployment", stack_settings.DEPLOYMENTS)
def test_each_deployment_mounts_this_checkouts_hub_config_and_profiles_read_only(deployment):
    volumes = {v["target"]: v for v in render(deployment)["services"]["hub"]["volumes"]}
    targets = [re.sub(r":ro$", "", m).rsplit(":", 1)[1] for m in stack_settings.mounts(HUB_SETTINGS, deployment)]
    assert sorted(volumes) == sorted(targets)
    config, profiles = volumes[stack_settings.CONFIG_TARGET], volumes["/etc/jupyterhub/profiles.yaml"]
    assert (config["source"], config["read_only"]) == (str(settings.STACK_DIR / "jupyterhub_config.py"), True)
    assert (profiles["source"], profiles["read_only"]) == (str(settings.PROFILES_FILE), True)
    assert volumes["/srv/jupyterhub"]["source"] == "jupyterhub_data"


def test_a_setting_passed_through_empty_gives_the_hub_configs_default(hub_config):
    """What `NAME: ${NAME:-}` gives the hub when NAME is not set: the same configuration as no NAME at all."""
    passed = {name for deployment in stack_settings.DEPLOYMENTS
              for name in stack_settings.passed_through(HUB_SETTINGS, deployment)}
    unset = hub_config()
    assert hub_config(**dict.fromkeys(passed, "")) == unset
