"""The parallel runner reports what a serial run reports (scripts/parallel.py).

Three features - one with ``Rule:`` blocks and Scenario Outlines, one with a
browser page (screenshots attached), one plain - run once in one behave
process and once spread over two; the Allure results must hold the same
scenarios, with the same status, title path (the report's tree), labels,
steps and attachment names.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import parallel  # noqa: E402

FEATURES = [ROOT / "features" / f for f in ("security.feature", "live_progress.feature", "segmentation.feature")]
VARYING_LABELS = {"thread", "host"}

pytestmark = pytest.mark.timeout(900)


def report_of(results: Path) -> dict[str, dict]:
    """Each scenario's report entry, by full name, less what differs from run to run (ids, times, figures)."""
    entries = {}
    for f in results.glob("*-result.json"):
        r = json.loads(f.read_text())

        def steps(node) -> list:
            return [(s["name"], s["status"], sorted(a["name"] for a in s.get("attachments", [])), steps(s)) for s in node.get("steps", [])]

        key = r["fullName"] + " " + json.dumps(r.get("parameters", []))
        assert key not in entries, f"{key} reported twice"
        entries[key] = {"status": r["status"], "titlePath": r.get("titlePath"), "steps": steps(r),
                        "labels": sorted((x["name"], x["value"]) for x in r["labels"] if x["name"] not in VARYING_LABELS),
                        "attachments": sorted(a["name"] for a in r.get("attachments", []))}
    return entries


def test_two_processes_report_what_one_reports(tmp_path):
    serial = tmp_path / "serial"
    serial.mkdir()
    features = [parallel.FeatureFile(f, 0, False) for f in FEATURES]
    done = subprocess.run(parallel.behave_command(features, serial, [], "terminal-plain"), cwd=parallel.ROOT, env=parallel.environment(serial),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]

    split = tmp_path / "parallel"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "parallel.py"), "--jobs", "2", "--features", *map(str, FEATURES),
                           "--results", str(split / "results"), "--junit", str(split / "junit"), "--measured", str(split / "measured.json"),
                           "--timings", str(split / "feature_seconds.json")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "in 2 processes" in done.stdout, done.stdout[:500]

    one, two = report_of(serial / "allure-results"), report_of(split / "results")
    assert len(one) >= 38, f"the serial run reported {len(one)} scenarios"
    assert sorted(one) == sorted(two), f"only serial: {sorted(set(one) - set(two))}; only parallel: {sorted(set(two) - set(one))}"
    for name in one:
        assert one[name] == two[name], f"{name}:\n serial   {one[name]}\n parallel {two[name]}"
    assert one[next(iter(one))]["titlePath"][0] == "features", "the report's tree starts at the project's features folder"
    assert sorted(p.name for p in (split / "junit").glob("*.xml")) == sorted(f"TESTS-{f.stem}.xml" for f in FEATURES)
