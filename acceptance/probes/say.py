"""In a user's server: write each argument as a line on its main process's stdout (/proc/1/fd/1), as the server
itself would log it."""
import sys

with open("/proc/1/fd/1", "w") as out:
    out.write("".join(line + "\n" for line in sys.argv[1:]))
