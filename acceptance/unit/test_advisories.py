"""R6's judgement of a redirect (GHSA-3vff-hjqv-m7h8): where a browser would go for a Location header."""
import pytest

from acceptance.tests.test_r6_advisories import stays_on_hub

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
