"""Phase 3: Resource Profiles Configuration - the hub offers the specification's six profiles (and an
overlay's, --expect-extra), and each, started, runs its image with its CPU and memory limits, lands on its app,
and its Python imports what the expected state lists for it."""
import pytest

from acceptance.tests.flows import parametrize_over_profiles

pytestmark = pytest.mark.p3
pytest_generate_tests = parametrize_over_profiles   # `profile`: each expected profile


def test_the_hub_offers_exactly_the_specified_profiles(offered_profiles, expected, evidence):
    """The hub's spawn form offers the six profiles of the specification (and an overlay's), no more and no
    fewer."""
    offered = list(offered_profiles)
    evidence.fact("offered", " | ".join(offered))
    missing = [p.name for p in expected.profiles if p.name not in offered]
    unexpected = [n for n in offered if n not in {p.name for p in expected.profiles}]
    assert not missing and not unexpected, f"missing profiles {missing}; profiles not in the specification " \
                                           f"{unexpected}"


def test_profile_lands_on_its_app(profile_survey, profile, evidence):
    """The profile's server lands on its path, where its app answers."""
    run = profile_survey[profile.name].require()
    evidence.fact("landed on", f"{run.landed_on} (HTTP {run.landing_status}, {run.app or 'no known app'})")
    evidence.fact("spawn time", f"{run.spawn_seconds:.1f} s")
    wrong = []
    if run.landed_on != profile.lands_on or run.landing_status != 200:
        wrong.append(f"lands on {run.landed_on} (HTTP {run.landing_status}), the specification says "
                     f"{profile.lands_on}")
    if run.app != profile.app:
        wrong.append(f"{run.app or 'no known app'} answers there, the specification says {profile.app}")
    assert not wrong, f"{profile.name}: " + "; ".join(wrong)


def test_profile_runs_its_image_with_its_limits(profile_survey, profile, expected, evidence):
    """The profile's server runs the specified image with its CPU and memory limits (docker inspect)."""
    run = profile_survey[profile.name].require(container=True)
    evidence.fact("container", f"{run.container}: {run.image}, Memory={run.memory}, "
                               f"CpuQuota={run.cpu_quota}/{run.cpu_period}, NanoCpus={run.nano_cpus}")
    cpus = expected.cpu_limit(profile, run.node_cores)
    if cpus != profile.cpus:
        evidence.fact("CPU limit expected", f"{cpus:g}: the specification's {profile.cpus:g} capped at the node's "
                                            f"{run.node_cores} cores (see the stack's differences)")
    wrong = []
    if run.image != profile.image:
        wrong.append(f"runs {run.image}, the specification says {profile.image}")
    if run.memory != profile.mem_bytes:
        wrong.append(f"memory limit {run.memory} bytes, the specification says {profile.memory} "
                     f"({profile.mem_bytes} bytes)")
    if run.nano_cpus:   # a swarm service's limit
        if run.nano_cpus != int(cpus * 1e9):
            wrong.append(f"CPU limit {run.nano_cpus / 1e9:g} CPUs (NanoCpus), expected {cpus:g}")
    elif (run.cpu_quota, run.cpu_period) != (int(cpus * 100_000), 100_000):
        wrong.append(f"CPU limit {run.cpu_quota}/{run.cpu_period} (quota/period), the specification says "
                     f"{cpus:g} CPUs ({int(cpus * 100_000)}/100000)")
    assert not wrong, f"{profile.name}: " + "; ".join(wrong)


def test_profile_python_imports_its_packages(profile_survey, profile, evidence):
    """In the profile's running server (docker exec, as its user, with its environment), the Python its kernel
    runs imports every module the expected state lists for the profile (an overlay's `imports`) and its PATH
    holds every command listed (`commands`). The specification's six list none: their check shows the
    server's Python runs and which interpreter the kernel starts."""
    run = profile_survey[profile.name].require(container=True)
    assert run.python is not None, f"{profile.name}: {run.python_error}"
    found = run.python
    evidence.fact("python", f"{found['python']} ({found['version']}); the python3 kernel runs {found['kernel']}")
    for name, got in found["imports"].items():
        evidence.fact(f"import {name}", f"{got.get('version') or 'ok'} ({got['file']})" if got["ok"] else got["error"])
    for name, where in found["commands"].items():
        evidence.fact(f"command {name}", where or "not on PATH")
    if not profile.imports and not profile.commands:
        evidence.fact("expected", "no imports or commands listed for this profile")
    wrong = [f"cannot import {name} ({got['error']})" for name, got in found["imports"].items() if not got["ok"]]
    wrong += [f"{name} is not on PATH" for name, where in found["commands"].items() if not where]
    assert not wrong, f"{profile.name} ({profile.image}): " + "; ".join(wrong)
