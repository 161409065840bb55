"""One simulated user's journey: what is JupyterHub-specific, written with sync libraries that gevent makes
cooperative when Locust runs it (acceptance/load/users.py): the signup and login forms with their _xsrf
(requests; the forms, routes and token request are the harness's, acceptance/client/hub_protocol.py), the
spawn's progress event stream, the landing page, the kernel over its websocket
(websocket-client). Every phase is recorded and handed to `fire` (Locust's request event: request type =
phase, name = profile key). This module does not import Locust."""
from __future__ import annotations

import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import requests
import websocket

from acceptance.client import hub_protocol as hub
from acceptance.client.app_signatures import app_of
from acceptance.load.scenario import Scenario
from acceptance.load.stats import classify


class PhaseFailed(Exception):
    def __init__(self, message: str, status: int | None = None, timed_out: bool = False, final_path: str = ""):
        super().__init__(message)
        self.status, self.timed_out, self.final_path = status, timed_out, final_path


@dataclass
class RunContext:
    """What the users of one run (or one step) share."""
    hub_url: str
    scenario: Scenario
    users: int
    plan: list[str]                       # profile key per user
    profiles: dict[str, dict]             # key -> {default_url, app}
    user_prefix: str                      # user names: <prefix>NNN
    t0: float
    step: int | None = None
    records: list[dict] = field(default_factory=list)
    started: list[str] = field(default_factory=list)   # every user name handed out (the run deletes them)
    _next: itertools.count = field(default_factory=lambda: itertools.count(1))

    def next_index(self) -> int | None:
        i = next(self._next)
        return i if i <= self.users else None

    def now(self) -> float:
        return time.monotonic() - self.t0


