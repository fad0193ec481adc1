#!/usr/bin/env bash
# The image the system's own processes run in when a feature puts them in containers: Debian's Python 3.11 in
# a minimal root made by debootstrap (no registry needed), imported as paraseg-python:<hash of this recipe>.
# Nothing of the project is in it: the checkout and its virtualenv are mounted read-only when a container
# starts, so no package is downloaded into the image.  Built once; kept; rebuilt when this file changes.
#   DOCKER_HOST=... scripts/containers/python_image.sh     prints the image's tag
set -euo pipefail
TAG="paraseg-python:$(sha256sum "$0" | cut -c1-12)"
say() { echo "[containers] $*" >&2; }
if docker image inspect "$TAG" >/dev/null 2>&1; then echo "$TAG"; exit 0; fi
command -v debootstrap >/dev/null || { say "no debootstrap (apt-get install -y debootstrap)"; exit 1; }
MIRROR=$(grep -hoE '^URIs: *http[^ ]*/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | sed 's/^URIs: *//')
MIRROR=${MIRROR:-http://deb.debian.org/debian}
ROOTFS=$(mktemp -d /tmp/paraseg-py-rootfs-XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
started=$(date +%s)
say "building $TAG from $MIRROR (debootstrap, about a minute)"
debootstrap --variant=minbase --include=python3.11 bookworm "$ROOTFS" "$MIRROR" >/dev/null
tar -C "$ROOTFS" -c . | docker import -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'LABEL org.paraseg.recipe=scripts/containers/python_image.sh' - "$TAG" >/dev/null
say "built $TAG in $(( $(date +%s) - started )) s"
echo "$TAG"
