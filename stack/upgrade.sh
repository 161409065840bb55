#!/usr/bin/env bash
# Upgrade the compose stack in place to this checkout's release, and roll it back (docs/upgrading.md).
# `nox -s upgrade` runs these same commands, so the procedure below is the one that is tested.
#
#   bash stack/upgrade.sh all DIR        # the upgrade: backup DIR, migrate, start (in that order)
#   bash stack/upgrade.sh backup DIR     # stop the hub; copy its volume (database, cookie secret, proxy token) to
#                                        # DIR/hub-data.tar and note the hub's image and volume in DIR (hub left stopped);
#                                        # with a PostgreSQL `db` service (stack/production/), its dump to DIR/hub-db.sql
#   bash stack/upgrade.sh migrate        # `jupyterhub upgrade-db` with the new hub image, in a one-off container
#                                        # (the hub stopped): JupyterHub's alembic migration of its database
#   bash stack/upgrade.sh start          # recreate the stack with the new images and config; user servers keep running
#   bash stack/upgrade.sh rollback DIR   # stop the hub, put DIR's copy (and dump) back, start the image noted in DIR
#
# Environment: the same as `docker compose` for the stack (COMPOSE_PROJECT_NAME, NAME_PREFIX, stack/.env ...);
# HUB_IMAGE is the new hub image (default local/jupyterhub-hub:latest); COMPOSE_FILE the compose file (default:
# this folder's; stack/production/docker-compose.yml for the production stack; for `rollback`, give the old
# release's when its compose file differed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export COMPOSE_FILE=${COMPOSE_FILE:-$here/docker-compose.yml}
hub="${NAME_PREFIX:-}jupyterhub-hub"
config=/etc/jupyterhub/jupyterhub_config.py

usage() { sed -n '5,12p' "$0" >&2; exit 2; }

has_db() {   # the production stack: the hub's database is PostgreSQL in the `db` service
    # not `config | grep -q`: grep's early exit can end compose with SIGPIPE, and under pipefail the database was
    # then taken for absent (not dumped, not restored: a production rollback met the new schema)
    local services
    services=$(docker compose config --services) || { echo "upgrade.sh: docker compose config failed" >&2; exit 1; }
    grep -qx db <<< "$services"
}

hub_volume() {   # the named volume mounted at /srv/jupyterhub in the hub container
    docker inspect -f '{{range .Mounts}}{{if eq .Destination "/srv/jupyterhub"}}{{.Name}}{{end}}{{end}}' "$hub"
}

backup() {
    local dir=$1
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    docker compose stop hub
    local image volume
    image=$(docker inspect -f '{{.Config.Image}}' "$hub")
    volume=$(hub_volume)
    [ -n "$volume" ] || { echo "upgrade.sh: $hub has no volume at /srv/jupyterhub" >&2; exit 1; }
    docker run --rm --network none -v "$volume:/srv/jupyterhub:ro" -v "$dir:/backup" --entrypoint tar "$image" \
        -C /srv/jupyterhub -cf /backup/hub-data.tar .
    if has_db; then   # pg_dump in the db container (stack/production/backup.sh's command), the hub stopped
        docker compose exec -T db db-backup > "$dir/hub-db.sql.partial"
        mv "$dir/hub-db.sql.partial" "$dir/hub-db.sql"
        echo "backup: database -> $dir/hub-db.sql ($(wc -c < "$dir/hub-db.sql") bytes)"
    fi
    echo "$image" > "$dir/hub-image"
    echo "$volume" > "$dir/hub-volume"
    echo "backup: volume $volume -> $dir/hub-data.tar ($(wc -c < "$dir/hub-data.tar") bytes); hub image $image; hub stopped"
}

migrate() {
    echo "migrate: jupyterhub upgrade-db with ${HUB_IMAGE:-local/jupyterhub-hub:latest}"
    # without --no-deps: a service the new release's hub depends on (and adds) is started first
    docker compose run --rm -T hub jupyterhub upgrade-db -f "$config"
}

start() {
    # the hub recreated with the new image and config (services it depends on created if new, recreated only if
    # their definition changed), then every other service of the release likewise
    docker compose up -d --force-recreate hub
    docker compose up -d
    echo "start: stack recreated, hub ${HUB_IMAGE:-local/jupyterhub-hub:latest}; follow it with: docker compose logs hub -f"
}

rollback() {
    local dir
    dir=$(cd "$1" && pwd)
    local image volume
    image=$(cat "$dir/hub-image")
    volume=$(cat "$dir/hub-volume")
    docker compose stop hub || true
    docker run --rm --network none -v "$volume:/srv/jupyterhub" -v "$dir:/backup:ro" --entrypoint sh "$image" \
        -c 'find /srv/jupyterhub -mindepth 1 -delete && tar -C /srv/jupyterhub -xf /backup/hub-data.tar'
    if [ -f "$dir/hub-db.sql" ]; then   # the dump drops and recreates what it holds, in one transaction
        docker compose up -d db
        docker compose exec -T db db-restore < "$dir/hub-db.sql"
        echo "rollback: $dir/hub-db.sql -> the hub's database"
    fi
    # the old release's stack as it was: services only the new release has are removed (user servers are not
    # compose's: they stay)
    HUB_IMAGE=$image docker compose up -d --force-recreate hub
    HUB_IMAGE=$image docker compose up -d --remove-orphans
    echo "rollback: $dir/hub-data.tar -> volume $volume; hub started with $image"
}

case ${1:-} in
    all) [ $# -eq 2 ] || usage; backup "$2"; migrate; start ;;
    backup) [ $# -eq 2 ] || usage; backup "$2" ;;
    migrate) migrate ;;
    start) start ;;
    rollback) [ $# -eq 2 ] || usage; rollback "$2" ;;
    *) usage ;;
esac