class JourneyRun:
    """Sign up and log in, start the server, open the landing page, start a kernel and run code, stay, stop."""

    def __init__(self, ctx: RunContext, index: int, fire=None):
        self.ctx, self.fire = ctx, fire
        self.name = f"{ctx.user_prefix}{index:03d}"
        self.profile = ctx.plan[index - 1]
        self.timeouts = ctx.scenario.timeouts
        self.password = uuid.uuid4().hex
        self.http = requests.Session()
        self.token = ""
        self.record = {"user": self.name, "profile": self.profile, "app": ctx.profiles[self.profile]["app"],
                       "step": ctx.step, "arrived": round(ctx.now(), 3), "phases": [], "retries_429": 0,
                       "completed": False}
        ctx.started.append(self.name)

    # --- HTTP with the hub's 429 honoured --------------------------------------------------------------
    def call(self, method: str, path: str, deadline: float, expect: tuple[int, ...], **kw) -> requests.Response:
        """One request; a 429 is waited out (Retry-After, within the phase's deadline) and counted, not failed."""
        kw.setdefault("timeout", self.timeouts["http"])
        kw.setdefault("allow_redirects", False)
        while True:
            r = self.http.request(method, f"{self.ctx.hub_url}{path}", **kw)
            if r.status_code != 429:
                break
            self.record["retries_429"] += 1
            wait = float(r.headers.get("Retry-After") or 1)
            if time.monotonic() + wait > deadline:
                raise PhaseFailed(f"{method} {path}: HTTP 429, Retry-After {wait:.0f}s is past the phase's deadline",
                                  status=429, timed_out=True)
            time.sleep(wait)   # the hub asked for this pause
        if r.status_code not in expect:
            raise PhaseFailed(f"{method} {path}: HTTP {r.status_code} {r.text[:200]!r}", status=r.status_code)
        return r

    def _xsrf(self) -> str:
        return hub.xsrf_from_cookies(self.http.cookies, self.ctx.hub_url)

    def _auth(self) -> dict:
        return {"Authorization": f"token {self.token}"}

    # --- phases ---------------------------------------------------------------------------------------
    def login(self, deadline: float) -> None:
        """Sign up (any HTTP 200 will do: a refusal shows at the login), log in, and take an API token."""
        self.call("GET", hub.SIGNUP, deadline, (200,))
        self.call("POST", hub.SIGNUP, deadline, (200,), data=hub.signup_form(self.name, self.password, self._xsrf()))
        self.call("GET", hub.LOGIN, deadline, (200,))
        r = self.http.post(f"{self.ctx.hub_url}{hub.LOGIN}", allow_redirects=False, timeout=self.timeouts["http"],
                           data=hub.login_form(self.name, self.password, self._xsrf()))
        if not hub.login_accepted(r.status_code):
            raise PhaseFailed(f"login as {self.name}: HTTP {r.status_code} (no redirect: refused)", r.status_code)
        r = self.call("POST", hub.tokens_path(self.name), deadline, (200, 201),
                      json=hub.token_request("load"), headers={hub.XSRF_HEADER: self._xsrf()})
        self.token = hub.token_of(r.json())

    def spawn(self, deadline: float) -> None:
        base = hub.server_path(self.name)
        self.call("POST", base, deadline, (201, 202), json={"profile": self.profile}, headers=self._auth())
        last = ""
        while time.monotonic() < deadline:
            try:
                with self.http.get(f"{self.ctx.hub_url}{base}/progress", headers=self._auth(), stream=True,
                                   timeout=(self.timeouts["http"], max(1.0, deadline - time.monotonic()))) as r:
                    for line in r.iter_lines(decode_unicode=True):
                        if not line or not line.startswith("data:"):
                            continue
                        event = json.loads(line[5:])
                        last = event.get("message", last)
                        if event.get("ready"):
                            return
                        if event.get("failed"):
                            raise PhaseFailed(f"spawn failed: {last}")
                        if time.monotonic() >= deadline:
                            break
            except requests.exceptions.ReadTimeout:
                break
            model = self.call("GET", hub.user_path(self.name), deadline, (200,),
                              headers=self._auth()).json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                return
            if not server:
                raise PhaseFailed(f"spawn failed: the hub dropped the server (last progress: {last!r})")
            time.sleep(0.5)   # the progress stream ended early; poll again (bounded by the deadline)
        raise PhaseFailed(f"server not ready within {self.timeouts['spawn']:.0f}s (last progress: {last!r})",
                          timed_out=True)

    def landing(self, deadline: float) -> None:
        """The profile's default URL answers 200 (redirects followed) and the profile's app answers there (the
        harness's app detection: acceptance/client/app_signatures.py)."""
        profile = self.ctx.profiles[self.profile]
        url = f"/user/{quote(self.name)}{profile['default_url']}"
        r = self.http.get(f"{self.ctx.hub_url}{url}", headers=self._auth(), allow_redirects=True,
                          timeout=max(1.0, min(self.timeouts["http"], deadline - time.monotonic())))
        final_path = requests.utils.urlparse(r.url).path
        if r.status_code != 200:
            raise PhaseFailed(f"GET {url}: HTTP {r.status_code}, ended at {r.url}", r.status_code,
                              final_path=final_path)
        app = app_of(r.text)
        if app != profile["app"]:
            raise PhaseFailed(f"GET {url}: HTTP 200 at {r.url}, but {app or 'no known app'} answered there, not "
                              f"{profile['app']}", r.status_code, final_path=final_path)

    def kernel_start(self, deadline: float) -> str:
        r = self.call("POST", f"/user/{quote(self.name)}/api/kernels", deadline, (201,), json={},
                      headers=self._auth())
        return r.json()["id"]

    def first_result(self, deadline: float, kernel: str) -> None:
        ws_url = self.ctx.hub_url.replace("http", "ws", 1) + f"/user/{quote(self.name)}/api/kernels/{kernel}/channels"
        ws = websocket.create_connection(ws_url, header=[f"Authorization: token {self.token}"],
                                         timeout=max(1.0, deadline - time.monotonic()))
        try:
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "username": self.name, "session": uuid.uuid4().hex,
                           "msg_type": "execute_request", "version": "5.3", "date": datetime.now(UTC).isoformat()},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": self.ctx.scenario.journey.code, "silent": False, "store_history": False,
                            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PhaseFailed(f"no result within {self.timeouts['kernel']:.0f}s", timed_out=True)
                ws.settimeout(remaining)
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg.get("msg_type"), msg.get("content", {})
                if kind == "error":
                    raise PhaseFailed(f"the kernel raised {content.get('ename')}: {content.get('evalue')}")
                if kind == "execute_result":
                    got = content.get("data", {}).get("text/plain")
                    if got != self.ctx.scenario.journey.expect:
                        raise PhaseFailed(f"{self.ctx.scenario.journey.code!r} gave {got!r}, "
                                          f"expected {self.ctx.scenario.journey.expect!r}")
                    return
        except websocket.WebSocketTimeoutException as exc:
            raise PhaseFailed(f"no result within {self.timeouts['kernel']:.0f}s", timed_out=True) from exc
        finally:
            ws.close()

    def stop(self, deadline: float) -> None:
        self.call("DELETE", hub.server_path(self.name), deadline, (202, 204), headers=self._auth())
        while time.monotonic() < deadline:
            model = self.call("GET", hub.user_path(self.name), deadline, (200,),
                              headers=self._auth()).json()
            if "" not in model.get("servers", {}):
                return
            time.sleep(0.5)
        raise PhaseFailed(f"server not stopped within {self.timeouts['stop']:.0f}s", timed_out=True)

    # --- the journey ----------------------------------------------------------------------------------
    def phase(self, name: str, timeout: float, fn, *args):
        start = time.monotonic()
        entry = {"phase": name, "start": round(start - self.ctx.t0, 3), "seconds": None, "ok": False,
                 "error": "", "category": ""}
        self.record["phases"].append(entry)
        exc: Exception | None = None
        try:
            result = fn(start + timeout, *args)
            entry["ok"] = True
            return result
        except PhaseFailed as e:
            exc = e
            entry["category"] = classify(name, e.status, e.timed_out, e.final_path)
            raise
        except Exception as e:  # noqa: BLE001 - connection errors etc.: a failure of this phase
            exc = e
            entry["category"] = classify(name, None, isinstance(e, requests.exceptions.Timeout))
            raise PhaseFailed(f"{type(e).__name__}: {e}") from e
        finally:
            entry["seconds"] = round(time.monotonic() - start, 3)
            if not entry["ok"] and exc is None:   # interrupted: the run's time limit
                exc = RuntimeError("cut short by the run's time limit")
                entry["category"] = "cut short"
            entry["error"] = "" if exc is None else str(exc)[:500]
            if self.fire is not None:
                self.fire(request_type=name, name=self.profile, response_time=entry["seconds"] * 1000,
                          response_length=0, exception=exc, context={"user": self.name})

    def run(self) -> dict:
        t = self.timeouts
        try:
            self.phase("login", t["http"] * 4, self.login)
            self.phase("spawn", t["spawn"], self.spawn)
            try:
                self.phase("landing", t["http"], self.landing)
                kernel = self.phase("kernel_start", t["kernel"], self.kernel_start)
                self.phase("first_result", t["kernel"], self.first_result, kernel)
                time.sleep(self.ctx.scenario.journey.stay_seconds)   # the user's think time: the scenario
            except PhaseFailed:
                self.phase("stop", t["stop"], self.stop)   # also after a failure: the server is stopped
                raise
            self.phase("stop", t["stop"], self.stop)
            self.record["completed"] = True
        except PhaseFailed:
            pass
        except BaseException:   # GreenletExit: the run's time limit stopped this user (the run cleans up)
            self.record["cut_short"] = True
            raise
        finally:
            self.record["ended"] = round(self.ctx.now(), 3)
            self.http.close()
            self.ctx.records.append(self.record)
        return self.record
