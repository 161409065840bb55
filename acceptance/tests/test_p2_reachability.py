"""Phase 2: Stack Deployment - the hub answers where it is published: health, version, its pages. Safe
without credentials (a --read-only verify run makes these checks and nothing else of Phase 2)."""
import pytest

from acceptance.client.hub_api import HubSession
from acceptance.tests.test_p4_auth import version_tuple

pytestmark = [pytest.mark.p2, pytest.mark.read_only]


def test_the_hub_answers_its_health_check_and_api(stack, expected, evidence):
    """/hub/health answers 200 and /hub/api/ names a JupyterHub at least as new as the specification needs."""
    with HubSession(stack.hub_url, stack.ca_bundle) as session:
        health = session.http.get(expected.data["http"]["health"])
        api = session.http.get("/hub/api/")
    evidence.fact("health", f"HTTP {health.status_code}")
    assert health.status_code == 200, f"{expected.data['http']['health']} answered HTTP {health.status_code}"
    version = api.json()["version"]
    evidence.fact("JupyterHub", version)
    minimum = expected.versions["jupyterhub"]
    assert version_tuple(version) >= version_tuple(minimum), f"JupyterHub {version} is older than {minimum}"
