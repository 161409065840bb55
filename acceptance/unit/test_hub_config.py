"""stack/jupyterhub_config.py evaluated in-process under a controlled environment."""
from __future__ import annotations

import pytest
import yaml

from acceptance import settings

# nativeauthenticator 1.3.0 on import; not ours
pytestmark = pytest.mark.filterwarnings("ignore:'locale.getdefaultlocale' is deprecated:DeprecationWarning")


def test_defaults_hub_networking(hub_config):
    hub = hub_config()["JupyterHub"]
    assert hub["hub_ip"] == "0.0.0.0" and hub["hub_bind_url"] == "http://0.0.0.0:8081"
    assert hub["hub_connect_url"] == "http://hub:8081"
    assert hub["bind_url"] == "http://:8000/"


def test_defaults_named_servers_admin_access_keep_servers(hub_config):
    hub = hub_config()["JupyterHub"]
    assert hub["allow_named_servers"] is True
    assert hub["admin_access"] is True
    assert hub["cleanup_servers"] is False


def test_defaults_spawner_default_url_lab(hub_config):
    assert hub_config()["Spawner"]["default_url"] == "/lab"


def test_defaults_spawner_start_timeout_300(hub_config):
    assert hub_config()["Spawner"]["start_timeout"] == 300


def test_defaults_native_authenticator_bootstrap(hub_config):
    config = hub_config()
    assert config["JupyterHub"]["authenticator_class"] == "jhub_platform.auth.PlatformAuthenticator"
    assert config["NativeAuthenticator"]["open_signup"] is True
    assert config["Authenticator"]["allow_all"] is True
    assert config["Authenticator"]["admin_users"] == ["admin"]
    assert config["NativeAuthenticator"]["minimum_password_length"] == 8


def test_defaults_lock_an_account_after_5_failed_logins_for_10_minutes(hub_config):
    native = hub_config()["NativeAuthenticator"]
    assert (native["allowed_failed_logins"], native["seconds_before_next_try"]) == (5, 600)


def test_lockout_from_env(hub_config):
    native = hub_config(LOGIN_MAX_FAILURES="3", LOGIN_LOCK_SECONDS="20")["NativeAuthenticator"]
    assert (native["allowed_failed_logins"], native["seconds_before_next_try"]) == (3, 20)


def test_defaults_user_containers_hardened_and_images_never_pulled(hub_config):
    docker = hub_config()["DockerSpawner"]
    assert docker["extra_host_config"] == {"security_opt": ["no-new-privileges"], "cap_drop": ["ALL"],
                                           "pids_limit": 1024}
    assert docker["pull_policy"] == "never"


def test_database_sqlite_by_default_postgresql_with_a_host(hub_config, tmp_path):
    assert hub_config()["JupyterHub"]["db_url"].startswith("sqlite:///")
    password = tmp_path / "password"
    password.write_text("p@ss/word\n")
    hub = hub_config(POSTGRES_HOST="db", POSTGRES_PASSWORD_FILE=str(password))["JupyterHub"]
    assert hub["db_url"] == "postgresql+psycopg2://jupyterhub:p%40ss%2Fword@db:5432/jupyterhub"
    assert hub["db_kwargs"] == {"pool_pre_ping": True}
    assert hub_config(DATABASE_URL="sqlite:///x.db")["JupyterHub"]["db_url"] == "sqlite:///x.db"


def test_no_hub_services_by_default(hub_config):
    hub = hub_config()["JupyterHub"]
    assert (hub["services"], hub["load_roles"], hub["authenticate_prometheus"]) == ([], [], True)


def test_culler_and_metrics_services_with_the_narrowest_scopes(hub_config):
    hub = hub_config(CULL_IDLE="true", METRICS_SERVICE="true", METRICS_API_TOKEN="t0ken")["JupyterHub"]
    culler, metrics = hub["services"]
    assert culler["command"][-2:] == ["--timeout=3600", "--cull-every=300"]
    assert metrics == {"name": "metrics", "api_token": "t0ken"}
    assert {r["name"]: sorted(r["scopes"]) for r in hub["load_roles"]} == {
        "idle-culler": ["delete:servers", "list:users", "read:servers", "read:users:activity"],
        "metrics": ["read:metrics"]}
    short = hub_config(CULL_IDLE="true", CULL_IDLE_TIMEOUT="60")
    assert short["JupyterHub"]["services"][0]["command"][-2:] == ["--timeout=60", "--cull-every=15"]
    assert short["JupyterHub"]["last_activity_interval"] == 15


def test_proxy_token_is_made_once_in_the_data_dir_and_kept(hub_config, tmp_path):
    first = hub_config(HUB_DATA_DIR=str(tmp_path))["ConfigurableHTTPProxy"]["auth_token"]
    token_file = tmp_path / "proxy_auth_token"
    assert len(first) == 64 and token_file.read_text() == first
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert hub_config(HUB_DATA_DIR=str(tmp_path))["ConfigurableHTTPProxy"]["auth_token"] == first
    assert hub_config(HUB_DATA_DIR=str(tmp_path / "other"))["JupyterHub"]["cookie_secret_file"] == \
        str(tmp_path / "other" / "jupyterhub_cookie_secret")


