#!/bin/sh
# The proxy's start: a self-signed certificate and key are generated into $TLS_DIR when the operator
# mounted none (kept in the volume, so the same pair is served after a restart), then the site config
# is rendered from its template and nginx runs in the foreground.
set -eu
TLS_DIR=${TLS_DIR:-/etc/nginx/tls}
TLS_HOSTNAME=${TLS_HOSTNAME:-localhost}
HTTPS_PORT=${HTTPS_PORT:-443}

if [ ! -s "$TLS_DIR/tls.crt" ] || [ ! -s "$TLS_DIR/tls.key" ]; then
    echo "proxy: no certificate in $TLS_DIR: generating a self-signed pair for $TLS_HOSTNAME"
    umask 077
    openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 825 \
        -subj "/CN=$TLS_HOSTNAME" \
        -addext "subjectAltName=DNS:$TLS_HOSTNAME,DNS:localhost,IP:127.0.0.1" \
        -keyout "$TLS_DIR/tls.key" -out "$TLS_DIR/tls.crt" 2>/dev/null
    chmod 644 "$TLS_DIR/tls.crt"
fi

sed "s/@HTTPS_PORT@/$HTTPS_PORT/g" /etc/nginx/templates/jupyterhub.conf.template > /etc/nginx/conf.d/jupyterhub.conf
exec nginx -g "daemon off;"
