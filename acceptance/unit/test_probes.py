"""The programs the harness runs inside containers (acceptance/probes/): each one the harness names is there,
and each Python one compiles (they run only against a real platform)."""
import re
from pathlib import Path

import pytest

from acceptance import probes

ACCEPTANCE = Path(probes.__file__).parent.parent
NAMED = sorted({(kind, name) for path in ACCEPTANCE.rglob("*.py") if "unit" not in path.relative_to(ACCEPTANCE).parts
                for kind, name in re.findall(r'probes\.(source|shell)\("(\w+)"\)', path.read_text())})


def test_the_harness_names_probes():
    assert ("shell", "cgroup_limits") in NAMED and ("source", "hub_secrets") in NAMED


@pytest.mark.parametrize(("kind", "name"), NAMED, ids=[f"{k}:{n}" for k, n in NAMED])
def test_each_probe_named_exists(kind, name):
    text = getattr(probes, kind)(name)
    if kind == "source":
        compile(text, name, "exec")
    else:
        assert text.startswith("#!/bin/sh\n")