def test_defaults_docker_spawner_names(hub_config):
    docker = hub_config()["DockerSpawner"]
    assert docker["volumes"] == {"jupyterhub-user-{username}": "/home/nebula"}
    assert docker["network_name"] == "jupyterhub-net"
    assert docker["prefix"] == "jupyter"
    assert docker["remove"] is True


def test_defaults_spawner_class_is_platform_profiles_spawner(hub_config):
    assert hub_config()["JupyterHub"]["spawner_class"] == "jhub_platform.spawner.PlatformProfilesSpawner"


def test_defaults_six_profiles_listen_on_0000_port_8888(hub_config):
    profiles = hub_config()["ProfilesSpawner"]["profiles"]
    assert [p[1] for p in profiles] == [p.key for p in settings.platform_profiles()]
    for _name, key, cls, child in profiles:
        assert cls == "dockerspawner.DockerSpawner", key
        assert child["ip"] == "0.0.0.0" and child["port"] == 8888, key


def test_name_prefix_prefixes_network_containers_and_volumes(hub_config):
    docker = hub_config(NAME_PREFIX="run1-")["DockerSpawner"]
    assert docker["network_name"] == "run1-jupyterhub-net"
    assert docker["prefix"] == "run1-jupyter"
    assert docker["volumes"] == {"run1-jupyterhub-user-{username}": "/home/nebula"}


def test_spawner_start_timeout_from_env(hub_config):
    assert hub_config(SPAWNER_START_TIMEOUT="600")["Spawner"]["start_timeout"] == 600


def test_the_spawner_waits_for_the_server_to_listen_every_100_ms_unless_turned_off(hub_config):
    assert hub_config()["PlatformProfilesSpawner"]["listen_poll_interval"] == 0.1
    assert hub_config(SPAWNER_LISTEN_POLL_INTERVAL="0")["PlatformProfilesSpawner"]["listen_poll_interval"] == 0


def test_profiles_file_from_env(hub_config, tmp_path):
    data = yaml.safe_load(settings.PROFILES_FILE.read_text())
    path = tmp_path / "profiles.yaml"
    path.write_text(yaml.safe_dump({"profiles": data["profiles"][:1]}))
    profiles = hub_config(PROFILES_FILE=str(path))["ProfilesSpawner"]["profiles"]
    assert [p[1] for p in profiles] == [data["profiles"][0]["key"]]


def test_production_closes_signup_and_allows_listed_users_and_admin(hub_config):
    config = hub_config(AUTH_MODE="production", ALLOWED_USERS="alice, bob,")
    assert config["NativeAuthenticator"]["open_signup"] is False
    assert config["Authenticator"]["allow_all"] is False
    assert config["Authenticator"]["allowed_users"] == ["admin", "alice", "bob"]


def test_production_otp_off_by_default(hub_config):
    assert hub_config(AUTH_MODE="production")["NativeAuthenticator"]["allow_2fa"] is False


def test_production_otp_from_enable_otp(hub_config):
    assert hub_config(AUTH_MODE="production", ENABLE_OTP="true")["NativeAuthenticator"]["allow_2fa"] is True


def test_unknown_auth_mode_fails_naming_auth_mode(hub_config):
    # the config raises SystemExit; traitlets' PyFileConfigLoader lets it through unchanged
    with pytest.raises(SystemExit, match="AUTH_MODE") as info:
        hub_config(AUTH_MODE="nonsense")
    assert "nonsense" in str(info.value)


def test_an_empty_setting_as_compose_passes_it_gives_the_configs_default(hub_config):
    config = hub_config(**dict.fromkeys(("AUTH_MODE", "LOGIN_MAX_FAILURES", "LOGIN_LOCK_SECONDS",
                                         "SPAWNER_START_TIMEOUT", "IMAGE_PULL_POLICY", "ADMIN_USER"), ""))
    native = config["NativeAuthenticator"]
    assert (native["allowed_failed_logins"], native["seconds_before_next_try"]) == (5, 600)
    assert config["Spawner"]["start_timeout"] == 300 and config["DockerSpawner"]["pull_policy"] == "never"
    assert config["Authenticator"]["admin_users"] == ["admin"] and native["open_signup"] is True


@pytest.mark.parametrize(("value", "bind_url"), [("", "http://:8000/"), ("/jupyter/", "http://:8000/jupyter/"),
                                                 ("jupyter", "http://:8000/jupyter/"), ("/", "http://:8000/")])
def test_base_url_is_the_proxys_prefix(hub_config, value, bind_url):
    assert hub_config(BASE_URL=value)["JupyterHub"]["bind_url"] == bind_url
