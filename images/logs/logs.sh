#!/bin/sh
# The admin's reader (docker exec <prefix>jupyterhub-logs logs NAME): a container's collected log, oldest line first,
# rotated files included.  logs --list: the names with a log.  logs --settings: the bounds in force.
exec python3 /usr/local/lib/collector.py "$@"
