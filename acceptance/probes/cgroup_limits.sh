#!/bin/sh
# In a user container: its memory limit, then its CPU quota (cgroup v2, else v1), one a line.
if [ -f /sys/fs/cgroup/memory.max ]; then
    cat /sys/fs/cgroup/memory.max
    cut -d' ' -f1 /sys/fs/cgroup/cpu.max
else
    cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us
fi
