"""A result the database acknowledged and then lost (issue 33, part 2), on real PostgreSQL and real processes.

After a failover to a replica that lacked the last commits, a job the worker completed is running again, under
the lease it was completed under, and nobody renews that lease: the job would stall until the lease ran out and
then run a second time.  The worker remembers what it wrote and writes it again at its next heartbeat.

The lost commit is made in the primary itself: the result, the job's end, its batch's end and its events are
put back as the kept history holds them.
"""

from __future__ import annotations

import asyncpg
import numpy as np

from harness.researchers.actors import Researcher
from harness.waiting import async_wait_until
from system.queue.config import WorkerSettings  # the harness's workers run with these defaults


async def job_row(url: str, job_id: int) -> asyncpg.Record:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchrow("SELECT status, attempts, lease_token, lease_expires_at, slot, finished_at, batch_id, user_id "
                                   "FROM jobs WHERE id = $1", job_id)
    finally:
        await conn.close()


async def lose_the_completion(url: str, job_id: int, running: asyncpg.Record, seq_before: int, lease_s: float):
    """The job as a promoted replica without the completion's commit holds it: running under its lease, which runs
    out ``lease_s`` from now (returned)."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            lease_end = await conn.fetchval("SELECT now() + make_interval(secs => $1::float8)", lease_s)
            await conn.execute("DELETE FROM results WHERE job_id = $1", job_id)
            await conn.execute("UPDATE jobs SET status = 'running', finished_at = NULL, model_used = NULL, lease_token = $2, slot = $3, "
                               "lease_expires_at = now() + make_interval(secs => $4::float8) WHERE id = $1",
                               job_id, running["lease_token"], running["slot"], lease_s)
            await conn.execute("UPDATE batches SET finished_at = NULL WHERE id = $1", running["batch_id"])
            await conn.execute("DELETE FROM events WHERE user_id = $1 AND seq > $2", running["user_id"], seq_before)
            await conn.execute("UPDATE users SET event_seq = $2 WHERE id = $1", running["user_id"], seq_before)
        return lease_end
    finally:
        await conn.close()


async def test_a_completion_the_database_lost_is_written_again_at_once_not_run_again(system):
    import aiohttp

    from system.inference import synthetic

    lease_s = WorkerSettings().lease_s
    db = system.database_url
    async with aiohttp.ClientSession() as session:
        r = await Researcher.sign_up(system.api_url, session, "lost-commit")
        await r.create_project()
        await r.upload_spheroids(1)
        inference = system.inference[0]
        inference.pause()  # the job is claimed and waits on the inference server: its lease can be read
        try:
            job_id = (await r.segment())["job_ids"][0]
            running = await async_wait_until(lambda: job_row(db, job_id), until=lambda row: row["status"] == "running", timeout=lease_s,
                                             describe=f"job {job_id} to be claimed")
            seq_before = (await r.api.me())["event_seq"]
        finally:
            inference.resume()
        done = await async_wait_until(lambda: job_row(db, job_id), until=lambda row: row["status"] == "succeeded", timeout=lease_s,
                                      describe=f"job {job_id} to succeed")
        assert done["attempts"] == running["attempts"] == 1

        lease_end = await lose_the_completion(db, job_id, running, seq_before, lease_s)
        again = await async_wait_until(lambda: job_row(db, job_id), until=lambda row: row["status"] != "running", timeout=2 * lease_s,
                                       describe=f"job {job_id}, whose completion was lost, to end")
        assert again["status"] == "succeeded" and again["attempts"] == running["attempts"], (
            f"the job was run again ({dict(again)}) instead of its result being written again")
        assert again["finished_at"] < lease_end, f"it ended at {again['finished_at']}, after the lease it was left under ran out"
        conn = await asyncpg.connect(db)
        try:
            events = await conn.fetch("SELECT seq, type FROM events WHERE user_id = $1 AND seq > $2 ORDER BY seq", running["user_id"], seq_before)
        finally:
            await conn.close()
        assert [e["type"] for e in events][:2] == ["job.succeeded", "batch.completed"], [tuple(e) for e in events]
        mask = await r.mask_of(r.images[0])
        assert mask.shape == r.images[0].truth.shape and synthetic.iou(mask, r.images[0].truth) > 0.5 and np.any(mask)
