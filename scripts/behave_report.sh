#!/usr/bin/env bash
# Run behave with the given arguments on a clean Allure results folder - in JOBS
# processes with stacks of their own (scripts/parallel.py) when JOBS > 1; JOBS
# defaults to the cores, capped by the memory the stacks take - then:
# generate the HTML report (with the history kept in reports/history/), print
# where it is and how many scenarios passed, failed and were skipped, and hold
# the quality gate (none failed, none missing).  JUnit XML lands in
# reports/junit/ (behave.ini).  Exits non-zero when behave or the gate fails.
#
# SHARD=i/n: only machine shard i of n (scripts/parallel.py --print-shard), the gate
# expecting that shard's scenarios.  MERGE="dir ...": run nothing; merge those
# machines' reports/ folders into reports/, then report and gate the whole selection.
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS=reports/allure-results
REPORT=reports/allure-report

features=()
if [ -n "${SHARD:-}" ]; then
  read -r -a features <<< "$(.venv/bin/python scripts/parallel.py --print-shard "$SHARD" "$@")" || exit 2
  echo "shard $SHARD: ${features[*]:-no feature file}"
fi
# The scenarios this selection holds, counted before running them: the gate's expectation.
expected=$(.venv/bin/behave --dry-run -f null -o /dev/null "$@" "${features[@]}" 2>&1 | sed -n 's/^[0-9]* scenarios passed.* \([0-9]\+\) untested$/\1/p')
mkdir -p reports/history reports/junit
status=0
if [ -n "${MERGE:-}" ]; then
  find "$RESULTS" reports/junit -mindepth 1 ! -name .gitkeep -delete 2>/dev/null
  rm -f reports/measured.json
  # shellcheck disable=SC2086  # MERGE is a list of folders
  .venv/bin/python scripts/parallel.py --merge $MERGE || exit 2
elif [ -n "${SHARD:-}" ] && [ ${#features[@]} -eq 0 ]; then
  find "$RESULTS" reports/junit -mindepth 1 ! -name .gitkeep -delete 2>/dev/null
  echo "shard $SHARD holds no feature file of this selection"
else
  find "$RESULTS" reports/junit -mindepth 1 ! -name .gitkeep -delete 2>/dev/null
  rm -f reports/measured.json
  JOBS=${JOBS:-$(.venv/bin/python scripts/parallel.py --print-jobs)}
  if [ "$JOBS" -gt 1 ] || [ ${#features[@]} -gt 0 ]; then
    feature_args=()
    [ ${#features[@]} -gt 0 ] && feature_args=(--features "${features[@]}")
    .venv/bin/python scripts/parallel.py --jobs "$JOBS" "$@" "${feature_args[@]}"  # --features last: an option with a space reads as a value
  else
    .venv/bin/behave "$@"
  fi
  status=$?
fi
# This run's measured figures against the kept history (a result in the report; not part of the gate).
[ -f reports/measured.json ] && { .venv/bin/python scripts/trend.py reports/measured.json reports/history/measured.jsonl "$RESULTS" || true; }
find "$REPORT" -mindepth 1 ! -name .gitkeep -delete 2>/dev/null
NO_COLOR=1 .tools/allure/node_modules/.bin/allure generate -c reports/allurerc.mjs "$RESULTS" -o "$REPORT" >/dev/null 2>&1 \
  || echo "allure generate failed"
.venv/bin/python scripts/report.py "$RESULTS" "$REPORT" ${expected:+--expect "$expected"} || status=1
exit $status
