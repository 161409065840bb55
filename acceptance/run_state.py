"""The run's state, kept where pytest keeps a run's state: the config's stash. Set once at configure time (the mode
by acceptance/verify.py, the expected state by acceptance/fixtures/hooks.py), never replaced; tests reach it through the
session fixtures `mode` and `expected`, hooks through the config, and code outside both is given it as an argument."""
from __future__ import annotations

import pytest

from acceptance.deployments.mode import RunMode
from acceptance.expected import ExpectedState

MODE = pytest.StashKey[RunMode]()
EXPECTED = pytest.StashKey[ExpectedState]()


def run_mode(config: pytest.Config) -> RunMode:
    """How this run verifies (its own stack, or a deployment given by URL)."""
    return config.stash[MODE]


def expected_state(config: pytest.Config) -> ExpectedState:
    """What the specification says the deployment is (--expect, --expect-extra, --stack)."""
    return config.stash[EXPECTED]
