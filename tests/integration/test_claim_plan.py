"""A claim's cost does not grow with the queue: its plan, at 50,000 queued jobs of one researcher
and a thousand researchers waiting.

Asserted on the plan (EXPLAIN ANALYZE, rolled back), never on a time: no step
may sort the chosen researcher's queue or the waiting researchers, and no scan
of the jobs or users table may return more than a handful of rows, however deep
the queue is and however many wait.
"""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from harness.stack.database import create_database, drop_database
from system.queue.queries import migrate, q

DEEP = 50_000
WAITING = 1_000
# The most rows one scan may return for one claim (the old plan visited every waiting researcher: 1,000 rows).
FEW_ROWS = 100


@pytest.fixture(scope="module")
async def deep_queue(database):
    name = f"claimplan_{uuid.uuid4().hex[:8]}"
    await create_database(database.url, name)
    url = database.url.rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        for i in range(4):  # one researcher with a deep queue, three with a few jobs each
            user = await conn.fetchval("INSERT INTO users (username, password_hash) VALUES ($1, 'x') RETURNING id", f"plan-{i}")
            project = await conn.fetchval("INSERT INTO projects (user_id, name) VALUES ($1, 'p') RETURNING id", user)
            image = await conn.fetchval("INSERT INTO images (project_id, user_id, filename, content_type, width, height, data) "
                                        "VALUES ($1, $2, 'a.png', 'image/png', 1, 1, 'x') RETURNING id", project, user)
            jobs = DEEP if i == 0 else 10
            batch = await conn.fetchval(q("insert_batch"), project, user, "unet", 0.5, jobs)
            await conn.execute("INSERT INTO jobs (batch_id, image_id, project_id, user_id, model, threshold, max_attempts) "
                               "SELECT $1, $2, $3, $4, 'unet', 0.5, 3 FROM generate_series(1, $5::int)", batch, image, project, user, jobs)
        # and the rest of a thousand researchers waiting, each with a batch of 3 (their job of the same image, for speed)
        await conn.execute(f"""
            WITH u AS (INSERT INTO users (username, password_hash)
                       SELECT 'wait-' || g, 'x' FROM generate_series(1, {WAITING - 4}) g RETURNING id),
                 p AS (INSERT INTO projects (user_id, name) SELECT id, 'p' FROM u RETURNING id, user_id),
                 b AS (INSERT INTO batches (project_id, user_id, model, threshold, total)
                       SELECT id, user_id, 'unet', 0.5, 3 FROM p RETURNING id, project_id, user_id)
            INSERT INTO jobs (batch_id, image_id, project_id, user_id, model, threshold, max_attempts)
            SELECT b.id, $1, b.project_id, b.user_id, 'unet', 0.5, 3 FROM b, generate_series(1, 3)""", image)
        await conn.execute("ANALYZE")
        yield conn
    finally:
        await conn.close()
        await drop_database(database.url, name)


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def rows(node: dict) -> float:
    return node["Actual Rows"] * node.get("Actual Loops", 1)


async def test_a_claim_neither_sorts_nor_reads_the_chosen_researchers_whole_queue(deep_queue):
    transaction = deep_queue.transaction()
    await transaction.start()
    try:
        raw = await deep_queue.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + q("claim_job"), "plan-test", 4, 30.0, uuid.uuid4())
    finally:
        await transaction.rollback()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    # a sort of a few rows (the free slots, the waiting researchers) is cheap; one of a queue is not
    sorts = [(n.get("Sort Key"), max(rows(c) for c in n["Plans"])) for n in nodes(plan)
             if n["Node Type"] in ("Sort", "Incremental Sort") and max(rows(c) for c in n["Plans"]) > FEW_ROWS]
    assert not sorts, f"the claim sorts a queue: {sorts}"
    wide = [(n["Node Type"], n.get("Relation Name"), n.get("Index Name"), rows(n)) for n in nodes(plan)
            if n.get("Relation Name") in ("jobs", "users") and rows(n) > FEW_ROWS]
    assert not wide, f"a scan returned more than {FEW_ROWS} rows for one claim: {wide}"
    waiting = await deep_queue.fetchval("SELECT count(*) FROM users WHERE queued > 0")
    assert waiting == WAITING, f"{waiting} researchers waiting, the plan was meant for {WAITING}"
