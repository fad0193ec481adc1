"""Count the scenarios in an Allure results folder, say where the report is, and hold the quality gate.

    python scripts/report.py reports/allure-results reports/allure-report [--expect N]

The gate fails (exit 1) when a scenario failed or broke, or when fewer
scenarios reported than ``--expect`` (the scenarios the tag selection holds,
counted by ``behave --dry-run``): a run that silently lost scenarios must not
pass.  (``allure quality-gate`` does the same, but needs Node.js 22; this
machine and CI have 20.)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path


def counts(results: Path) -> Counter:
    """Statuses of the scenarios (the trend's own result, tagged "trend", is not a scenario)."""
    statuses: Counter = Counter()
    for path in results.glob("*-result.json"):
        result = json.loads(path.read_text())
        if {"name": "tag", "value": "trend"} in result.get("labels", []):
            continue
        status = result.get("status", "unknown")
        statuses["failed" if status == "broken" else status] += 1
    return statuses


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("results", type=Path)
    p.add_argument("report", type=Path)
    p.add_argument("--expect", type=int, default=None, help="scenarios the run must report")
    args = p.parse_args()
    c = counts(args.results)
    total = sum(c.values())
    print(f"scenarios: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
    index = args.report / "index.html"
    ok = True
    if index.exists():
        print(f"Allure report: {index.resolve()}")
    else:
        print(f"no Allure report at {index} (generation failed?)")
        ok = False
    if c["failed"]:
        print(f"quality gate: {c['failed']} scenario(s) failed")
        ok = False
    if args.expect is not None and total < args.expect:
        print(f"quality gate: {total} scenarios reported, {args.expect} expected")
        ok = False
    if ok and args.expect is not None:
        print(f"quality gate: passed ({total} of {args.expect} scenarios reported, none failed)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
