#!/usr/bin/env bash
# Idempotent setup: a project virtualenv with the locked packages, a Chromium for
# Playwright, and the Allure CLI in a project-local folder.  A second run checks
# and skips in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PYTHON=${PYTHON:-python3}
VENV=.venv
ALLURE_VERSION=3.18.0
ALLURE_DIR=.tools/allure

say() { printf '[setup] %s\n' "$*"; }

# 1. Virtualenv and packages (re-installed only when requirements.lock changes).
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
want=$(sha256sum requirements.lock | cut -d' ' -f1)
if [ "$(cat "$VENV/.lock.sha256" 2>/dev/null)" != "$want" ]; then
  say "installing Python packages from requirements.lock (torch==2.13.0, CPU build)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements.lock
  echo "$want" > "$VENV/.lock.sha256"
else
  say "Python packages: up to date"
fi
# The project itself, editable, so harness/ and system/ import from anywhere.
if ! (cd / && "$ROOT/$VENV/bin/python" -c "import harness, system" 2>/dev/null); then
  say "installing the project (editable)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
fi

# 2. Chromium: Playwright's own, else the system's, else Playwright's download, else apt.
if chromium=$("$VENV/bin/python" -m harness.browser.launch 2>/dev/null); then
  say "Chromium: $chromium"
else
  say "no Chromium yet; trying Playwright's download"
  if ! timeout 120 "$VENV/bin/python" -m playwright install chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "Playwright cannot download here; installing Debian's chromium"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
  fi
  chromium=$("$VENV/bin/python" -m harness.browser.launch) || { say "ERROR: no Chromium could be installed; install the 'chromium' package"; exit 1; }
  say "Chromium: $chromium"
fi

# 3. PostgreSQL binaries for the embedded strategy (only when nothing else can work).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null && [ -z "${DATABASE_URL:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing the PostgreSQL server binaries"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
fi

# 4. A Docker engine and the PostgreSQL image for the testcontainers strategy (scripts/containers/): as root
#    only, and never a reason to fail - without them `auto` keeps choosing embedded and `make containers`
#    says why it ran nothing.  PARASEG_CONTAINERS=0 skips this step.
if [ "${PARASEG_CONTAINERS:-1}" != 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    say "installing a Docker engine and debootstrap (Debian's docker.io)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null 2>&1 || say "could not install docker.io; containers are skipped"
  fi
  if command -v dockerd >/dev/null && socket=$(bash scripts/containers/engine.sh start); then
    if image=$(DOCKER_HOST="$socket" bash scripts/containers/postgres_image.sh) && python=$(DOCKER_HOST="$socket" bash scripts/containers/python_image.sh); then
      say "containers: engine $socket, images $image and $python"
    else
      say "containers: an image could not be built; the container runs are skipped"
    fi
  fi
fi

# 5. Allure CLI (npm, version 3, no Java).
if [ "$("$ALLURE_DIR/node_modules/.bin/allure" --version 2>/dev/null | tr -dc '0-9.')" != "$ALLURE_VERSION" ]; then
  say "installing the Allure CLI $ALLURE_VERSION into $ALLURE_DIR"
  npm install --prefix "$ALLURE_DIR" "allure@$ALLURE_VERSION" --no-audit --no-fund --loglevel=error >/dev/null
else
  say "Allure CLI $ALLURE_VERSION: present"
fi
