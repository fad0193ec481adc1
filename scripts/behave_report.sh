#!/usr/bin/env bash
# Run behave with the given arguments on a clean Allure results folder, generate
# the HTML report, print where it is and how many scenarios passed, failed and
# were skipped.  Exits with behave's status.
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS=reports/allure-results
REPORT=reports/allure-report

find "$RESULTS" -mindepth 1 ! -name .gitkeep -delete 2>/dev/null
.venv/bin/behave "$@"
status=$?
find "$REPORT" -mindepth 1 ! -name .gitkeep -delete 2>/dev/null
NO_COLOR=1 .tools/allure/node_modules/.bin/allure generate -c reports/allurerc.mjs "$RESULTS" -o "$REPORT" >/dev/null 2>&1 \
  || echo "allure generate failed"
.venv/bin/python scripts/report.py "$RESULTS" "$REPORT" || status=${status:-1}
exit $status
