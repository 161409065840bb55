#!/bin/sh
# Health check: PostgreSQL accepts connections to the hub's database.
set -eu
# shellcheck source=db-env.sh  # beside this script here; the Dockerfile installs both in the image
. /usr/local/lib/db-env.sh
exec pg_isready -q -h "$SOCKET_DIR" -d "$POSTGRES_DB" -U "$POSTGRES_USER"
