"""Test 2: Profile Dropdown."""
import pytest

from acceptance.pages import HomePage
from acceptance.settings import profiles

pytestmark = pytest.mark.t2


def test_spawn_form_lists_exactly_the_six_profiles(admin_page, servers, evidence):
    """"Start My Server" shows a dropdown with exactly the profiles of stack/profiles.yaml."""
    if servers.api.server("admin", ""):
        servers.stop("admin", "")
    form = HomePage(admin_page).open().start_my_server()
    names = form.profile_names()
    evidence.screenshot(admin_page, "spawn form")
    evidence.fact("dropdown", " | ".join(names))
    assert names == [p.name for p in profiles()]
