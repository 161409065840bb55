#!/bin/sh
# The database's start: on first start (an empty data volume) a cluster is made with the user and
# database the hub uses; the user's password is $POSTGRES_PASSWORD, or one generated into
# $POSTGRES_PASSWORD_FILE (a volume the hub reads it from). Then PostgreSQL runs in the foreground.
# Local (socket) connections inside this container need no password: backup.sh and restore.sh use them.
set -eu
# shellcheck source=db-env.sh  # beside this script here; the Dockerfile installs both in the image
. /usr/local/lib/db-env.sh

if [ ! -s "$POSTGRES_PASSWORD_FILE" ]; then
    umask 077
    if [ -n "${POSTGRES_PASSWORD:-}" ]; then
        printf '%s' "$POSTGRES_PASSWORD" > "$POSTGRES_PASSWORD_FILE"
    else
        echo "db: generating the database password into $POSTGRES_PASSWORD_FILE"
        od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$POSTGRES_PASSWORD_FILE"
    fi
    umask 022
fi
chmod 640 "$POSTGRES_PASSWORD_FILE"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    echo "db: first start: initialising $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
    initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$POSTGRES_PASSWORD_FILE" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" \
        | postgres --single -D "$PGDATA" -j postgres >/dev/null
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories="$SOCKET_DIR"
