"""The `stack` fixture removes a stack that never became ready, whatever stopped its start."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from acceptance.client.polling import WaitTimeout
from acceptance.deployments.mode import RunMode
from acceptance.fixtures import stack as stack_fixtures


class _Collector:
    def __init__(self):
        self.error = None

    def set_info(self, *_args):
        pass

    def set_stack_error(self, text):
        self.error = text

    def add_run_attachment(self, *_args):
        pass


class _NeverReady:
    kind, kind_text, project, prefix, hub_url = "production", "a stack", "jhvtest", "jhvtest-", "https://h"

    def __init__(self):
        self.removed = False

    def up(self):
        raise WaitTimeout("timed out after 30s waiting for the proxy's self-signed certificate")

    def hub_logs(self, _lines):
        return ""

    def down(self):
        self.removed = True


def test_a_stack_whose_start_timed_out_is_removed(monkeypatch):
    run, collector = _NeverReady(), _Collector()
    monkeypatch.setitem(stack_fixtures.STACKS, "production", lambda: run)
    monkeypatch.setattr(stack_fixtures, "get_collector", lambda _config: collector)
    request = SimpleNamespace(config=SimpleNamespace(getoption=lambda _name: False))
    expected = SimpleNamespace(stack_differences=lambda: [])
    started = stack_fixtures.stack.__wrapped__(request, RunMode(stack="production"), expected)
    with pytest.raises(pytest.fail.Exception, match="the stack did not start: WaitTimeout: timed out"):
        next(started)
    assert run.removed and "WaitTimeout" in collector.error
