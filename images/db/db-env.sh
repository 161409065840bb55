# shellcheck shell=sh
# The database's settings and their defaults, read by every script of this image (sourced).
POSTGRES_USER=${POSTGRES_USER:-jupyterhub}
POSTGRES_DB=${POSTGRES_DB:-jupyterhub}
POSTGRES_PASSWORD_FILE=${POSTGRES_PASSWORD_FILE:-/run/postgresql-secret/password}
SOCKET_DIR=/var/run/postgresql
export POSTGRES_USER POSTGRES_DB POSTGRES_PASSWORD_FILE SOCKET_DIR
