"""Whatever happens to a run, it leaves no process behind.

Runs the real acceptance harness (behave) in a subprocess, waits until it has
started PostgreSQL and the system, then interrupts it (Ctrl-C, SIGTERM) or kills
it outright, and looks for any process still carrying the run's marker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from harness.processes import leftover_processes, wait_until

ROOT = Path(__file__).resolve().parents[2]


def start_behave(run_id: str) -> subprocess.Popen:
    env = os.environ | {"PARASEG_RUN": run_id, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        # The longest scenario (five workers, 200 images), so the run is surely mid-way when interrupted.
        [sys.executable, "-m", "behave", "--tags=@slow", "--no-capture", "-f", "plain", "-o", os.devnull],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def wait_for_system(proc: subprocess.Popen, timeout: float = 180) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(line)
        if "system started" in line:
            return "".join(seen)
        if time.monotonic() > deadline:
            break
    proc.kill()
    pytest.fail("the harness never started the system:\n" + "".join(seen))


def workers_of(run_id: str) -> list:
    return [p for p in leftover_processes(run_id) if "system.queue.worker" in " ".join(p.cmdline())]


def wait_gone(run_id: str, timeout: float) -> list:
    deadline = time.monotonic() + timeout
    while (left := leftover_processes(run_id)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_an_interrupted_run_leaves_nothing_running(how):
    run_id = f"leftover-{uuid.uuid4().hex[:8]}"
    proc = start_behave(run_id)
    try:
        wait_for_system(proc)
        # Mid-scenario: the scenario has started its extra workers (five in all).
        wait_until(lambda: len(workers_of(run_id)) >= 5, timeout=120, what="five workers running")
        proc.send_signal(getattr(signal, how))
        proc.communicate(timeout=120)
        assert proc.returncode != 0, "an interrupted run must not report success"
        left = wait_gone(run_id, timeout=30)
        assert left == [], f"left running after {how}: {[(p.pid, p.name()) for p in left]}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_killed_runs_cluster_is_swept_by_the_next_run(tmp_path):
    import tempfile

    from harness.postgres import _EMBEDDED_PREFIX, sweep_stale_clusters

    stale = Path(tempfile.mkdtemp(prefix=_EMBEDDED_PREFIX))
    (stale / "data").mkdir()
    (stale / "data" / "postmaster.pid").write_text("999999999\n")  # no such process
    assert stale in sweep_stale_clusters()
    assert not stale.exists()
