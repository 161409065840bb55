#!/usr/bin/env bash
# Back up the production stack's hub database: bash stack/production/backup.sh [FILE]
# (default jupyterhub-db-YYYYmmdd-HHMMSS.sql here). An SQL dump made by pg_dump in the db container;
# the stack keeps running. Same environment as `docker compose` (COMPOSE_PROJECT_NAME, .env).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-jupyterhub-db-$(date +%Y%m%d-%H%M%S).sql}
docker compose -f "$here/docker-compose.yml" exec -T db db-backup > "$out.partial"
mv "$out.partial" "$out"
echo "backup: $out ($(wc -c < "$out") bytes)"
