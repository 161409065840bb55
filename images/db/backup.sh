#!/bin/sh
# db-backup [DATABASE]: an SQL dump of the hub's database (or DATABASE) on stdout, restorable into an
# existing or a fresh database (it drops what it recreates).
set -eu
# shellcheck source=db-env.sh  # beside this script here; the Dockerfile installs both in the image
. /usr/local/lib/db-env.sh
exec pg_dump -h "$SOCKET_DIR" -U "$POSTGRES_USER" --clean --if-exists --no-owner -d "${1:-$POSTGRES_DB}"
