"""In a container: try a TCP connection to host argv[1], port argv[2] (3 s); print "connected", or the name of
the error (TimeoutError, ConnectionRefusedError, gaierror, ...)."""
import socket
import sys

try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
    print("connected")
except OSError as e:
    print(type(e).__name__)
