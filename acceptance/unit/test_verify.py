"""Verify runs: credentials, the scope each mode allows, the names of the users a run makes."""
from __future__ import annotations

import pytest

from acceptance.deployments.mode import Credentials, RunMode, new_user_prefix
from acceptance.verify import RunUsers, mode_label, scope_reason


def test_credentials_from_the_environment_or_a_file_which_wins(tmp_path):
    env = {"JUPYTERHUB_ADMIN_TOKEN": "from-env"}
    assert Credentials.load(None, env).token == "from-env"
    f = tmp_path / "creds"
    f.write_text("# the site's admin\nJUPYTERHUB_ADMIN_USER=root\nJUPYTERHUB_ADMIN_PASSWORD='s3cret pw'\n")
    creds = Credentials.load(str(f), {"JUPYTERHUB_ADMIN_USER": "other"})
    assert (creds.username, creds.password, creds.any) == ("root", "s3cret pw", True)
    assert not Credentials.load(None, {}).any


def test_credentials_never_show_their_secrets():
    text = repr(Credentials(token="tok-123", username="root", password="pw-456"))
    assert "tok-123" not in text and "pw-456" not in text and "root" in text


@pytest.mark.parametrize(("markers", "m", "left_out"), [
    ((), RunMode(), False),
    (("disruptive",), RunMode(), False),                                     # the own stack: everything
    (("https_only",), RunMode(), True),                                      # no TLS on the own stack
    (("disruptive",), RunMode(hub_url="http://h"), True),                    # verify: not without --disruptive
    (("disruptive",), RunMode(hub_url="http://h", disruptive=True), False),
    (("own_stack",), RunMode(hub_url="http://h", disruptive=True), True),    # compares with this checkout
    ((), RunMode(hub_url="http://h", read_only=True), True),                 # read-only: only read_only checks
    (("read_only",), RunMode(hub_url="http://h", read_only=True), False),
    (("read_only", "https_only"), RunMode(hub_url="https://h", read_only=True), False),
])
def test_each_mode_leaves_out_what_it_may_not_do(markers, m, left_out):
    assert (scope_reason("P2", set(markers), m) is not None) == left_out


def test_run_users_carry_the_runs_prefix_and_are_remembered():
    users = RunUsers(RunMode(hub_url="http://h", user_prefix=new_user_prefix()))
    name = users.name("alice")
    assert name.startswith("jhv") and name.endswith("-alice") and len(name) <= 32
    users.track("john smith")            # not the run's: never removed, so not remembered
    users.track(f"{users.prefix}shortpw")
    assert set(users.made.values()) == {name, f"{users.prefix}shortpw"}
    assert RunUsers(RunMode()).name("alice") == "alice"   # the harness's own stack: the names as they are


def test_a_verify_run_of_a_production_deployment_covers_what_a_production_run_covers():
    """--hub-url with --stack production (the upgrade's checklist after a production upgrade): the checklist, R6
    and R8 as for the own production stack; the other reliability steps (which read the hub's SQLite accounts,
    among others) and the checks of the own production stack's internals are out of scope."""
    m = RunMode(hub_url="https://h", disruptive=True, stack="production")
    assert scope_reason("P2", set(), m) is None and scope_reason("R6", set(), m) is None
    assert "covers the checklist and R6, R7, R8" in scope_reason("R1", set(), m)
    assert "--stack production" in scope_reason("R7", {"production"}, m)
    assert mode_label(m) == "verify by URL, a production deployment, with Docker access, disruptive"
    assert mode_label(RunMode(hub_url="http://h")) == "verify by URL, with Docker access"


def test_a_production_deployment_given_by_url_is_published_by_its_proxy():
    from types import SimpleNamespace

    from acceptance.deployments.deployment import ExistingDeployment

    containers = {"site-jupyterhub-hub": "the hub", "site-jupyterhub-proxy": "the TLS proxy"}
    docker = SimpleNamespace(containers=SimpleNamespace(get=containers.__getitem__))
    production = ExistingDeployment("https://h", docker, "site-jupyterhub-hub", "site-", "site",
                                    publisher_name="site-jupyterhub-proxy")
    assert production.publisher() == "the TLS proxy"
    assert ExistingDeployment("http://h", docker, "site-jupyterhub-hub", "site-", "site").publisher() == "the hub"
