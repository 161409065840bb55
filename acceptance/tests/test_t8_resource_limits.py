"""Test 8: Resource Limits."""
import pytest

from acceptance.settings import profiles
from acceptance.tests.flows import allocate_past_the_memory_limit

pytestmark = pytest.mark.t8
ALL = profiles()
SMALLEST_MEMORY = min(ALL, key=lambda p: p.mem_bytes)

# cgroup v1 and v2 paths of the limits inside a container
CGROUP_READ = (
    "if [ -f /sys/fs/cgroup/memory.max ]; then cat /sys/fs/cgroup/memory.max; cut -d' ' -f1 /sys/fs/cgroup/cpu.max; "
    "else cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us; fi"
)
# burn every host core for a fixed window and report the CPU time the container's cgroup got
CPU_BURN = r"""
import multiprocessing as mp, os, time
def usage():
    for path in ("/sys/fs/cgroup/cpu.stat", "/sys/fs/cgroup/cpuacct/cpuacct.usage",
                 "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage"):
        if os.path.exists(path):
            text = open(path).read()
            if path.endswith("cpu.stat"):
                return int(dict(l.split() for l in text.splitlines())["usage_usec"]) / 1e6
            return int(text) / 1e9
def burn(end):
    while time.monotonic() < end:
        pass
window = 3.0
start_usage, start = usage(), time.monotonic()
procs = [mp.Process(target=burn, args=(start + window,)) for _ in range(int(os.environ["BURNERS"]))]
[p.start() for p in procs]; [p.join() for p in procs]
print((usage() - start_usage) / (time.monotonic() - start))
"""


@pytest.mark.parametrize("profile", ALL, ids=lambda p: p.key)
def test_running_container_limits_equal_the_profile(servers, profile, evidence):
    """Each profile's container has its CPU quota and memory limit (docker inspect and the cgroup files)."""
    server = servers.start("admin", f"limits-{profile.key}", profile)
    host = server.container.attrs["HostConfig"]
    evidence.fact("docker inspect", f"Memory={host['Memory']} CpuQuota={host['CpuQuota']} "
                                    f"CpuPeriod={host['CpuPeriod']}")
    assert host["Memory"] == profile.mem_bytes, f"memory limit {host['Memory']}, profile says {profile.memory}"
    assert (host["CpuQuota"], host["CpuPeriod"]) == (profile.cpu_quota, 100_000), \
        f"CPU quota {host['CpuQuota']}/{host['CpuPeriod']}, profile says {profile.cpus:g} CPUs"
    result = server.container.exec_run(["sh", "-c", CGROUP_READ])
    memory, quota = result.output.decode().split()
    evidence.fact("cgroup", f"memory limit {memory}, cpu quota {quota}")
    assert (int(memory), int(quota)) == (profile.mem_bytes, profile.cpu_quota)


def test_memory_limit_kills_a_process_past_it_and_the_hub_stays_healthy(servers, stack, evidence):
    """A process allocating past the smallest profile's memory limit is OOM-killed; the hub stays healthy."""
    profile = SMALLEST_MEMORY
    server = servers.start("admin", "limits-oom", profile)
    exit_code = allocate_past_the_memory_limit(server.container, profile)
    evidence.fact("allocation past the limit", f"{profile.memory} limit, tried {2 * profile.mem_bytes >> 20} MiB: "
                                               f"exit code {exit_code}")
    assert exit_code == 137, f"the allocator was not killed (exit {exit_code})"
    assert stack.hub_state() == "running"
    assert servers.api.get("/")["version"]
    assert servers.api.server("admin", "limits-oom")["ready"], "the user's server died with the allocator"


def test_cpu_is_capped_at_the_profile_quota(servers, stack, evidence):
    """With every host core busy, a container gets no more CPU than its profile (where host cores > limit)."""
    host_cpus = stack.docker.info()["NCPU"]
    by_cpus = {p.cpus: p for p in ALL}  # one profile per CPU tier
    showable = [p for cpus, p in sorted(by_cpus.items()) if cpus < host_cpus]
    not_showable = sorted(cpus for cpus in by_cpus if cpus >= host_cpus)
    if not_showable:
        evidence.fact("not shown on this host",
                      f"{', '.join(f'{c:g}' for c in not_showable)}-CPU limits: the host has {host_cpus} cores "
                      "(their quotas are checked in the limits test)")
    if not showable:
        pytest.skip(f"no profile has fewer CPUs than this host's {host_cpus} cores")
    for profile in showable:
        server = servers.start("admin", f"cpu-{profile.key}", profile)
        result = server.container.exec_run(["python3", "-c", CPU_BURN], environment={"BURNERS": str(host_cpus)})
        assert result.exit_code == 0, result.output.decode()[-500:]
        used = float(result.output.decode().split()[-1])
        evidence.fact(f"{profile.name}: CPU used with {host_cpus} busy processes", f"{used:.2f} CPUs")
        assert used <= profile.cpus * 1.15, f"{profile.name} used {used:.2f} CPUs, limit is {profile.cpus:g}"
        assert used >= profile.cpus * 0.5, f"{profile.name} got only {used:.2f} CPUs: the burn did not load it"
        servers.stop("admin", f"cpu-{profile.key}")
