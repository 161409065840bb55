#!/bin/sh
# db-restore [DATABASE]: restore an SQL dump (db-backup's) from stdin into the hub's database (or
# DATABASE, created when missing), in one transaction: all or nothing.
set -eu
# shellcheck source=db-env.sh  # beside this script here; the Dockerfile installs both in the image
. /usr/local/lib/db-env.sh
db=${1:-$POSTGRES_DB}
if ! psql -h "$SOCKET_DIR" -U "$POSTGRES_USER" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" \
        | grep -q 1; then
    createdb -h "$SOCKET_DIR" -U "$POSTGRES_USER" -O "$POSTGRES_USER" "$db"
fi
exec psql -h "$SOCKET_DIR" -U "$POSTGRES_USER" -d "$db" -q -o /dev/null -v ON_ERROR_STOP=1 --single-transaction
