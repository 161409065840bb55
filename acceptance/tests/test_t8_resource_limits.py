"""Test 8: Resource Limits - the kernel holds each profile's container to its CPU and memory limits."""
import pytest

from acceptance import probes
from acceptance.tests.flows import allocate_past_the_memory_limit, parametrize_over_profiles

pytestmark = pytest.mark.t8
pytest_generate_tests = parametrize_over_profiles   # `profile`: each expected profile


def test_the_kernel_enforces_the_profile_limits(profile_survey, profile, expected, evidence):
    """The profile's running container has the specified memory limit and CPU quota in its cgroup."""
    run = profile_survey[profile.name].require(container=True)
    quota = int(expected.cpu_limit(profile, run.node_cores) * 100_000)
    evidence.fact("cgroup", f"memory limit {run.cgroup_memory} bytes, cpu quota {run.cgroup_quota} us per 100 ms")
    assert run.cgroup_memory == profile.mem_bytes, \
        f"{profile.name}: the cgroup memory limit is {run.cgroup_memory} bytes, the specification says " \
        f"{profile.memory} ({profile.mem_bytes} bytes)"
    assert run.cgroup_quota == quota, \
        f"{profile.name}: the cgroup CPU quota is {run.cgroup_quota}, the specification says {profile.cpus:g} " \
        f"CPUs ({quota} on this {run.node_cores}-core host)"


def test_a_process_past_the_memory_limit_is_killed_and_the_hub_stays_healthy(servers, stack, checklist_user,
                                                                             expected, tally, evidence):
    """A process allocating twice the smallest profile's memory is OOM-killed; the server and the hub stay
    up, and the user's next spawn works."""
    profile, user = min(expected.profiles, key=lambda p: p.mem_bytes), checklist_user[0]
    stack.require_docker("a process run in the server's container")
    server = servers.start(user, "limits-oom", profile)
    exit_code = allocate_past_the_memory_limit(server.container, profile)
    tally("faults injected")
    evidence.fact("allocation past the limit", f"{profile.memory} limit, tried {2 * profile.mem_bytes >> 20} MiB: "
                                               f"exit code {exit_code}")
    assert exit_code == 137, f"the allocator was not killed at the {profile.memory} limit (exit {exit_code})"
    assert stack.hub_state() == "running"
    assert servers.api.server(user, "limits-oom")["ready"], "the user's server died with the allocator"
    servers.stop(user, "limits-oom")
    again = servers.start(user, "limits-oom", profile)
    evidence.fact("next spawn", f"ready in {again.spawn_seconds:.1f} s")


def test_cpu_use_is_capped_at_the_profile_quota(servers, stack, checklist_user, expected, evidence):
    """With every host core busy, a container gets no more CPU than its profile. Shown under load for each
    CPU tier below the host's core count; higher tiers cannot be told from the host's own limit, and the
    report says so (their quotas are in the cgroup check)."""
    host_cpus = stack.require_docker("a process run in the server's container").info()["NCPU"]
    by_cpus = {p.cpus: p for p in expected.profiles}  # one profile per CPU tier
    showable = [p for cpus, p in sorted(by_cpus.items()) if cpus < host_cpus]
    not_shown = sorted(cpus for cpus in by_cpus if cpus >= host_cpus)
    evidence.fact("host cores", host_cpus)
    if not_shown:
        evidence.fact("not demonstrated on this host",
                      f"{', '.join(f'{c:g}' for c in not_shown)}-CPU caps: the host has {host_cpus} cores, so a "
                      "container at that cap looks the same as one without it; their quotas are verified in "
                      "the cgroup check only")
    if not showable:
        pytest.skip(f"no CPU tier is below this host's {host_cpus} cores: no cap can be demonstrated")
    for profile in showable:
        name = f"cpu-{profile.id}"
        server = servers.start(checklist_user[0], name, profile)
        result = server.container.exec_run(["python3", "-c", probes.source("cpu_burn")],
                                           environment={"BURNERS": str(host_cpus)})
        assert result.exit_code == 0, result.output.decode()[-500:]
        used = float(result.output.decode().split()[-1])
        evidence.fact(f"demonstrated: {profile.name}", f"{used:.2f} CPUs used with {host_cpus} busy processes")
        assert used <= profile.cpus * 1.15, f"{profile.name} used {used:.2f} CPUs, its cap is {profile.cpus:g}"
        # a floor, so that the cap is shown on a loaded container (a burn that did not run would pass the cap);
        # low, as a busy host leaves the container less than its share
        assert used >= profile.cpus * 0.2, f"{profile.name} got only {used:.2f} CPUs: the burn did not load it"
        servers.stop(checklist_user[0], name)
