#!/usr/bin/env bash
# The PostgreSQL image the testcontainers strategy runs, built here (no registry is reachable): Debian's
# postgresql-15 in a minimal root made by debootstrap from the mirror apt already uses, imported as
# paraseg-postgres:<hash of this recipe>.  Built once; kept by the engine; rebuilt when this file changes.
#   DOCKER_HOST=... scripts/containers/postgres_image.sh     prints the image's tag
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
TAG="paraseg-postgres:$(cat "$0" "$HERE/debian_mirror.py" | sha256sum | cut -c1-12)"
say() { echo "[containers] $*" >&2; }
if docker image inspect "$TAG" >/dev/null 2>&1; then echo "$TAG"; exit 0; fi
command -v debootstrap >/dev/null || { say "no debootstrap (apt-get install -y debootstrap)"; exit 1; }
# The Debian archive apt already uses here (the repository names none); a machine without one says so and stops.
MIRROR=$(python3 "$HERE/debian_mirror.py" bookworm main) || { say "cannot build $TAG: no Debian archive to bootstrap from"; exit 1; }
ROOTFS=$(mktemp -d /tmp/paraseg-pg-rootfs-XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
started=$(date +%s)
say "building $TAG from $MIRROR (debootstrap, about a minute)"
debootstrap --variant=minbase --include=postgresql-15 bookworm "$ROOTFS" "$MIRROR" >/dev/null
tar -C "$ROOTFS" -c . | docker import -c 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'LABEL org.paraseg.recipe=scripts/containers/postgres_image.sh' - "$TAG" >/dev/null
say "built $TAG in $(( $(date +%s) - started )) s"
echo "$TAG"
