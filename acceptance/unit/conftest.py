"""Fixtures the unit tests share."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from jhub_platform.effective_config import load_effective_config

from acceptance import settings
from stack import settings as stack_settings

# every variable stack/jupyterhub_config.py reads
CONFIG_ENV = tuple(stack_settings.load())


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
