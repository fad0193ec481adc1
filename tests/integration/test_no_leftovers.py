"""Whatever happens to a run, it leaves no process behind.

Runs the real acceptance harness (behave) in a subprocess, waits until it has
started PostgreSQL and the system, then interrupts it (Ctrl-C, SIGTERM) or kills
it outright, and looks for any process still carrying the run's marker.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from harness.stack.processes import leftover_processes
from harness.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def start_behave(run_id: str, output: Path) -> subprocess.Popen:
    env = os.environ | {"PARASEG_RUN": run_id, "PYTHONUNBUFFERED": "1"}
    with open(output, "wb") as out:
        return subprocess.Popen(
            # The longest scenario (five workers, 200 images), so the run is surely mid-way when interrupted.
            [sys.executable, "-m", "behave", "--tags=@slow", "--no-capture", "-f", "plain", "-o", os.devnull],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )


def workers_of(run_id: str) -> list:
    return [p for p in leftover_processes(run_id) if "system.queue.worker" in " ".join(p.cmdline())]


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_an_interrupted_run_leaves_nothing_running(how, tmp_path):
    run_id = f"leftover-{uuid.uuid4().hex[:8]}"
    output = tmp_path / "behave.out"
    proc = start_behave(run_id, output)
    try:
        def started() -> str:
            assert proc.poll() is None, f"behave exited with {proc.returncode}:\n{output.read_text()}"
            return "system started" in output.read_text()

        wait_until(started, timeout=180, interval=0.2, describe="the harness to start the system")
        # Mid-scenario: the scenario has started its extra workers (five in all).
        wait_until(lambda: len(workers_of(run_id)), until=lambda n: n >= 5, timeout=120, describe="five workers running")
        proc.send_signal(getattr(signal, how))
        proc.wait(timeout=120)
        assert proc.returncode != 0, "an interrupted run must not report success"
        wait_until(lambda: [(p.pid, p.name()) for p in leftover_processes(run_id)], until=lambda left: left == [], timeout=30,
                   interval=0.2, describe=f"every process of the run to be gone after {how}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_killed_runs_cluster_is_swept_by_the_next_run(tmp_path):
    import tempfile

    from harness.stack.cluster import _EMBEDDED_PREFIX, sweep_stale_clusters

    stale = Path(tempfile.mkdtemp(prefix=_EMBEDDED_PREFIX))
    (stale / "data").mkdir()
    (stale / "data" / "postmaster.pid").write_text("999999999\n")  # no such process
    os.utime(stale, (time.time() - 120, time.time() - 120))  # left two minutes ago
    assert stale in sweep_stale_clusters()
    assert not stale.exists()


def test_a_cluster_being_made_by_another_run_is_left_alone():
    """initdb's bootstrap backends leave a postmaster.pid of an exited process; a run starting beside it
    (the parallel runner's shards) must not sweep the cluster away."""
    import tempfile

    from harness.stack.cluster import _EMBEDDED_PREFIX, sweep_stale_clusters

    fresh = Path(tempfile.mkdtemp(prefix=_EMBEDDED_PREFIX))
    try:
        (fresh / "data").mkdir()
        (fresh / "data" / "postmaster.pid").write_text("999999999\n")
        assert fresh not in sweep_stale_clusters()
        assert fresh.exists()
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
