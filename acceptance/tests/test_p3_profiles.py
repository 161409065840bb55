"""Phase 3: Resource Profiles - the hub offers exactly the profiles of stack/profiles.yaml."""
import pytest

from acceptance.hub_config import effective_config_in_hub
from acceptance.settings import profiles

pytestmark = pytest.mark.p3


def test_hub_configures_the_six_profiles_with_images_limits_and_urls(stack, evidence):
    """ProfilesSpawner.profiles in the running hub equals profiles.yaml: names, images, CPUs, memory, URLs."""
    cfg = effective_config_in_hub(stack)
    offered = cfg["ProfilesSpawner"]["profiles"]
    actual = [(name, key, child["image"], float(child["cpu_limit"]), child["mem_limit"], child["default_url"])
              for name, key, _cls, child in offered]
    expected = [(p.name, p.key, p.image, p.cpus, p.memory, p.default_url) for p in profiles()]
    for row in actual:
        evidence.fact(row[0], f"{row[2]}, {row[3]:g} CPU, {row[4]}, {row[5]}")
    assert len(expected) == 6
    assert actual == expected
    assert {cls for _n, _k, cls, _c in offered} == {"dockerspawner.DockerSpawner"}
