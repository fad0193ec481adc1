"""A claim's cost does not grow with the queue: its plan, at 50,000 queued jobs of one researcher.

Asserted on the plan (EXPLAIN ANALYZE, rolled back), never on a time: no step
may sort the chosen researcher's queue, and no scan of the jobs table may
return more than a handful of rows, however deep the queue is.
"""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from harness.stack.database import create_database, drop_database
from system.queue.queries import migrate, q

DEEP = 50_000
# The most rows one scan of jobs may return for one claim: the heads of the few waiting researchers, a few more.
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
    wide = [(n["Node Type"], n.get("Index Name"), rows(n)) for n in nodes(plan) if n.get("Relation Name") == "jobs" and rows(n) > FEW_ROWS]
    assert not wide, f"a scan of jobs returned more than {FEW_ROWS} rows for one claim: {wide}"
