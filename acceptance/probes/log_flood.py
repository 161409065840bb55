"""In a user's server: flood its main process's stdout (/proc/1/fd/1) with argv[1] lines "r8 flood <n> <argv[2]>"
(n: 7 digits from 0), then "r8 flood end <argv[3]>"."""
import sys

lines, line, token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open("/proc/1/fd/1", "w") as out:
    for i in range(lines):
        out.write(f"r8 flood {i:07d} {line}\n")
    out.write(f"r8 flood end {token}\n")
