"""In a user's server: print the mounts whose mountinfo line holds argv[1] (the log collector's volume: "mounted:
<root> on <mount point>; ..." or "mounted: none"), then, for each host argv[3:], "<host>:<argv[2]> connected" or the
name of the error a TCP connection to it (3 s) ends with."""
import socket
import sys

seen = [line.split()[3] + " on " + line.split()[4] for line in open("/proc/self/mountinfo") if sys.argv[1] in line]
print("mounted: " + ("; ".join(seen) or "none"))
for host in sys.argv[3:]:
    try:
        socket.create_connection((host, int(sys.argv[2])), timeout=3).close()
        print(f"{host}:{sys.argv[2]} connected")
    except OSError as e:
        print(f"{host}:{sys.argv[2]} {type(e).__name__}")
