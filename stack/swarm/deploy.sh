#!/usr/bin/env bash
# Deploy the platform on Docker Swarm (this host must be a swarm manager: `docker swarm init`).
#   bash stack/swarm/deploy.sh          # deploy or update the stack, publish the hub on 127.0.0.1:8000
#   bash stack/swarm/deploy.sh rm       # remove the stack and the gateway (volumes stay)
# Settings: the environment, as for docker-compose.yml (NAME_PREFIX, HUB_BIND, HUB_PORT, AUTH_MODE, ...);
# STACK_NAME (default jhub-docker) names the stack, and so its hub data volume (STACK_NAME_jupyterhub_data).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
stack="${STACK_NAME:-jhub-docker}"
gateway="${NAME_PREFIX:-}jupyterhub-gateway"

if [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" != "true" ]; then
  echo "deploy.sh: this Docker engine is not a swarm manager; run \`docker swarm init\` first" >&2
  exit 2
fi

docker rm -f "$gateway" >/dev/null 2>&1 || true
if [ "${1:-}" = "rm" ]; then
  docker stack rm "$stack"
  exit 0
fi

# the images are built on this host (nox -s images): never ask a registry for them
docker stack deploy --resolve-image never -c "$here/docker-stack.yml" "$stack"
# a swarm publishes ports on every interface of every node; publish the hub on one address only
docker run -d --name "$gateway" --restart unless-stopped \
  --network "${NAME_PREFIX:-}jupyterhub-net" \
  --label "com.docker.stack.namespace=$stack" \
  -p "${HUB_BIND:-127.0.0.1}:${HUB_PORT:-8000}:8000" \
  -v "$here/gateway.py:/gateway.py:ro" \
  "${HUB_IMAGE:-local/jupyterhub-hub:latest}" python3 /gateway.py hub:8000 >/dev/null
echo "deploy.sh: stack $stack deployed; the hub is published at http://${HUB_BIND:-127.0.0.1}:${HUB_PORT:-8000}/"
