"""The Kubernetes path without a cluster: stack/kubernetes/z2jh_values.py renders zero-to-jupyterhub values
from stack/profiles.yaml and the hub config; the KubeSpawner the chart's hub runs (pinned in
acceptance/requirements.txt) builds each profile's pod from those values, and the pod is compared with the
expected state (image, limits, command, landing URL, home, user). What a cluster would add (scheduling,
storage, ingress, TLS, image pulls) is not seen here."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml
from traitlets.config import Config

from acceptance import expected, settings
from stack.kubernetes import z2jh_values

pytestmark = [
    # nativeauthenticator 1.3.0 on import (the hub config imports it); not ours
    pytest.mark.filterwarnings("ignore:'locale.getdefaultlocale' is deprecated:DeprecationWarning"),
    # kubespawner 7.0.0 declares profile_list with default= as trait metadata (gone in 7.1.0); not ours
    pytest.mark.filterwarnings("ignore:metadata .* was set from the constructor:DeprecationWarning"),
]

# KubeSpawner loads a client configuration when constructed (in-cluster, else a kubeconfig). This one names
# an address where nothing answers: building a pod manifest makes no API call, and anything that tried
# would fail at once instead of reaching a real cluster.
NO_CLUSTER_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: none, user: {}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""
# what this repository's profiles must render to: the specification's expected state (as the other unit
# tests, not a site's --expect file)
SPEC = expected.load()
# the singleuser keys chart_config() maps; a value the renderer adds must be mapped (and checked) too
MAPPED_SINGLEUSER_KEYS = {"image", "cmd", "uid", "defaultUrl", "startTimeout", "storage", "profileList"}
# the chart's hub exits on a hub.config section that is not a Configurable class name
HUB_CONFIG_SECTIONS = {"JupyterHub", "Authenticator", "NativeAuthenticator", "Spawner"}


def chart_config(values: dict) -> Config:
    """KubeSpawner's configuration as zero-to-jupyterhub 4.4.0's hub (files/hub/jupyterhub_config.py) makes
    it from the values the renderer writes: our transcription of the part those values use, plus the
    chart's defaults (values.yaml) for what they leave out and what bears on the pod (fsGid 100, memory
    guarantee 1G, no privilege escalation, the home volume named volume-{user_server})."""
    singleuser = values["singleuser"]
    unmapped = set(singleuser) - MAPPED_SINGLEUSER_KEYS
    assert not unmapped, f"singleuser values the chart mapping here does not know: {unmapped}"
    c = Config()
    c.KubeSpawner.profile_list = singleuser["profileList"]
    c.KubeSpawner.image = f"{singleuser['image']['name']}:{singleuser['image']['tag']}"
    c.KubeSpawner.uid = singleuser["uid"]
    c.KubeSpawner.fs_gid = 100
    c.KubeSpawner.mem_guarantee = "1G"
    c.KubeSpawner.allow_privilege_escalation = False
    c.KubeSpawner.start_timeout = singleuser["startTimeout"]
    c.Spawner.cmd = singleuser["cmd"]
    c.Spawner.default_url = singleuser["defaultUrl"]
    storage = singleuser["storage"]
    assert storage["type"] == "dynamic"  # one PVC per server, made by KubeSpawner
    volume = "volume-{user_server}"
    c.KubeSpawner.storage_pvc_ensure = True
    c.KubeSpawner.volumes = {volume: {"name": volume, "persistentVolumeClaim": {"claimName": "{pvc_name}"}}}
    c.KubeSpawner.volume_mounts = {volume: {"mountPath": storage["homeMountPath"], "name": volume}}
    for section, traits in values["hub"]["config"].items():  # hub.config passes through, loaded last
        c[section].update(traits)
    return c


async def pod_manifest(values: dict, user_options: dict) -> dict:
    """The pod KubeSpawner would create for ann's server with these user options (the spawn form's), as
    the JSON it would send to the API server."""
    from kubespawner import KubeSpawner

    user = SimpleNamespace(name="ann", id=7, url="/user/ann/", escaped_name="ann")
    spawner = KubeSpawner(config=chart_config(values), user=user, _mock=True)  # _mock: a stand-in hub
    spawner.user_options = user_options
    await spawner.load_user_options()
    return spawner.api.api_client.sanitize_for_serialization(await spawner.get_pod_manifest())


@pytest.fixture
def no_cluster(tmp_path, monkeypatch):
    path = tmp_path / "kubeconfig"
    path.write_text(NO_CLUSTER_KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(path))


@pytest.fixture
def values(hub_config):
    """The values rendered from stack/profiles.yaml and the hub config with its defaults."""
    return z2jh_values.render(settings.PROFILES_FILE, settings=hub_config())


@pytest.fixture
def pod(values, no_cluster, run_coroutine):
    def build(user_options: dict):
        pod = run_coroutine(pod_manifest(values, user_options))
        notebook = [c for c in pod["spec"]["containers"] if c["name"] == "notebook"]
        assert len(notebook) == 1, [c["name"] for c in pod["spec"]["containers"]]
        return pod, notebook[0]

    return build


def env_of(container) -> dict:
    return {e["name"]: e.get("value") for e in container["env"]}


def test_the_profile_list_offers_the_expected_profiles_in_order(values):
    names = [p["display_name"] for p in values["singleuser"]["profileList"]]
    assert names == [p.name for p in SPEC.profiles]


@pytest.mark.parametrize("want", SPEC.profiles, ids=lambda p: p.id)
def test_the_profiles_pod_has_the_expected_image_limits_command_and_landing_url(values, pod, want):
    entries = [p for p in values["singleuser"]["profileList"] if p["display_name"] == want.name]
    assert len(entries) == 1, f"{want.name!r} is in the profile list {len(entries)} times"
    manifest, container = pod({"profile": entries[0]["slug"]})
    assert container["image"] == want.image
    assert container["resources"]["limits"] == {"cpu": want.cpus, "memory": want.mem_bytes}
    assert "command" not in container  # the image's entrypoint (tini) stays
    assert container["args"] == SPEC.singleuser_command
    assert env_of(container)["JUPYTERHUB_DEFAULT_URL"] == want.lands_on
    assert [m["mountPath"] for m in container["volumeMounts"]] == [SPEC.users["home"]]
    assert [v["persistentVolumeClaim"]["claimName"] for v in manifest["spec"]["volumes"]] == ["claim-ann"]
    assert container["securityContext"]["runAsUser"] == SPEC.users["uid"]


def test_a_server_started_without_a_profile_gets_the_first_and_lands_on_the_default_url(pod):
    _, container = pod({})
    assert container["image"] == SPEC.profiles[0].image
    assert env_of(container)["JUPYTERHUB_DEFAULT_URL"] == SPEC.infra["default_url"]


def test_an_unknown_profile_is_refused(pod):
    with pytest.raises(ValueError, match="no-such-profile"):
        pod({"profile": "no-such-profile"})


def test_the_hub_runs_native_authenticator_with_the_docker_hubs_settings(values, hub_config):
    docker_hub = hub_config()
    config = values["hub"]["config"]
    assert config["JupyterHub"]["authenticator_class"] == SPEC.users["authenticator"]
    assert config["Authenticator"] == docker_hub["Authenticator"]
    assert config["NativeAuthenticator"] == docker_hub["NativeAuthenticator"]
    assert config["Authenticator"]["admin_users"] == [SPEC.admin]
    assert config["Authenticator"]["allow_all"] is True  # bootstrap mode: who signs up may log in
    native = config["NativeAuthenticator"]
    assert native["open_signup"] is True and native["check_common_password"] is True
    assert native["minimum_password_length"] == SPEC.users["minimum_password_length"]
    assert native["allowed_failed_logins"] == SPEC.users["login_lock_after_failures"]
    assert native["seconds_before_next_try"] == 600


def test_named_servers_admin_access_and_the_culler(values):
    infra = SPEC.infra
    assert values["hub"]["allowNamedServers"] is infra["named_servers"]
    assert values["hub"]["config"]["JupyterHub"]["admin_access"] is infra["admin_access"]
    assert values["cull"] == {"enabled": True, "timeout": 3600, "every": 600}


def test_the_values_are_yaml_of_the_charts_structure(values):
    text = z2jh_values.dump(values)
    assert text.startswith("# zero-to-jupyterhub values (chart 4.4.0)")
    assert yaml.safe_load(text) == values
    assert set(values) == {"hub", "singleuser", "cull"}
    assert set(values["hub"]["config"]) <= HUB_CONFIG_SECTIONS
    singleuser = values["singleuser"]
    assert singleuser["storage"] == {"type": "dynamic", "homeMountPath": SPEC.users["home"]}
    assert singleuser["uid"] == SPEC.users["uid"]
    assert f"{singleuser['image']['name']}:{singleuser['image']['tag']}" == SPEC.profiles[0].image
    assert all(set(p["kubespawner_override"]) == {"image", "cpu_limit", "mem_limit", "default_url"}
               for p in singleuser["profileList"])


def test_a_registry_prefixes_every_image(hub_config):
    values = z2jh_values.render(settings.PROFILES_FILE, registry="registry.example.org/jhub/", settings=hub_config())
    images = [p["kubespawner_override"]["image"] for p in values["singleuser"]["profileList"]]
    assert images == ["registry.example.org/jhub/" + p.image for p in SPEC.profiles]
    assert values["singleuser"]["image"] == {"name": "registry.example.org/jhub/local/uv-lab", "tag": "latest"}


def test_hub_settings_follow_the_hub_configs_environment(hub_config):
    values = z2jh_values.render(settings.PROFILES_FILE, settings=hub_config(MIN_PASSWORD_LENGTH="12",
                                                                             BASE_URL="/jupyter"))
    assert values["hub"]["config"]["NativeAuthenticator"]["minimum_password_length"] == 12
    assert values["hub"]["baseUrl"] == "/jupyter/"


def test_production_mode_is_refused_naming_what_it_needs(hub_config):
    with pytest.raises(z2jh_values.RenderError, match=r"production mode.*jhub_platform\.auth"):
        z2jh_values.render(settings.PROFILES_FILE, settings=hub_config(AUTH_MODE="production"))


def test_a_dockerfile_without_user_id_or_command_is_refused(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM debian\nUSER nebula\n")
    with pytest.raises(z2jh_values.RenderError, match="useradd --uid"):
        z2jh_values.image_user(dockerfile)


def test_the_command_line_writes_the_file_and_prints_its_path(hub_config, tmp_path, capsys, monkeypatch):
    hub_config()  # the environment without the hub config's variables; the statsd patch undone afterwards
    data_dir = tmp_path / "hub-data"
    data_dir.mkdir()
    monkeypatch.setenv("HUB_DATA_DIR", str(data_dir))  # a hub's data directory where the renderer runs
    output = tmp_path / "values.yaml"
    assert z2jh_values.main(["--registry", "reg.example.org/jhub", "--output", str(output)]) == 0
    assert capsys.readouterr().out.strip() == str(output.resolve())
    values = yaml.safe_load(output.read_text())
    assert values["singleuser"]["profileList"][0]["kubespawner_override"]["image"].startswith("reg.example.org/jhub/")
    assert list(data_dir.iterdir()) == []  # no secret made in it
