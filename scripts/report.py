"""Count the scenarios in an Allure results folder and say where the report is.

    python scripts/report.py reports/allure-results reports/allure-report
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def counts(results: Path) -> Counter:
    statuses: Counter = Counter()
    for path in results.glob("*-result.json"):
        status = json.loads(path.read_text()).get("status", "unknown")
        statuses["failed" if status == "broken" else status] += 1
    return statuses


def main() -> int:
    results, report = Path(sys.argv[1]), Path(sys.argv[2])
    c = counts(results)
    print(f"scenarios: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
    index = report / "index.html"
    if index.exists():
        print(f"Allure report: {index.resolve()}")
    else:
        print(f"no Allure report at {index} (generation failed?)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
