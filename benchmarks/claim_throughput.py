"""Claim throughput: jobs claimed and completed per second by 4 workers.

    python -m benchmarks.claim_throughput [--jobs 1000]

Both queues run on the same throwaway PostgreSQL, in the same run:

- paraseg: 4 ``system.queue.worker`` processes (concurrency 1 each, bound 4),
  each job going through the whole worker path (claim with fair share, lease,
  fetch the image, call a no-op inference stub, store the result, events);
- procrastinate: 4 ``procrastinate worker`` processes (concurrency 1 each)
  running a task that does nothing.

Workers start first and wait; the clock runs from the commit that queues the
jobs until the last one is done.  Prints both rates and their ratio, and
writes them as JSON.  A benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from harness.stack.launcher import ROOT
from harness.stack.postgres import provision
from harness.stack.processes import ManagedProcess, python_module, stop_all
from harness.waiting import async_wait_until
from system.inference import synthetic
from system.queue import jobstore
from system.queue.queries import migrate

WORKERS = 4


async def _count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def _all_done(url: str, sql: str, n: int, timeout: float = 600) -> float:
    """When ``sql`` (a count of finished jobs) reached ``n``, by perf_counter."""
    await async_wait_until(lambda: _count(url, sql), until=lambda done: done >= n, timeout=timeout, interval=0.02,
                           describe=f"{n} jobs to finish")
    return time.perf_counter()


async def bench_paraseg(url: str, jobs: int, logs: Path) -> float:
    stub = ManagedProcess("noop-inference", python_module("benchmarks.noop_inference"), dict(os.environ), logs / "stub.log", ROOT).start()
    stub_url = stub.wait_ready(60)
    conn = await asyncpg.connect(url)
    await migrate(conn)
    user = await conn.fetchval("INSERT INTO users (username, password_hash) VALUES ('bench', 'x') RETURNING id")
    project = await conn.fetchval("INSERT INTO projects (user_id, name) VALUES ($1, 'bench') RETURNING id", user)
    png = synthetic.to_png(synthetic.generate(1, size=(32, 32)).image)
    image = await conn.fetchval(
        "INSERT INTO images (project_id, user_id, filename, content_type, width, height, data) VALUES ($1, $2, 'a.png', 'image/png', 32, 32, $3) RETURNING id",
        project, user, png,
    )
    env = dict(os.environ) | {"DATABASE_URL": url, "INFERENCE_URL": stub_url, "WORKER_CONCURRENCY": "1", "MAX_RUNNING": str(WORKERS), "LOG_LEVEL": "WARNING"}
    workers = [ManagedProcess(f"worker-{i}", python_module("system.queue.worker"), env | {"WORKER_NAME": f"w{i}"}, logs / f"w{i}.log", ROOT).start()
               for i in range(WORKERS)]
    for w in workers:
        w.wait_ready(60)
    started = time.perf_counter()
    await jobstore.enqueue_batch(conn, user, project, [image] * jobs, "unet", 0.5, 3)
    finished = await _all_done(url, "SELECT count(*) FROM jobs WHERE status = 'succeeded'", jobs)
    await conn.close()
    for w in workers:
        w.stop()
    stub.stop()
    return jobs / (finished - started)


async def bench_procrastinate(url: str, jobs: int, logs: Path) -> float:
    os.environ["DATABASE_URL"] = url
    from benchmarks.procrastinate_app import app, noop

    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        env = dict(os.environ) | {"DATABASE_URL": url}
        cmd = [sys.executable, "-m", "procrastinate", "--app=benchmarks.procrastinate_app.app", "worker", "--concurrency=1"]
        workers = [ManagedProcess(f"procrastinate-{i}", cmd, env, logs / f"p{i}.log", ROOT).start() for i in range(WORKERS)]
        # procrastinate prints no ready line; a worker that serves has registered itself.
        await async_wait_until(lambda: _count(url, "SELECT count(*) FROM procrastinate_workers"), until=lambda n: n >= WORKERS,
                               timeout=60, interval=0.1, describe=f"{WORKERS} procrastinate workers to register")
        if not all(w.alive() for w in workers):
            raise RuntimeError("a procrastinate worker exited:\n" + "\n".join(w.tail() for w in workers))
        started = time.perf_counter()
        await noop.batch_defer_async(*[{} for _ in range(jobs)])
        finished = await _all_done(url, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'", jobs)
        for w in workers:
            w.stop()
    return jobs / (finished - started)


async def run(url: str, version: str, jobs: int, logs: Path) -> dict:
    ours = await bench_paraseg(url, jobs, logs)
    theirs = await bench_procrastinate(url, jobs, logs)
    return {"jobs": jobs, "workers": WORKERS, "postgres": version, "paraseg_jobs_per_s": round(ours, 1),
            "procrastinate_jobs_per_s": round(theirs, 1), "ratio_paraseg_to_procrastinate": round(ours / theirs, 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=1000)
    p.add_argument("--json", type=Path, default=ROOT / "reports" / "benchmarks" / "claim_throughput.json")
    args = p.parse_args()
    try:
        with tempfile.TemporaryDirectory() as d, provision("embedded") as db:
            result = asyncio.run(run(db.url, db.version, args.jobs, Path(d)))
    finally:
        stop_all()
    print(f"claim throughput with {result['workers']} workers, {result['jobs']} jobs, PostgreSQL {result['postgres']}:")
    print(f"  paraseg        {result['paraseg_jobs_per_s']:8.1f} jobs/s  (claim, lease, image, no-op inference call, result, events)")
    print(f"  procrastinate  {result['procrastinate_jobs_per_s']:8.1f} jobs/s  (claim, no-op task)")
    print(f"  ratio          {result['ratio_paraseg_to_procrastinate']:8.3f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
