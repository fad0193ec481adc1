"""What one claim costs as the queue grows: the claim statement timed at several depths.

    python -m benchmarks.claim_scale [--rounds 25] [--shapes small|all]

Each shape (researchers waiting, queued jobs, finished jobs kept) is built
directly in a throwaway database migrated by the queue itself (SQL
``generate_series``: seconds), analysed, and the claim is run ``--rounds``
times inside rolled-back transactions with ``EXPLAIN (ANALYZE)``; its
execution time's median and 90th percentile are printed as a table and written
to ``benchmarks/results/claim_scale.json``.  A benchmark, not a test: nothing
is asserted (``tests/integration/test_claim_plan.py`` holds the plan).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import uuid
from pathlib import Path

import asyncpg

from harness.stack.database import create_database, drop_database
from harness.stack.postgres import provision
from system.queue.queries import migrate, q

RESULTS = Path(__file__).resolve().parent / "results" / "claim_scale.json"
SHAPES = {  # (researchers waiting, queued jobs in all, finished jobs kept)
    "small": [(4, 100, 0), (4, 10_000, 0), (4, 200_000, 0), (400, 200_000, 0), (4, 1_000, 500_000)],
    "all": [(4, 100, 0), (4, 10_000, 0), (4, 200_000, 0), (4, 1_000_000, 0), (1_000, 1_000_000, 0), (4, 1_000, 10_000_000)],
}


async def build(conn: asyncpg.Connection, users: int, queued: int, finished: int) -> None:
    await conn.execute("INSERT INTO users (username, password_hash) SELECT 'u' || g, 'x' FROM generate_series(1, $1::int) g", users)
    await conn.execute("INSERT INTO projects (user_id, name) SELECT id, 'p' FROM users")
    await conn.execute("INSERT INTO images (project_id, user_id, filename, content_type, width, height, data) "
                       "SELECT id, user_id, 'a.png', 'image/png', 1, 1, 'x' FROM projects")
    await conn.execute("INSERT INTO batches (project_id, user_id, model, threshold, total) SELECT id, user_id, 'unet', 0.5, 1 FROM projects")
    rows = "SELECT b.id, i.id, b.project_id, b.user_id, 'unet', 0.5, 3 {extra} FROM generate_series(1, $1::int) g " \
           "JOIN batches b ON b.user_id = 1 + (g % $2::int) JOIN images i ON i.user_id = b.user_id"
    await conn.execute("INSERT INTO jobs (batch_id, image_id, project_id, user_id, model, threshold, max_attempts) "
                       + rows.format(extra=""), queued, users)
    if finished:
        await conn.execute("INSERT INTO jobs (batch_id, image_id, project_id, user_id, model, threshold, max_attempts, status, "
                           "attempts, finished_at) " + rows.format(extra=", 'succeeded', 1, now()"), finished, users)
    await conn.execute("ANALYZE")


async def time_claims(conn: asyncpg.Connection, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        transaction = conn.transaction()
        await transaction.start()
        try:
            raw = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + q("claim_job"), "bench", 4, 30.0, uuid.uuid4())
        finally:
            await transaction.rollback()
        times.append((json.loads(raw) if isinstance(raw, str) else raw)[0]["Execution Time"])
    return times


async def measure(db, rounds: int, shapes: str) -> None:
    rows = []
    for users, queued, finished in SHAPES[shapes]:
        name = f"claimscale_{uuid.uuid4().hex[:8]}"
        await create_database(db.url, name)
        conn = await asyncpg.connect(db.url.rsplit("/", 1)[0] + f"/{name}")
        try:
            await migrate(conn)
            await build(conn, users, queued, finished)
            times = sorted(await time_claims(conn, rounds))
        finally:
            await conn.close()
            await drop_database(db.url, name)
        row = {"researchers_waiting": users, "queued_jobs": queued, "finished_jobs": finished,
               "claim_median_ms": round(statistics.median(times), 2), "claim_p90_ms": round(times[int(0.9 * (len(times) - 1))], 2)}
        rows.append(row)
        print(f"{users:>6} waiting  {queued:>9} queued  {finished:>10} finished   claim median {row['claim_median_ms']:7.2f} ms"
              f"   p90 {row['claim_p90_ms']:7.2f} ms", flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"rounds": rounds, "postgres": db.version, "shapes": rows}, indent=1) + "\n")
    print(f"written: {RESULTS}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=25)
    p.add_argument("--shapes", choices=sorted(SHAPES), default="small")
    args = p.parse_args()
    with provision("auto") as database:  # started outside the event loop: provisioning runs a loop of its own
        asyncio.run(measure(database, args.rounds, args.shapes))
