"""jhub_platform.spawner and .compat: workarounds for wrapspawner, dockerspawner and nativeauthenticator."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from dockerspawner import DockerSpawner
from jhub_platform.compat import patch_nativeauthenticator_statsd
from jhub_platform.spawner import PlatformProfilesSpawner
from jupyterhub.spawner import Spawner
from traitlets.config import Config

# construct_child passes server=, not a trait: traitlets drops it with this warning (the child's
# server comes from orm_spawner instead). Same in wrapspawner 1.0.1 itself.
pytestmark = pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")


class RecordingSpawner(Spawner):
    """A child class that records the keyword arguments it was built with."""

    def __init__(self, **kwargs):
        self.received = dict(kwargs)
        super().__init__(**kwargs)

    async def start(self):
        raise NotImplementedError

    async def stop(self, now=False):
        raise NotImplementedError

    async def poll(self):
        return None


PROFILES = [
    ("First", "first", RecordingSpawner, {"port": 8888}),
    ("Second", "second", RecordingSpawner, {"port": 9999}),
]


def wrapper(profiles=PROFILES, config=None, **kwargs) -> PlatformProfilesSpawner:
    return PlatformProfilesSpawner(
        config=config or Config(),
        user=SimpleNamespace(name="alice", url="/user/alice/"),
        orm_spawner=SimpleNamespace(name="srv1", server=None),
        profiles=profiles,
        **kwargs,
    )


@pytest.mark.parametrize("key", ["", "no-such-profile"])
def test_select_profile_falls_back_to_first(key):
    w = wrapper()
    w.select_profile(key)
    assert (w.child_profile, w.child_class, w.child_config) == ("first", RecordingSpawner, {"port": 8888})


def test_select_profile_selects_by_key():
    w = wrapper()
    w.select_profile("second")
    assert (w.child_profile, w.child_config) == ("second", {"port": 9999})


def test_select_profile_copies_child_config():
    w = wrapper()
    w.select_profile("first")
    w.child_config["port"] = 1
    assert w.profiles[0][3] == {"port": 8888}


def test_construct_child_uses_user_options_profile():
    w = wrapper(user_options={"profile": "second"})
    child = w.construct_child()
    assert isinstance(child, RecordingSpawner)
    assert child.port == 9999


def test_construct_child_passes_orm_spawner():
    w = wrapper()
    child = w.construct_child()
    assert child.received["orm_spawner"] is w.orm_spawner
    assert child.name == "srv1"


def test_construct_child_keeps_profile_traits_over_wrapper():
    w = wrapper()
    assert w.port == 0
    child = w.construct_child()
    assert child.port == 8888
    w.port = 1234
    assert child.port == 8888


def test_construct_child_links_shared_traits_not_in_profile():
    w = wrapper(http_timeout=77)
    child = w.construct_child()
    assert child.http_timeout == 77
    w.start_timeout = 999
    assert child.start_timeout == 999


def test_docker_child_container_name_has_configured_prefix():
    # dockerspawner 14.0.0 renders object_name when `image` (a constructor kwarg) is set,
    # before config is loaded: the name then had the default prefix "jupyter".
    config = Config()
    config.DockerSpawner.prefix = "run1-jupyter"
    w = wrapper(profiles=[("Lab", "lab", DockerSpawner, {"image": "local/uv-lab:latest"})], config=config)
    child = w.construct_child()
    assert child.prefix == "run1-jupyter"
    assert child.object_name == "run1-jupyter-alice--srv1"


@pytest.fixture
def login_handler_without_statsd(monkeypatch):
    """LoginHandler as JupyterHub 6 ships it (no statsd); restored afterwards, patched or not."""
    from nativeauthenticator.handlers import LoginHandler

    monkeypatch.setattr(LoginHandler, "statsd", None, raising=False)
    monkeypatch.delattr(LoginHandler, "statsd")
    return LoginHandler


@pytest.mark.filterwarnings("ignore:'locale.getdefaultlocale' is deprecated:DeprecationWarning")
def test_statsd_patch_applies_on_jupyterhub_6(login_handler_without_statsd):
    assert patch_nativeauthenticator_statsd() is True
    assert login_handler_without_statsd.statsd.timer("x").start().stop(send=False) is None


@pytest.mark.filterwarnings("ignore:'locale.getdefaultlocale' is deprecated:DeprecationWarning")
def test_statsd_patch_second_call_is_noop(login_handler_without_statsd):
    patch_nativeauthenticator_statsd()
    patched = login_handler_without_statsd.statsd
    assert patch_nativeauthenticator_statsd() is False
    assert login_handler_without_statsd.statsd is patched


def _with_docker_child(pull_policy: str, image_present: bool) -> PlatformProfilesSpawner:
    """A wrapper whose child looks like a DockerSpawner with `pull_policy`; its image is there or not."""
    from docker.errors import ImageNotFound

    async def docker(method, image):
        assert method == "inspect_image"
        if not image_present:
            raise ImageNotFound(f"No such image: {image}")
        return {"Id": "sha256:x"}

    w = wrapper()
    w.select_profile("second")
    child = SimpleNamespace(pull_policy=pull_policy, image="local/gone:latest", docker=docker)
    w._trait_values["child_spawner"] = child  # a stand-in, not a Spawner: skip the trait's validation
    return w


def test_check_image_names_the_missing_image_and_profile(run_coroutine):
    from jupyterhub.spawner import SpawnException

    with pytest.raises(SpawnException, match=r"The image local/gone:latest of the profile 'Second' is not on this"):
        run_coroutine(_with_docker_child("never", image_present=False).check_image())


@pytest.mark.parametrize(("policy", "present"), [("never", True), ("ifnotpresent", False), ("always", False)])
def test_check_image_passes_when_present_or_pullable(policy, present, run_coroutine):
    run_coroutine(_with_docker_child(policy, image_present=present).check_image())


class StoppedSpawner(RecordingSpawner):
    async def poll(self):
        return 1   # the container exited


def test_start_waits_until_the_server_accepts_connections_so_the_hubs_first_poll_finds_it(run_coroutine):
    async def scenario():
        import socket

        with socket.socket() as s:   # a free port, listened on only after a while
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        w = wrapper(listen_poll_interval=0.02)
        w.construct_child()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        servers = []

        async def listen_later():
            await asyncio.sleep(0.3)
            servers.append(await asyncio.start_server(lambda r, wr: wr.close(), "127.0.0.1", port))

        later = asyncio.create_task(listen_later())
        await w.wait_listening(("127.0.0.1", port))
        waited = loop.time() - t0
        await later
        servers[0].close()
        return waited

    assert 0.3 <= run_coroutine(scenario()) < 1.5


def test_the_wait_is_off_at_0_and_ends_when_the_container_stopped(run_coroutine):
    async def waited(**kwargs):
        w = wrapper(profiles=[("Stopped", "stopped", StoppedSpawner, {})], **kwargs)
        w.construct_child()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await w.wait_listening(("127.0.0.1", 9))   # nothing listens on port 9
        return loop.time() - t0

    assert run_coroutine(waited()) < 0.1                                    # default: JupyterHub's poll only
    assert run_coroutine(waited(listen_poll_interval=0.05, http_timeout=30)) < 1   # the container exited: no wait
