"""The upgrade run's own logic (acceptance/upgrade/): the before/after comparison ("nothing lost"), the diff of two
releases' deployment definitions, the versions label, the verdict, and stack/upgrade.sh's interface."""
from __future__ import annotations

import subprocess
from pathlib import Path

from acceptance.upgrade import report
from acceptance.upgrade.compare import (
    SiteState,
    compare,
    diff,
    diff_text,
    flatten,
    losses,
    parse_versions,
    version_changes,
)
from acceptance.upgrade.run import BREAKAGES, Check
from images.build import EXTRA_SPECS, HERE, image_specs, pinned_versions

ROOT = Path(__file__).resolve().parents[2]


def site(**kw) -> SiteState:
    base = SiteState(
        users={"admin": {"admin": True, "servers": {"": {"running": False}}},
               "alice": {"admin": False, "servers": {"": {"running": True}, "analysis": {"running": True}}},
               "bob": {"admin": False, "servers": {"": {"running": False}, "scratch": {"running": False}}}},
        tokens={"admin": True, "alice": True, "bob": True},
        files={"alice": {"notes.txt": "a" * 64, "data/results.csv": "b" * 64}, "bob": {"notes.txt": "c" * 64}},
        kernel="42")
    for key, value in kw.items():
        setattr(base, key, value)
    return base


def test_the_same_state_loses_nothing():
    rows = compare(site(), site())
    assert rows and all(r.ok for r in rows)
    assert losses(rows) == []
    # every kind of thing is a row: users, servers, tokens, files, the kernel
    whats = {r.what.split()[0] for r in rows}
    assert whats == {"user", "server", "token", "file", "kernel"}


def test_a_lost_user_token_file_server_or_kernel_value_is_named():
    after = site()
    del after.users["bob"]
    after.users["alice"]["servers"].pop("analysis")
    after.tokens["alice"] = False
    after.files["alice"]["notes.txt"] = "d" * 64
    del after.files["alice"]["data/results.csv"]
    after.kernel = None
    lost = losses(compare(site(), after))
    assert "user bob: before user, after missing" in lost
    assert "server bob/(default): before stopped, after missing" in lost
    assert "server alice/analysis: before running, after missing" in lost
    assert "token of alice: before accepted, after refused" in lost
    assert f"file alice:notes.txt: before {'a' * 12}, after {'d' * 12} (content changed)" in lost
    assert "file alice:data/results.csv: before bbbbbbbbbbbb, after missing" in lost
    assert "kernel state: before 42, after None" in lost


def test_an_admin_flag_dropped_and_a_running_server_stopped_are_losses():
    after = site()
    after.users["admin"]["admin"] = False
    after.users["alice"]["servers"][""]["running"] = False
    lost = losses(compare(site(), after))
    assert "user admin: before admin, after user" in lost
    assert any(x.startswith("server alice/(default): before running, after stopped") for x in lost)
    # where the procedure says running servers are stopped, a stopped one is no loss
    assert not any("alice/(default)" in x for x in losses(compare(site(), after, running_kept=False)))


def test_what_only_the_new_release_has_is_no_loss_and_an_unreadable_site_is():
    after = site()
    after.users["dave"] = {"admin": False, "servers": {}}
    after.files["alice"]["new.txt"] = "e" * 64
    assert losses(compare(site(), after)) == []
    empty = SiteState(errors=["GET /hub/api/users with the admin's token: HTTP 403"])
    lost = losses(compare(site(), empty))
    assert lost[0].startswith("reading the site: before , after GET /hub/api/users")
    assert "user alice: before user, after missing" in lost


def test_a_token_that_was_invalid_before_is_not_counted():
    before = site(tokens={"admin": True, "alice": False})
    rows = compare(before, site(tokens={"admin": True, "alice": False}))
    assert [r.what for r in rows if r.what.startswith("token")] == ["token of admin"]


def test_flatten_and_diff_of_two_definitions():
    old = {"hub": {"image": "hub:jh5", "environment": {"A": "1", "B": "2"}, "volumes": [{"source": "x"}]},
           "profiles": {"lab": {"image": "lab:1", "cpus": 2}}}
    new = {"hub": {"image": "hub:latest", "environment": {"A": "1", "C": "3"}, "volumes": [{"source": "y"}]},
           "profiles": {"lab": {"image": "lab:1", "cpus": 2}, "vscode": {"image": "code:1"}}}
    assert flatten(old)["hub.volumes[0].source"] == "x"
    changes = {c["path"]: c for c in diff(old, new)}
    assert changes["hub.image"] == {"path": "hub.image", "change": "changed", "old": "hub:jh5", "new": "hub:latest"}
    assert changes["hub.environment.B"]["change"] == "removed"
    assert changes["hub.environment.C"]["change"] == "added"
    assert changes["hub.volumes[0].source"]["change"] == "changed"
    assert changes["profiles.vscode.image"]["change"] == "added"
    assert "profiles.lab.cpus" not in changes and "hub.environment.A" not in changes
    assert diff(old, old) == []
    text = diff_text(diff(old, new))
    assert "- hub.image: 'hub:jh5'\n+ hub.image: 'hub:latest'" in text
    assert "- hub.environment.B: '2'" in text and "+ hub.environment.C: '3'" in text


