#!/usr/bin/env bash
# Restore the production stack's hub database from a backup.sh dump: bash stack/production/restore.sh FILE
# The hub is stopped meanwhile and started again after; the restore is one transaction (all or nothing).
# Into a fresh database: `docker compose up -d db` first (an empty db volume is initialised on start).
# `restore.sh FILE DATABASE` restores into another database of the same server (created when missing),
# leaving the hub alone: to look at a backup without touching the live one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
file=${1:?usage: restore.sh FILE [DATABASE]}
compose=(docker compose -f "$here/docker-compose.yml")
if [ $# -ge 2 ]; then
    "${compose[@]}" exec -T db db-restore "$2" < "$file"
    echo "restore: $file -> database $2"
    exit 0
fi
"${compose[@]}" stop hub
"${compose[@]}" exec -T db db-restore < "$file"
"${compose[@]}" start hub
echo "restore: $file -> the hub's database; hub started"
