"""Test 2: Profile Dropdown."""
import pytest

from acceptance.client.pages import HomePage

pytestmark = pytest.mark.t2


def test_spawn_form_lists_exactly_the_six_profiles(user_page, checklist_user, servers, expected, evidence):
    """"Start My Server" shows a dropdown with exactly the specification's six profiles (order may vary), and an
    overlay's (--expect-extra) when one is given. The check keeps its name (its id is in the required checks)."""
    user = checklist_user[0]
    if servers.api.server(user, ""):
        servers.stop(user, "")
    names = HomePage(user_page).open().start_my_server().profile_names()
    evidence.screenshot(user_page, "spawn form")
    evidence.fact("dropdown", " | ".join(names))
    wanted = [p.name for p in expected.profiles]
    missing = [n for n in wanted if n not in names]
    unexpected = [n for n in names if n not in wanted]
    assert not missing and not unexpected and len(names) == len(wanted), \
        f"the dropdown lacks {missing}, has {unexpected} beyond the specification ({len(names)} entries)"
