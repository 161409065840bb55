#!/bin/sh
# The production stack's cloud-metadata block: zero-to-jupyterhub's singleuser.cloudMetadata.blockWithIptables
# adapted to Docker. A rule at the top of the host's DOCKER-USER chain (which Docker's FORWARD chain jumps to
# first) drops every packet that enters from the user network's bridge for the cloud-metadata address.
# Runs in the host's network namespace with NET_ADMIN (stack/production/docker-compose.yml, service firewall).
#
#   firewall-rule run     add the rule and keep running; on stop remove it, unless containers are still on the
#                         bridge (then it stays, protecting them: `remove` it once they are gone)
#   firewall-rule add     add the rule (checked first: never twice)
#   firewall-rule remove  remove the rule (every copy of it); none there is no error
#   firewall-rule check   exit 0 when the rule is there, 1 when not (nor with CLOUD_METADATA_ADDRESS=none)
#   firewall-rule ready   exit 0 when what is configured is in place: the rule, or none (the health check)
#   firewall-rule show    print the rule as `iptables -S` would
#
# USER_BRIDGE             the user network's bridge interface (com.docker.network.bridge.name), required
# CLOUD_METADATA_ADDRESS  the address (or CIDR) to drop; default 169.254.169.254 (the default lives here only);
#                         "none": no rule (the operator blocks it another way)
# IPTABLES                iptables-nft or iptables-legacy; default: the backend whose FORWARD chain jumps to
#                         DOCKER-USER, i.e. the one the host's dockerd uses
# Exit status 2: no backend has Docker's DOCKER-USER chain (Docker manages iptables differently on this host,
# or not at all): the operator must block the address himself (docs/production.md).
set -eu

CHAIN=DOCKER-USER
ADDRESS=${CLOUD_METADATA_ADDRESS:-169.254.169.254}
BRIDGE=${USER_BRIDGE:?must name the bridge interface of the user network}
COMMENT="jupyterhub: no cloud metadata from $BRIDGE"

log() { echo "firewall: $*" >&2; }

backend() {
    if [ -n "${IPTABLES:-}" ]; then
        echo "$IPTABLES"
        return
    fi
    for candidate in iptables-nft iptables-legacy; do
        if "$candidate" -S FORWARD 2>/dev/null | grep -qx -- "-A FORWARD -j $CHAIN"; then
            echo "$candidate"
            return
        fi
    done
    log "neither iptables-nft nor iptables-legacy has a FORWARD chain that jumps to $CHAIN: Docker does not" \
        "manage iptables here as expected; block $ADDRESS from $BRIDGE yourself (docs/production.md)"
    exit 2
}

# rule OP: iptables OP on the rule (-C check, -I insert at the top, -D delete)
rule() {
    "$IPT" "$1" "$CHAIN" -i "$BRIDGE" -d "$ADDRESS" -m comment --comment "$COMMENT" -j DROP
}

present() { rule -C 2>/dev/null; }

add() {
    if present; then
        log "rule already in $CHAIN ($IPT): $BRIDGE -> $ADDRESS dropped"
    else
        rule -I
        log "rule added to $CHAIN ($IPT): $BRIDGE -> $ADDRESS dropped"
    fi
}

remove() {
    removed=0
    while present; do
        rule -D
        removed=$((removed + 1))
    done
    log "rule removed from $CHAIN ($IPT): $removed cop$([ "$removed" = 1 ] && echo y || echo ies)"
}

# the interfaces (containers) still attached to the bridge, if it exists
attached() {
    if [ -d "/sys/class/net/$BRIDGE/brif" ]; then
        ls "/sys/class/net/$BRIDGE/brif"
    fi
}

stop() {
    left=$(attached | tr '\n' ' ')
    if [ -n "$left" ]; then
        log "still on $BRIDGE: $left- the rule stays; remove it with \`firewall-rule remove\` once they are gone"
    else
        remove
    fi
    exit 0
}

# sleep until a signal's trap exits (a foreground sleep would delay the trap until it ends)
idle() {
    while :; do
        sleep 3600 &
        wait $! || true
    done
}

command=${1:-run}
if [ "$ADDRESS" = none ]; then
    case "$command" in
        run)
            log "CLOUD_METADATA_ADDRESS=none: no rule"
            trap 'exit 0' TERM INT
            idle
            ;;
        check) exit 1 ;;
        *) exit 0 ;;
    esac
fi
IPT=$(backend)

case "$command" in
    run)
        add
        trap stop TERM INT
        idle
        ;;
    add) add ;;
    remove) remove ;;
    check | ready) present ;;
    show) "$IPT" -S "$CHAIN" 2>/dev/null | grep -F -- "$COMMENT" || true ;;
    *)
        log "unknown command '$command': run, add, remove, check, ready or show"
        exit 64
        ;;
esac