def test_versions_from_the_image_label():
    old = parse_versions("jupyterhub==5.5.4 dockerspawner==14.0.0")
    new = parse_versions("jupyterhub==6.1.1 dockerspawner==14.0.0 wrapspawner==1.0.1")
    assert old == {"jupyterhub": "5.5.4", "dockerspawner": "14.0.0"}
    assert parse_versions(None) == {}
    changes = {c["component"]: c for c in version_changes(old, new)}
    assert changes["jupyterhub"] == {"component": "jupyterhub", "from": "5.5.4", "to": "6.1.1", "changed": True}
    assert changes["dockerspawner"]["changed"] is False
    assert changes["wrapspawner"]["from"] is None and changes["wrapspawner"]["changed"]


def test_the_previous_release_hub_is_the_same_dockerfile_with_jupyterhub_5s_lock():
    [jh5] = [s for s in EXTRA_SPECS if s.name == "hub-jh5"]
    [hub] = [s for s in image_specs() if s.name == "hub"]
    assert jh5.dockerfile == hub.dockerfile and jh5.tag == "local/jupyterhub-hub:jh5"
    assert "hub-jh5" not in {s.name for s in image_specs()}, "built only when named, not by `nox -s images`"
    assert pinned_versions(jh5, HERE).startswith("jupyterhub==5.5.4 dockerspawner==14.0.0")
    assert pinned_versions(hub, HERE).startswith("jupyterhub==6.1.1 dockerspawner==14.0.0")
    dockerfile = (HERE / "hub" / "Dockerfile").read_text()
    assert "ARG HUB_REQUIREMENTS=hub/requirements.txt" in dockerfile and "COPY ${HUB_REQUIREMENTS}" in dockerfile
    lock5 = (HERE / "hub" / "requirements-jupyterhub5.txt").read_text()
    assert lock5.startswith("# ") and "5.5.4" in lock5.splitlines()[0]


def test_the_verdict_passes_only_when_every_check_ran_and_passed():
    ok = [Check("hub-starts", "t", True), Check("rollback", "t", True)]
    assert report.verdict(ok, None, None)["status"] == "PASSED"
    assert report.verdict([], None, None)["status"] == "FAILED"
    assert report.verdict([*ok, Check("checklist", "t", None)], None, None)["status"] == "FAILED"
    assert report.verdict([*ok, Check("checklist", "t", None, narrowed=True)], None, None)["status"] == "PARTIAL"
    assert report.verdict([*ok, Check("checklist", "t", True, narrowed=True)], None, None)["status"] == "PARTIAL"
    assert report.verdict([*ok, Check("checklist", "t", False, narrowed=True)], None, None)["status"] == "FAILED"
    failed = report.verdict([Check("hub-starts", "t", False), Check("rollback", "t", True)], "skip-migration",
                            BREAKAGES["skip-migration"][0])
    assert failed["status"] == "FAILED" and failed["caught"] is True
    wrong = report.verdict([Check("hub-starts", "t", True), Check("nothing-lost", "t", False)], "skip-migration",
                           BREAKAGES["skip-migration"][0])
    assert wrong["caught"] is False


def test_the_report_shows_every_section(tmp_path):
    doc = report.write(tmp_path, {"from": "a", "to": "b", "breakage": None, "breakage_caught_by": None,
                                  "definition_diff": [{"path": "hub.image", "change": "changed", "old": "x",
                                                       "new": "y"}],
                                  "migration_log": "Running upgrade 4621fec11365 -> be8ecf03ddac",
                                  "table": [{"what": "user alice", "before": "user", "after": "missing", "ok": False,
                                             "note": ""}]},
                       [Check("nothing-lost", "nothing lost", False, "1 of 1 lost")], {"upgrade": 7.4}, ["$ x"])
    assert doc["verdict"]["status"] == "FAILED"
    md = (tmp_path / "upgrade.md").read_text()
    for text in ("# Upgrade a -> b: FAILED", "- hub.image: 'x'", "+ hub.image: 'y'", "Running upgrade 4621fec11365",
                 "| user alice | user | missing | LOST |", "## Rollback"):
        assert text in md, text
    assert "<td class=bad>LOST</td>" in (tmp_path / "upgrade.html").read_text()
    assert (tmp_path / "upgrade.json").is_file()


def test_upgrade_sh_refuses_a_wrong_call():
    script = ROOT / "stack" / "upgrade.sh"
    for args in ([], ["backup"], ["rollback"], ["nonsense"]):
        proc = subprocess.run(["bash", str(script), *args], capture_output=True, text=True)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "upgrade.sh all DIR" in proc.stderr
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0


def test_an_approved_signup_that_can_no_longer_log_in_or_a_pending_one_that_can_is_a_loss():
    before = site(logins={"alice": True, "dave": False})
    assert losses(compare(before, site(logins={"alice": True, "dave": False}))) == []
    lost = losses(compare(before, site(logins={"alice": False, "dave": True})))
    assert "signup alice: before may log in, after waits for approval" in lost
    assert "signup dave: before waits for approval, after may log in" in lost
    assert "signup alice: before may log in, after not tried" in losses(compare(before, site(logins={})))
