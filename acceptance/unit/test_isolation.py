"""R2's judgement of a cross-user attempt: what counts as refused at the hub API and at a user's server."""
import pytest

from acceptance.tests.test_r2_isolation import refused

OWNER = "alice"


@pytest.mark.parametrize("status", [200, 201, 204, 302])
@pytest.mark.parametrize("path", ["/hub/api/users/alice", "/hub/api/users/alice/tokens",
                                  "/hub/api/users/alice/servers/evil", "/jupyter/hub/api/users/alice/tokens"])
def test_the_hub_api_answering_is_not_refused(status, path):
    """Bob reading Alice's user record, listing or making her tokens: got through, whatever the path lacks."""
    assert not refused(status, path, path, OWNER)


@pytest.mark.parametrize("status", [403, 404])
def test_the_hub_api_refuses_with_403_or_404(status):
    assert refused(status, "/hub/api/users/alice/tokens", "/hub/api/users/alice/tokens", OWNER)


@pytest.mark.parametrize("status", [400, 405, 500])
def test_another_error_at_the_hub_api_is_not_a_refusal(status):
    assert not refused(status, "/hub/api/users/alice", "/hub/api/users/alice", OWNER)


def test_a_users_server_redirecting_away_refuses():
    """Bob's session at Alice's Lab, redirects followed, ends on a hub page that is not hers."""
    assert refused(200, "/user/alice/lab", "/hub/home", OWNER)
    assert refused(200, "/jupyter/user/alice/files/x.txt", "/jupyter/hub/spawn-pending/bob", OWNER)


def test_a_users_server_answering_is_not_refused():
    assert not refused(200, "/user/alice/lab", "/user/alice/lab", OWNER)
    assert not refused(500, "/user/alice/lab", "/hub/error", OWNER)
