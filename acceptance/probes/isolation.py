"""In a user's container: print "name = value" lines for what isolates it: uid, NoNewPrivs and CapEff (from
/proc/self/status), whether a Docker socket or DOCKER_HOST is there, whether the Docker API ports (2375, 2376)
answer on each host argv[2:], and the files anywhere under / named as one of the JSON list argv[1] (the hub's
state)."""
import json
import os
import socket
import sys

hub_state_files = json.loads(sys.argv[1])
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
print("uid =", os.getuid())
print("NoNewPrivs =", status["NoNewPrivs"].strip())
print("CapEff =", status["CapEff"].strip())
print("docker.sock =", any(os.path.exists(p) for p in ("/var/run/docker.sock", "/run/docker.sock")))
print("DOCKER_HOST =", bool(os.environ.get("DOCKER_HOST")))
for host in sys.argv[2:]:
    for port in (2375, 2376):
        s = socket.socket()
        s.settimeout(3)
        print(f"tcp {host}:{port} =", s.connect_ex((host, port)) == 0)
        s.close()
found = [os.path.join(d, f) for d, _, fs in os.walk("/") for f in fs if f in hub_state_files]
print("hub state files =", found)
