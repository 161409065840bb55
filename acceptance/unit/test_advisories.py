"""R6's judgements: of a redirect (GHSA-3vff-hjqv-m7h8), where a browser would go for a Location header; of the
hub's log after a failed login with a megabyte username (GHSA-p43p-whwx-q52h)."""
import pytest

from acceptance.tests.test_r6_advisories import failed_login_log_problem, stays_on_hub

HUB = "http://127.0.0.1:8000"


@pytest.mark.parametrize("location", ["//evil.example/", "///evil.example/", "\\\\evil.example/", "/\\evil.example/",
                                      "\\/evil.example/", "https://evil.example/", "/\t/evil.example/",
                                      " //evil.example", "http://127.0.0.1:8000@evil.example/"])
def test_a_location_to_another_host_is_off_the_hub(location):
    assert not stays_on_hub(location, HUB)


@pytest.mark.parametrize("location", [None, "/hub/spawn", "/%5Cevil.example/", "/evil.example/", "hub/home",
                                      "http://127.0.0.1:8000/hub/home"])
def test_a_location_on_the_hub_stays(location):
    assert stays_on_hub(location, HUB)


MARKER = "r6flood0123abcd"
HUB_LINE = f"[W 2025-11-03 10:00:00.000 JupyterHub base:1041] Failed login for '{MARKER}a...(1000015 chars)'"


@pytest.mark.parametrize("log", ["", "(hub container not found)",
                                 "[I 2025-11-03 JupyterHub log:192] 200 GET /hub/health"])
def test_a_log_without_the_failed_login_fails(log):
    """An empty, missing or unrelated log shows nothing of the login: not a pass."""
    problem = failed_login_log_problem(log, MARKER, 1000)
    assert problem and "names the failed login" in problem


def test_the_failed_login_logged_briefly_passes():
    assert failed_login_log_problem(f"{HUB_LINE}\n[I 403 POST /hub/login (@10.0.0.1) 12.0ms]\n", MARKER, 1000) is None


def test_the_username_logged_in_full_fails():
    problem = failed_login_log_problem(f"[W JupyterHub] Failed login for '{MARKER}{'a' * 1_000_000}'\n", MARKER, 1000)
    assert problem and "more than 1000" in problem


def test_any_long_line_after_the_login_fails():
    assert "more than 1000" in failed_login_log_problem(f"{HUB_LINE}\n{'x' * 1001}\n", MARKER, 1000)
