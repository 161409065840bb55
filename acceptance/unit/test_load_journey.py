"""One user's journey without a hub: the hub's 429 is waited out and counted, failures are classified and
recorded per phase, a failure after the spawn still stops the server. (Locust is not imported here.)"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from acceptance.load import journey
from acceptance.load.journey import JourneyRun, PhaseFailed, RunContext
from acceptance.load.scenario import Journey, Scenario

PROFILES = {"lab-2cpu-4gb": {"default_url": "/lab", "app": "lab"}}


def _ctx() -> RunContext:
    sc = Scenario(name="t", users=1, arrival_rate=1, profiles={"lab-2cpu-4gb": 1}, journey=Journey(stay_seconds=0),
                  timeouts={"http": 5, "spawn": 5, "kernel": 5, "stop": 5}, time_limit_seconds=60,
                  sample_interval_seconds=1, gates={"failure_rate_percent": 0}, max_mean_gap_seconds=5)
    return RunContext(hub_url="http://127.0.0.1:1", scenario=sc, users=1, plan=["lab-2cpu-4gb"], profiles=PROFILES,
                      user_prefix="load-", t0=time.monotonic())


class FakeResponse:
    def __init__(self, status: int, headers: dict | None = None, body=None):
        self.status_code, self.headers, self._body = status, headers or {}, body
        self.text = str(body)

    def json(self):
        return self._body


class FakeSession:
    """Answers requests from a list of (status, headers, body), in order."""

    def __init__(self, answers):
        self.answers, self.calls = list(answers), []

    def request(self, method, url, **kw):
        self.calls.append((method, url))
        return FakeResponse(*self.answers.pop(0))

    def close(self):
        pass


@pytest.fixture
def slept(monkeypatch):
    waits = []
    monkeypatch.setattr(journey.time, "sleep", waits.append)
    return waits


def test_429_is_waited_out_and_counted(slept):
    run = JourneyRun(_ctx(), 1)
    run.http = FakeSession([(429, {"Retry-After": "2"}, None), (429, {}, None), (201, {}, {"ok": 1})])
    r = run.call("POST", "/hub/api/users/load-001/server", time.monotonic() + 60, (201, 202))
    assert r.status_code == 201 and run.record["retries_429"] == 2 and slept == [2.0, 1.0]


def test_429_past_the_deadline_fails_the_phase(slept):
    run = JourneyRun(_ctx(), 1)
    run.http = FakeSession([(429, {"Retry-After": "30"}, None)])
    with pytest.raises(PhaseFailed, match="Retry-After 30s is past the phase's deadline"):
        run.call("POST", "/x", time.monotonic() + 5, (201,))
    assert run.record["retries_429"] == 1 and slept == []


def test_unexpected_status_names_request_and_status():
    run = JourneyRun(_ctx(), 1)
    run.http = FakeSession([(500, {}, "boom")])
    with pytest.raises(PhaseFailed, match=r"GET /hub/api/users/load-001: HTTP 500") as err:
        run.call("GET", "/hub/api/users/load-001", time.monotonic() + 5, (200,))
    assert err.value.status == 500


def test_phases_are_recorded_classified_and_fired():
    fired = []
    run = JourneyRun(_ctx(), 1, fire=lambda **kw: fired.append(kw))
    assert run.phase("kernel_start", 5, lambda deadline: "k1") == "k1"
    with pytest.raises(PhaseFailed):
        run.phase("landing", 5, lambda deadline: (_ for _ in ()).throw(
            PhaseFailed("GET /user/load-001/lab: HTTP 503", status=503)))
    with pytest.raises(PhaseFailed, match="ConnectionError"):
        run.phase("login", 5, lambda deadline: (_ for _ in ()).throw(ConnectionError("refused")))
    assert [(p["phase"], p["ok"], p["category"]) for p in run.record["phases"]] == [
        ("kernel_start", True, ""), ("landing", False, "proxy route"), ("login", False, "auth")]
    assert [(f["request_type"], f["name"], f["exception"] is None) for f in fired] == [
        ("kernel_start", "lab-2cpu-4gb", True), ("landing", "lab-2cpu-4gb", False), ("login", "lab-2cpu-4gb", False)]


def test_a_failure_after_the_spawn_still_stops_the_server(monkeypatch, slept):
    ctx = _ctx()
    run = JourneyRun(ctx, 1)
    done = []
    monkeypatch.setattr(run, "login", lambda deadline: done.append("login"))
    monkeypatch.setattr(run, "spawn", lambda deadline: done.append("spawn"))

    def landing(deadline):
        raise PhaseFailed("GET /user/load-001/lab: HTTP 500", status=500, final_path="/user/load-001/lab")
    monkeypatch.setattr(run, "landing", landing)
    monkeypatch.setattr(run, "stop", lambda deadline: done.append("stop"))
    record = run.run()
    assert done == ["login", "spawn", "stop"] and not record["completed"]
    assert [(p["phase"], p["ok"], p["category"]) for p in record["phases"]][-2:] == [
        ("landing", False, "app"), ("stop", True, "")]
    assert ctx.records == [record] and ctx.started == ["load-001"]


class LandingSession:
    """Answers the landing page's GET with a page captured from an app (acceptance/unit/app_pages/)."""

    def __init__(self, status: int, page: str, url: str):
        self.response = FakeResponse(status)
        self.response.text, self.response.url = page, url

    def get(self, url, **kw):
        return self.response

    def close(self):
        pass


def _page(name: str) -> str:
    return (Path(__file__).with_name("app_pages") / name).read_text()


def test_the_landing_page_of_the_profiles_app_passes():
    run = JourneyRun(_ctx(), 1)
    run.http = LandingSession(200, _page("lab.html"), "http://127.0.0.1:1/user/load-001/lab")
    run.landing(time.monotonic() + 5)


@pytest.mark.parametrize(("page", "answered"), [("marimo.html", "marimo"), ("vscode.html", "vscode"),
                                                ("jupyter-server-404.html", "no known app")])
def test_a_200_landing_page_of_another_app_fails(page, answered):
    """HTTP 200 is not enough: the Lab profile's default URL must answer with JupyterLab."""
    run = JourneyRun(_ctx(), 1)
    run.http = LandingSession(200, _page(page), "http://127.0.0.1:1/user/load-001/lab")
    with pytest.raises(PhaseFailed, match=f"HTTP 200 at .*/user/load-001/lab, but {answered} answered there, "
                                          "not lab"):
        run.phase("landing", 5, run.landing)
    assert run.record["phases"][-1]["category"] == "app"
