#!/usr/bin/env bash
# A Docker engine for the harness's containers, on a machine without systemd:
#   scripts/containers/engine.sh start | stop | status
# Debian's docker.io, the daemon started by hand with no bridge and no iptables: every container runs with
# the host's network (network_mode=host) and listens on a free loopback port; none gets a bridge or an
# address of its own.  Its socket, state and pid live under /var/lib/paraseg-docker and /run/paraseg-docker.
# `start` is idempotent and prints the DOCKER_HOST to use; nothing here pulls an image.
set -euo pipefail
RUN_DIR=/run/paraseg-docker
DATA_DIR=/var/lib/paraseg-docker
SOCKET="unix://$RUN_DIR/docker.sock"
say() { echo "[containers] $*" >&2; }

answers() { DOCKER_HOST="$SOCKET" timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

case "${1:-status}" in
  start)
    if answers; then echo "$SOCKET"; exit 0; fi
    [ "$(id -u)" = 0 ] || { say "not root: no engine started"; exit 1; }
    command -v dockerd >/dev/null || { say "no dockerd (apt-get install -y docker.io)"; exit 1; }
    mkdir -p "$RUN_DIR" "$DATA_DIR"
    nohup dockerd --data-root "$DATA_DIR/data" --exec-root "$RUN_DIR/exec" -H "$SOCKET" --pidfile "$RUN_DIR/dockerd.pid" \
      --iptables=false --ip-masq=false --bridge=none >"$DATA_DIR/dockerd.log" 2>&1 &
    for _ in $(seq 1 150); do answers && { say "engine started ($SOCKET)"; echo "$SOCKET"; exit 0; }; sleep 0.2; done
    say "the engine did not answer within 30 s; see $DATA_DIR/dockerd.log"; exit 1 ;;
  stop)
    if [ -f "$RUN_DIR/dockerd.pid" ]; then
      pid=$(cat "$RUN_DIR/dockerd.pid"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      say "engine stopped"
    fi ;;
  status)
    if answers; then echo "$SOCKET"; else exit 1; fi ;;
  *) say "usage: $0 start|stop|status"; exit 2 ;;
esac
