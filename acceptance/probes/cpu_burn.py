"""In a user container: keep $BURNERS processes busy for a fixed window and print the CPUs the
container's cgroup got over it (CPU seconds per second)."""
import multiprocessing as mp
import os
import time

WINDOW_S = 3.0


def usage() -> float:
    """CPU seconds the container's cgroup used so far (cgroup v2, else v1)."""
    for path in ("/sys/fs/cgroup/cpu.stat", "/sys/fs/cgroup/cpuacct/cpuacct.usage",
                 "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage"):
        if os.path.exists(path):
            text = open(path).read()
            if path.endswith("cpu.stat"):
                return int(dict(line.split() for line in text.splitlines())["usage_usec"]) / 1e6
            return int(text) / 1e9
    raise SystemExit("no cgroup CPU accounting file found")


def burn(end: float) -> None:
    while time.monotonic() < end:
        pass


if __name__ == "__main__":
    start_usage, start = usage(), time.monotonic()
    procs = [mp.Process(target=burn, args=(start + WINDOW_S,)) for _ in range(int(os.environ["BURNERS"]))]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    print((usage() - start_usage) / (time.monotonic() - start))
