"""schemathesis against the real queue API: every check, every phase, the stateful one included.

The session's system (real PostgreSQL, API, worker, inference server) serves;
a researcher with a segmented project gives the fuzzer a token and real
resources to follow links into (a project, its images, a batch and its jobs).
``schemathesis.toml`` at the repository root names the only exceptions: rules
no schema can state.  Goal: no server error, no undocumented status, no
response that breaks its schema, nothing refused that the schema allows unless
named there.

``SCHEMATHESIS_SEED`` and ``SCHEMATHESIS_EXAMPLES`` change the run (a fixed
seed by default, so that CI is repeatable); ``pytest -s`` prints the figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from harness.researchers.actors import Researcher

ROOT = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261123"))
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "40"))
RUN_BOUND_S = 420  # a run that takes longer than this is stuck


@pytest.fixture(scope="module")
async def fuzzing_token(system) -> str:
    async with aiohttp.ClientSession() as session:
        researcher = await Researcher.sign_up(system.api_url, session, "fuzz")
        await researcher.listen()
        try:
            await researcher.create_project()
            await researcher.upload_spheroids(2)
            await researcher.segment()
            await researcher.wait_for_batches(120)
        finally:
            await researcher.events.close()
        return researcher.api.token


def run_schemathesis(api_url: str, token: str, report_dir: Path) -> dict:
    command = [
        str(Path(sys.executable).with_name("st")), "run", f"{api_url}/openapi.json",
        "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--request-timeout", "30",
        "--header", f"Authorization: Bearer {token}",
        "--report", "json,junit", "--report-dir", str(report_dir), "--no-color",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=RUN_BOUND_S)  # cwd: schemathesis.toml
    (report_dir / "output.txt").write_text(done.stdout + done.stderr)
    reports = sorted(report_dir.glob("json-*.json"))
    assert reports, f"schemathesis wrote no report (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return json.loads(reports[-1].read_text()) | {"output_tail": done.stdout[-6000:]}


async def test_schemathesis_finds_no_fault(system, fuzzing_token, tmp_path):
    report = run_schemathesis(system.api_url, fuzzing_token, tmp_path)
    kinds = Counter(f.get("title") or f.get("code") or str(f) for f in report["failures"])
    figures = {"seed": SEED, "max_examples": EXAMPLES, "cases": report["test_cases"]["generated"],
               "operations_tested": report["operations"]["tested"], "phases": {k: v["status"] for k, v in report["phases"].items()},
               "failures_by_kind": dict(kinds), "errors": len(report["errors"]), "seconds": round(report["running_time"], 1)}
    print(f"\nMEASURED schemathesis: {json.dumps(figures)}")
    assert report["complete"], report["stop_reason"]
    assert report["operations"]["tested"] == report["operations"]["selected"], report["operations"]
    assert all(p["status"] == "success" for p in report["phases"].values()), f"phases: {figures['phases']}\n{report['output_tail']}"
    assert not report["failures"] and not report["errors"], f"{figures}\n{report['output_tail']}"
    assert report["exit_code"] == 0, report["output_tail"]
