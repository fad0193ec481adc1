"""What one claim costs as the queue grows: the claim statement timed at several depths.

    python -m benchmarks.claim_scale [--rounds 25] [--shapes small|all] [--no-statements]

Each shape (researchers waiting, queued jobs, finished jobs kept) is built
directly in a throwaway database migrated by the queue itself (SQL
``generate_series``: seconds), analysed, and the claim is run ``--rounds``
times inside rolled-back transactions with ``EXPLAIN (ANALYZE)``; its
execution time's median and 90th percentile are printed as a table and written
to ``benchmarks/results/claim_scale.json`` (``claim_scale_all.json`` for ``--shapes all``:
up to a million queued jobs and ten million finished, a few minutes).  A benchmark, not a test: nothing
is asserted (``tests/integration/test_claim_plan.py`` holds the plan).

Then the other statements that run per job or per request, at depth: one
researcher with a 50,000-image project and a million events among 200,000
queued jobs of four, each timed from the client (``--rounds`` times, rolled
back where it writes): enqueueing the 50,000-image batch, the queue counts,
the batch's counts, the project's image list, one page of the event replay from
the middle of the million, one chunk of the event sweep, the lease-expiry scan.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from pathlib import Path

import asyncpg

from harness.stack.database import create_database, drop_database
from harness.stack.postgres import provision
from system.queue import jobstore
from system.queue.queries import migrate, q

RESULTS = Path(__file__).resolve().parent / "results" / "claim_scale.json"
SHAPES = {  # (researchers waiting, queued jobs in all, finished jobs kept)
    "small": [(4, 100, 0), (4, 10_000, 0), (4, 200_000, 0), (400, 200_000, 0), (1_000, 100, 0), (1_000, 200_000, 0),
              (4, 1_000, 500_000)],
    "all": [(4, 100, 0), (4, 10_000, 0), (4, 200_000, 0), (4, 1_000_000, 0), (1_000, 1_000, 0), (1_000, 1_000_000, 0),
            (4, 1_000, 10_000_000)],
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


DEEP_PROJECT, EVENTS = 50_000, 1_000_000


async def timed(conn: asyncpg.Connection, rounds: int, run, rollback: bool = False) -> dict:
    """Median and p90 of ``run(conn)``'s wall time from the client, in ms (inside a rolled-back transaction
    when it writes)."""
    times = []
    for _ in range(rounds):
        transaction = conn.transaction()
        await transaction.start()
        try:
            started = time.perf_counter()
            await run(conn)
            times.append((time.perf_counter() - started) * 1000)
        finally:
            await (transaction.rollback() if rollback else transaction.commit())
    times.sort()
    return {"median_ms": round(statistics.median(times), 2), "p90_ms": round(times[int(0.9 * (len(times) - 1))], 2)}


async def measure_statements(db, rounds: int) -> list[dict]:
    name = f"claimscale_{uuid.uuid4().hex[:8]}"
    await create_database(db.url, name)
    conn = await asyncpg.connect(db.url.rsplit("/", 1)[0] + f"/{name}")
    try:
        await migrate(conn)
        await build(conn, 4, 200_000, 0)
        project = await conn.fetchval("INSERT INTO projects (user_id, name) VALUES (1, 'plate series') RETURNING id")
        await conn.execute("INSERT INTO images (project_id, user_id, filename, content_type, width, height, data) "
                           "SELECT $1, 1, 'well_' || g || '.png', 'image/png', 1, 1, 'x' FROM generate_series(1, $2::int) g",
                           project, DEEP_PROJECT)
        images = [r["id"] for r in await conn.fetch("SELECT id FROM images WHERE project_id = $1 ORDER BY id", project)]
        batch, _ = await jobstore.enqueue_batch(conn, 1, project, images, "unet", 0.5, 3)  # 50,000 more queued jobs
        await conn.execute("UPDATE users SET event_seq = $1 WHERE id = 2", EVENTS)
        await conn.execute("INSERT INTO events (user_id, seq, type, body, created_at) SELECT 2, g, 'job.queued', '{}'::jsonb, "
                           "now() - interval '40 days' + g * interval '1 ms' FROM generate_series(1, $1::int) g", EVENTS)
        await conn.execute("ANALYZE")
        statements = {
            f"enqueue a batch of {DEEP_PROJECT:,} images": (
                lambda c: jobstore.enqueue_batch(c, 1, project, images, "unet", 0.5, 3), True),
            "queue counts (GET /api/queue)": (lambda c: c.fetchrow(q("queue_state"), 1, 15.0), False),
            f"a batch of {DEEP_PROJECT:,}: its counts (GET /api/batches/{{id}})": (lambda c: c.fetchrow(q("batch_summary"), 1, batch), False),
            f"a project of {DEEP_PROJECT:,} images: its list (GET /api/projects/{{id}}/images)": (
                lambda c: c.fetch(q("images"), 1, project, None), False),
            f"one page of replay from the middle of {EVENTS:,} events": (lambda c: c.fetch(q("events_from"), 2, EVENTS // 2, 500), False),
            "one chunk of the event sweep (10,000 events)": (lambda c: c.fetchrow(q("sweep_events"), 30 * 86_400.0, 10_000), True),
            "the lease-expiry scan": (lambda c: c.fetch(q("expired_leases")), True),
        }
        rows = []
        for what, (run, rollback) in statements.items():
            row = {"statement": what} | await timed(conn, max(3, rounds // 5), run, rollback)
            rows.append(row)
            print(f"{what:<75} median {row['median_ms']:9.2f} ms   p90 {row['p90_ms']:9.2f} ms", flush=True)
        return rows
    finally:
        await conn.close()
        await drop_database(db.url, name)


async def measure(db, rounds: int, shapes: str, statements: bool) -> None:
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
    others = await measure_statements(db, rounds) if statements else []
    out = RESULTS if shapes == "small" else RESULTS.with_name(f"claim_scale_{shapes}.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rounds": rounds, "postgres": db.version, "shapes": rows, "statements": others}, indent=1) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=25)
    p.add_argument("--shapes", choices=sorted(SHAPES), default="small")
    p.add_argument("--no-statements", dest="statements", action="store_false", help="time the claim only")
    args = p.parse_args()
    # PARASEG_POSTGRES as the suite takes it (embedded, testcontainers, external with DATABASE_URL); default auto
    with provision(os.environ.get("PARASEG_POSTGRES", "auto"), os.environ.get("DATABASE_URL")) as database:  # outside the event loop
        asyncio.run(measure(database, args.rounds, args.shapes, args.statements))
