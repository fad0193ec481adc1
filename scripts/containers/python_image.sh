#!/usr/bin/env bash
# The image the system's own processes run in when a feature puts them in containers: Debian's Python 3.11 in
# a minimal root made by debootstrap (no registry needed), imported as paraseg-python:<hash of this recipe>.
# Nothing of the project is in it: the checkout and its virtualenv are mounted read-only when a container
# starts, so no package is downloaded into the image.  Built once; kept; rebuilt when this file changes.
#   DOCKER_HOST=... scripts/containers/python_image.sh     prints the image's tag
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
TAG="paraseg-python:$(cat "$0" "$HERE/debian_mirror.py" | sha256sum | cut -c1-12)"
say() { echo "[containers] $*" >&2; }
if docker image inspect "$TAG" >/dev/null 2>&1; then echo "$TAG"; exit 0; fi
command -v debootstrap >/dev/null || { say "no debootstrap (apt-get install -y debootstrap)"; exit 1; }
# The Debian archive apt already uses here (the repository names none); a machine without one says so and stops.
MIRROR=$(python3 "$HERE/debian_mirror.py" bookworm main) || { say "cannot build $TAG: no Debian archive to bootstrap from"; exit 1; }
ROOTFS=$(mktemp -d /tmp/paraseg-py-rootfs-XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
started=$(date +%s)
say "building $TAG from $MIRROR (debootstrap, about a minute)"
debootstrap --variant=minbase --include=python3.11 bookworm "$ROOTFS" "$MIRROR" >/dev/null
tar -C "$ROOTFS" -c . | docker import -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'LABEL org.paraseg.recipe=scripts/containers/python_image.sh' - "$TAG" >/dev/null
say "built $TAG in $(( $(date +%s) - started )) s"
echo "$TAG"
