"""Keep this run's measured figures with the history, and flag any that got worse.

    python scripts/trend.py reports/measured.json reports/history/measured.jsonl reports/allure-results

Every ``MEASURED`` figure of the run (reports/measured.json, written by the
harness) is flattened to ``<measurement>/<key>`` numbers and compared with the
median of the same figure over the last ``WINDOW`` runs in the history.  A
figure whose direction is known (latencies, recovery times and growth should
fall; throughput, ratios, fairness and IoU should rise) and that is worse than
that median by more than ``MARGIN`` is a regression.  The run is then appended
to the history (CI keeps reports/history/).

For the report it writes one result, "Measured figures against the last runs":
failed, in the category "Performance regression", when a figure regressed,
with the table attached; passed otherwise.  The quality gate does not count
it: a shared, noisy machine makes a trend a signal to look at, not a verdict.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

WINDOW = 5
TABLE_RUNS = 20
MARGIN = 0.25
TREND_LABEL = "trend"
LOWER_IS_BETTER = re.compile(r"(_ms|latency|recovery_s|seconds|growth|minus_baseline|failed|succeeded_twice|more_than_once|cpu_s)", re.I)
HIGHER_IS_BETTER = re.compile(r"(ratio|jain|images_per_s|jobs_per_s|/mean$|/min$|efficiency)", re.I)


def flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        out[prefix] = float(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}/{k}", v, out)


def figures_of(run: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in run["measured"]:
        flatten(m["name"], m["figures"], out)
    return out


def direction(key: str) -> int:
    """+1 when a larger value is better, -1 when smaller is, 0 when unknown (not compared)."""
    if HIGHER_IS_BETTER.search(key):
        return 1
    if LOWER_IS_BETTER.search(key):
        return -1
    return 0


def regressions(now: dict[str, float], history: list[dict[str, float]]) -> list[dict]:
    found = []
    for key, value in sorted(now.items()):
        past = [h[key] for h in history[-WINDOW:] if key in h]
        sign = direction(key)
        if not past or sign == 0:
            continue
        median = statistics.median(past)
        if median == 0:
            continue
        worse = (median - value) / abs(median) if sign > 0 else (value - median) / abs(median)
        if worse > MARGIN:
            found.append({"figure": key, "now": value, "median_of_last_runs": median, "runs": len(past), "worse_by": round(worse, 3)})
    return found


def allure_result(results: Path, found: list[dict], compared: int, runs: int, table: dict[str, list[float | None]]) -> None:
    now = int(time.time() * 1000)
    attachment, trend_table = f"{uuid.uuid4()}-attachment.json", f"{uuid.uuid4()}-attachment.json"
    (results / attachment).write_text(json.dumps(found, indent=1))
    (results / trend_table).write_text(json.dumps(table, indent=1))
    status = "failed" if found else "passed"
    message = (f"{len(found)} of {compared} figures worse than the median of the last runs by more than {MARGIN:.0%}: "
               + ", ".join(f"{f['figure']} ({f['worse_by']:.0%})" for f in found)) if found else f"{compared} figures within {MARGIN:.0%}"
    result = {
        "uuid": str(uuid.uuid4()), "historyId": "paraseg-measured-trend", "testCaseId": "paraseg-measured-trend",
        "name": "Measured figures against the last runs", "fullName": "trend: measured figures",
        "status": status, "statusDetails": {"message": message + f" ({runs} earlier runs kept)"},
        "start": now, "stop": now, "labels": [{"name": "tag", "value": TREND_LABEL}, {"name": "suite", "value": "Trends"}],
        "attachments": [{"name": "regressions", "source": attachment, "type": "application/json"},
                        {"name": f"every figure over the last {TABLE_RUNS} runs, oldest first", "source": trend_table, "type": "application/json"}],
    }
    (results / f"{result['uuid']}-result.json").write_text(json.dumps(result))


def main() -> int:
    measured, history_path, results = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    if not measured.exists():
        print("trend: no measured figures in this run")
        return 0
    run = json.loads(measured.read_text())
    history = [json.loads(line) for line in history_path.read_text().splitlines() if line.strip()] if history_path.exists() else []
    now = figures_of(run)
    found = regressions(now, [h["figures"] for h in history])
    compared = sum(1 for k in now if direction(k) and any(k in h["figures"] for h in history[-WINDOW:]))
    history_path.parent.mkdir(parents=True, exist_ok=True)
    with history_path.open("a") as f:
        f.write(json.dumps({"run_id": run["run_id"], "timestamp": time.time(), "figures": now}) + "\n")
    if results.exists():
        kept = [h["figures"] for h in history[-(TABLE_RUNS - 1):]] + [now]
        table = {key: [h.get(key) for h in kept] for key in sorted(now)}
        allure_result(results, found, compared, len(history), table)
    for f in found:
        print(f"trend: {f['figure']} is {f['now']:g}, worse than the median {f['median_of_last_runs']:g} of the last {f['runs']} runs "
              f"by {f['worse_by']:.0%}")
    print(f"trend: {len(now)} figures kept; {compared} compared with the last runs; {len(found)} regressed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
