#!/usr/bin/env bash
# The database-heavy checks once more, on PostgreSQL in a container (the testcontainers strategy):
# the job lifecycle's integration tests, the claim's plan, the chaos feature's database faults and
# exactly once with five workers.  `make containers`; `make test` runs it after the main suite.
# Without a Docker engine (not root, no docker.io) it runs nothing and says why; results go to
# reports/containers/ (Allure results, JUnit), apart from the main run's.
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
say() { echo "[containers] $*"; }
if ! socket=$(bash scripts/containers/engine.sh status); then
  say "no Docker engine answers (setup starts one as root): the container runs are skipped"
  exit 0
fi
export DOCKER_HOST="$socket" PARASEG_POSTGRES=testcontainers
OUT="$PWD/reports/containers"
rm -rf "$OUT" && mkdir -p "$OUT"
status=0
say "pytest on a container's PostgreSQL"
$PY -m pytest -q tests/integration/test_jobstore.py tests/integration/test_claim_plan.py || status=1
say "behave on a container's PostgreSQL"
command=$($PY - "$OUT" <<'PYTHON'
import shlex, sys
from pathlib import Path
sys.path.insert(0, "scripts")
import parallel
features = [parallel.FeatureFile(parallel.ROOT / "features" / f, 0, False) for f in ("chaos.feature", "four_researchers.feature")]
names = ["-n", "^The database", "-n", "^Every database connection", "-n", "^Five workers"]
print(shlex.join(parallel.behave_command(features, Path(sys.argv[1]), names, "terminal")))
PYTHON
)
eval "$command" || status=1
say "$( [ $status = 0 ] && echo passed || echo FAILED ); results in $OUT"
exit $status
