"""Fixtures the unit tests share."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from acceptance import settings
from acceptance.hub_config import load_effective_config

# every variable stack/jupyterhub_config.py reads
CONFIG_ENV = ("NAME_PREFIX", "PROFILES_FILE", "HUB_CONNECT_URL", "AUTH_MODE", "ADMIN_USER", "MIN_PASSWORD_LENGTH",
              "ALLOWED_USERS", "ENABLE_OTP", "SPAWNER_START_TIMEOUT", "SPAWNER_HTTP_TIMEOUT", "DOCKER_NETWORK_NAME",
              "IMAGE_PULL_POLICY", "LOGIN_MAX_FAILURES", "LOGIN_LOCK_SECONDS", "SPAWNER_POLL_INTERVAL", "HUB_DATA_DIR",
              "SPAWNER_LISTEN_POLL_INTERVAL", "USER_LOG_ADDRESS",
              "BASE_URL")


@pytest.fixture
def hub_config(monkeypatch):
    """stack/jupyterhub_config.py evaluated with only the given variables set (hub_config(AUTH_MODE=...));
    undoes the statsd patch the config applies."""
    from nativeauthenticator.handlers import LoginHandler

    monkeypatch.setattr(LoginHandler, "statsd", None, raising=False)  # records the original state ...
    monkeypatch.delattr(LoginHandler, "statsd")  # ... so undo restores it, patched or not
    for name in CONFIG_ENV:
        monkeypatch.delenv(name, raising=False)

    def load(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return load_effective_config(str(settings.STACK_DIR))

    return load


def _run_coroutine(coro):
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture
def run_coroutine():
    """Runs a coroutine to its end in a thread of its own: in the full suite Playwright's sync API
    already runs an event loop in this thread, so asyncio.run() would refuse."""
    return _run_coroutine
