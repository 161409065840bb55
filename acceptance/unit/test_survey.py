"""The profile survey (acceptance/survey.py): every profile once, two at a time, results in the profiles' order,
a failed start reported on its own profile."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from acceptance import survey
from acceptance.expected import load as load_expected

PROFILES = load_expected().profiles


class FakeServers:
    """Servers whose start blocks briefly and records how many run at once; the profile named `broken` fails."""

    def __init__(self, broken: str | None = None):
        self.lock, self.running, self.most, self.broken = threading.Lock(), 0, 0, broken
        self.stopped: list[str] = []
        self.stack = SimpleNamespace(hub_url="http://127.0.0.1:8000")
        lab = SimpleNamespace(status_code=200, url=SimpleNamespace(path="/user/admin/s/lab"), text="")
        self.api = SimpleNamespace(server_get=lambda path, **kw: lab)

    def start(self, user, name, profile):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.05)   # a start that takes time, so overlapping starts overlap
            if profile.name == self.broken:
                raise AssertionError("the spawn failed: image missing")
        finally:
            with self.lock:
                self.running -= 1
        return SimpleNamespace(spawn_seconds=0.05, container=None, url="/user/admin/s/")

    def stop(self, user, name=""):
        self.stopped.append(name)


def test_every_profile_is_surveyed_two_at_a_time_in_the_profiles_order():
    fake = FakeServers()
    results = survey.survey_profiles(fake, "admin", PROFILES)
    assert list(results) == [p.name for p in PROFILES]
    assert fake.most == survey.SURVEY_AT_ONCE == 2
    assert all(r.error is None and r.landed_on == "/lab" for r in results.values())
    assert sorted(fake.stopped) == sorted(f"survey-{p.id}".replace(".", "-") for p in PROFILES)


def test_one_at_a_time_when_asked():
    fake = FakeServers()
    survey.survey_profiles(fake, "admin", PROFILES, at_once=1)
    assert fake.most == 1


def test_a_profile_that_does_not_start_is_reported_on_that_profile_only():
    broken = PROFILES[1].name
    results = survey.survey_profiles(FakeServers(broken=broken), "admin", PROFILES)
    assert results[broken].error == "did not start: the spawn failed: image missing"
    assert [name for name, r in results.items() if r.error] == [broken]
