"""The job lifecycle against a real PostgreSQL: races that only a real database shows."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid

import asyncpg
import pytest

from harness.stack.database import create_database, drop_database
from system.queue import jobstore
from system.queue.queries import migrate

_names = itertools.count()


@pytest.fixture(scope="module")
async def own_database(database):
    """A database of this module's own: the session's system runs workers that would claim these jobs."""
    name = f"jobstore_{uuid.uuid4().hex[:8]}"
    await create_database(database.url, name)
    yield database.url.rsplit("/", 1)[0] + f"/{name}"
    await drop_database(database.url, name)


@pytest.fixture
async def pool(own_database):
    pool = await asyncpg.create_pool(own_database, min_size=4, max_size=12)
    async with pool.acquire() as conn:
        await migrate(conn)
    yield pool
    await pool.close()


async def make_user(conn, images: int = 1) -> tuple[int, int, list[int]]:
    user = await conn.fetchval("INSERT INTO users (username, password_hash) VALUES ($1, 'x') RETURNING id", f"js-{next(_names)}")
    project = await conn.fetchval("INSERT INTO projects (user_id, name) VALUES ($1, 'p') RETURNING id", user)
    ids = [await conn.fetchval(
        "INSERT INTO images (project_id, user_id, filename, content_type, width, height, data) VALUES ($1, $2, 'a.png', 'image/png', 1, 1, 'x') RETURNING id",
        project, user) for _ in range(images)]
    return user, project, ids


async def claim_n(pool, n: int, bound: int = 4) -> list[jobstore.ClaimedJob]:
    jobs = []
    async with pool.acquire() as conn:
        while len(jobs) < n and (job := await jobstore.claim(conn, "test", bound, 30, uuid.uuid4())) is not None:
            jobs.append(job)
    return jobs


async def test_jobs_finishing_at_once_complete_their_batch_exactly_once(pool):
    async with pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET status = 'cancelled', slot = NULL, lease_token = NULL WHERE status IN ('queued', 'running')")
        user, project, images = await make_user(conn, 4)
    for _ in range(15):
        async with pool.acquire() as conn:
            batch_id, _ = await jobstore.enqueue_batch(conn, user, project, images, "unet", 0.5, 3)
        jobs = await claim_n(pool, 4)
        assert len(jobs) == 4

        async def finish(job):
            async with pool.acquire() as conn:
                assert await jobstore.complete(conn, job, "unet", b"png", [], [])

        await asyncio.gather(*(finish(j) for j in jobs))
        async with pool.acquire() as conn:
            finished = await conn.fetchval("SELECT finished_at FROM batches WHERE id = $1", batch_id)
            completed = await conn.fetchval(
                "SELECT count(*) FROM events WHERE user_id = $1 AND type = 'batch.completed' AND (body->>'batch_id')::bigint = $2", user, batch_id)
        assert finished is not None and completed == 1


async def test_the_user_with_fewer_running_jobs_goes_first(pool):
    async with pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET status = 'cancelled', slot = NULL, lease_token = NULL WHERE status IN ('queued', 'running')")
        big, big_project, big_images = await make_user(conn, 1)
        small, small_project, small_images = await make_user(conn, 1)
        await jobstore.enqueue_batch(conn, big, big_project, big_images * 10, "unet", 0.5, 3)
        await jobstore.enqueue_batch(conn, small, small_project, small_images * 2, "unet", 0.5, 3)
    order = [j.user_id for j in await claim_n(pool, 4)]
    # neither was served yet: the older account goes first; then small has fewer running; then alternate
    assert order == [big, small, big, small]


async def test_concurrent_claims_never_exceed_the_bound(pool):
    async with pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET status = 'cancelled', slot = NULL, lease_token = NULL WHERE status IN ('queued', 'running')")
        user, project, images = await make_user(conn, 1)
        await jobstore.enqueue_batch(conn, user, project, images * 40, "unet", 0.5, 3)

    async def claimer():
        got = []
        async with pool.acquire() as conn:
            for _ in range(10):
                try:
                    job = await jobstore.claim(conn, "racer", 4, 30, uuid.uuid4())
                except asyncpg.UniqueViolationError:
                    continue
                if job:
                    got.append(job)
        return got

    claimed = [j for js in await asyncio.gather(*(claimer() for _ in range(8))) for j in js]
    async with pool.acquire() as conn:
        running = await conn.fetchval("SELECT count(*) FROM jobs WHERE status = 'running'")
    assert len(claimed) == running == 4


async def test_a_lost_lease_cannot_overwrite_the_new_owners_result(pool):
    async with pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET status = 'cancelled', slot = NULL, lease_token = NULL WHERE status IN ('queued', 'running')")
        user, project, images = await make_user(conn, 1)
        await jobstore.enqueue_batch(conn, user, project, images, "unet", 0.5, 3)
        old = await jobstore.claim(conn, "old", 4, 30, uuid.uuid4())
        await conn.execute("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = $1", old.id)
        assert await jobstore.requeue_expired(conn, 0.0) == 1
        new = await jobstore.claim(conn, "new", 4, 30, uuid.uuid4())
        assert new.id == old.id and new.attempts == 2
        assert not await jobstore.renew(conn, old, 30)
        assert not await jobstore.complete(conn, old, "unet", b"old", [], [])
        assert await jobstore.complete(conn, new, "unet", b"new", [], [])
        assert not await jobstore.complete(conn, new, "unet", b"again", [], [])
        assert await conn.fetchval("SELECT mask_png FROM results WHERE job_id = $1", new.id) == b"new"


async def test_a_claim_whose_answer_was_lost_is_found_by_its_token(pool):
    """The worker chooses the lease token, so after an error it can ask whether its claim went through."""
    async with pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET status = 'cancelled', slot = NULL, lease_token = NULL WHERE status IN ('queued', 'running')")
        user, project, images = await make_user(conn, 2)
        await jobstore.enqueue_batch(conn, user, project, images, "unet", 0.5, 3)
        token = uuid.uuid4()
        claimed = await jobstore.claim(conn, "lost-answer", 4, 30, token)
        found = await jobstore.claimed_with(conn, token)
        assert found == claimed and found.lease_token == token and found.image
        assert await jobstore.claimed_with(conn, uuid.uuid4()) is None  # a claim that never committed
        assert await jobstore.complete(conn, found, "unet", b"done", [], [])
        assert await jobstore.claimed_with(conn, token) is None  # no longer running under it


async def test_a_jobs_life_writes_its_events_in_order_with_their_fields(pool):
    """Every event, written by Python (enqueue) or by SQL (claim, complete), takes the user's next seq and the documented fields."""
    async with pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET status = 'cancelled', slot = NULL, lease_token = NULL WHERE status IN ('queued', 'running')")
        user, project, images = await make_user(conn, 1)
        batch_id, [job_id] = await jobstore.enqueue_batch(conn, user, project, images, "unet", 0.5, 3)
        job = await jobstore.claim(conn, "life", 4, 30, uuid.uuid4())
        assert (job.id, job.attempts, job.image) == (job_id, 1, b"x")
        assert await jobstore.complete(conn, job, "hrnet", b"png", [], [])
        rows = await conn.fetch("SELECT seq, type, body FROM events WHERE user_id = $1 ORDER BY seq", user)
    ids = {"project_id": project, "batch_id": batch_id, "job_id": job_id, "image_id": images[0]}
    assert [r["seq"] for r in rows] == [1, 2, 3, 4]
    assert [(r["type"], json.loads(r["body"])) for r in rows] == [
        ("job.queued", ids | {"status": "queued"}),
        ("job.started", ids | {"status": "running", "attempt": 1}),
        ("job.succeeded", ids | {"status": "succeeded", "model_used": "hrnet"}),
        ("batch.completed", ids | {"job_id": None, "image_id": None, "status": "completed"}),
    ]


async def test_a_cancelled_batch_completes_as_cancelled_when_its_running_job_ends(pool):
    """cancel ends the queued jobs; the batch closes, once, when the job still running ends (close_batch on both paths)."""
    async with pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET status = 'cancelled', slot = NULL, lease_token = NULL WHERE status IN ('queued', 'running')")
        user, project, images = await make_user(conn, 3)
        batch_id, _ = await jobstore.enqueue_batch(conn, user, project, images, "unet", 0.5, 3)
        running = await jobstore.claim(conn, "cancel", 4, 30, uuid.uuid4())
        assert await jobstore.cancel_batch(conn, batch_id, user)
        closed_early = await conn.fetchval("SELECT finished_at FROM batches WHERE id = $1", batch_id)
        assert await jobstore.complete(conn, running, "unet", b"png", [], [])
        rows = await conn.fetch("SELECT type, body FROM events WHERE user_id = $1 ORDER BY seq", user)
    assert closed_early is None
    assert [r["type"] for r in rows][-4:] == ["job.cancelled", "job.cancelled", "job.succeeded", "batch.completed"]
    assert json.loads(rows[-1]["body"])["status"] == "cancelled"


async def test_a_researcher_served_lately_waits_behind_one_not_served_yet(pool):
    """Four researchers with large batches hold the four slots; two arrive with small ones.  Whenever a slot
    frees, the large researcher whose job ended has no job running, like the newcomers: the newcomers go first."""
    async with pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET status = 'cancelled', slot = NULL, lease_token = NULL WHERE status IN ('queued', 'running')")
        large = [await make_user(conn, 1) for _ in range(4)]
        for user, project, images in large:
            await jobstore.enqueue_batch(conn, user, project, images * 20, "unet", 0.5, 3)
    running = await claim_n(pool, 4)
    assert sorted(j.user_id for j in running) == sorted(u for u, _, _ in large)
    async with pool.acquire() as conn:
        small = [await make_user(conn, 1) for _ in range(2)]
        for user, project, images in small:
            await jobstore.enqueue_batch(conn, user, project, images * 2, "unet", 0.5, 3)
    served = []
    for job in running[:2]:
        async with pool.acquire() as conn:
            assert await jobstore.complete(conn, job, "unet", b"png", [], [])
        served += [j.user_id for j in await claim_n(pool, 1)]
    assert served == [u for u, _, _ in small], f"after the first two large jobs ended, {served} were served, not the newcomers"


async def counters_and_counts(conn) -> tuple[list, list]:
    kept = await conn.fetch("SELECT id, queued, running FROM users ORDER BY id")
    counted = await conn.fetch("SELECT u.id, count(j.id) FILTER (WHERE j.status = 'queued') AS queued, "
                               "count(j.id) FILTER (WHERE j.status = 'running') AS running "
                               "FROM users u LEFT JOIN jobs j ON j.user_id = u.id GROUP BY u.id ORDER BY u.id")
    return [tuple(r) for r in kept], [tuple(r) for r in counted]


async def test_each_researchers_counters_follow_every_change_of_their_jobs(pool):
    """The counters the claim orders by (migration 007) equal the jobs' own counts after every kind of change."""
    async with pool.acquire() as conn:
        await conn.execute("UPDATE jobs SET status = 'cancelled', slot = NULL, lease_token = NULL WHERE status IN ('queued', 'running')")
        users = [await make_user(conn, 3) for _ in range(3)]
        batches = [(await jobstore.enqueue_batch(conn, u, p, imgs * 3, "unet", 0.5, 2))[0] for u, p, imgs in users]
    steps = []
    jobs = await claim_n(pool, 4)
    steps.append("claim 4")
    async with pool.acquire() as conn:
        assert await jobstore.complete(conn, jobs[0], "unet", b"png", [], [])
        steps.append("complete")
        assert await jobstore.fail_attempt(conn, jobs[1].id, jobs[1].lease_token, "boom", "failed once", 0.0) == "queued"
        steps.append("fail, queued again")
        assert await jobstore.hand_back(conn, jobs[2])
        steps.append("hand back")
        await conn.execute("UPDATE jobs SET lease_expires_at = now() - interval '1 s' WHERE id = $1", jobs[3].id)
        assert await jobstore.requeue_expired(conn, 0.0) == 1
        steps.append("lease expired")
        assert await jobstore.cancel_batch(conn, batches[1], users[1][0])
        steps.append("cancel")
        await conn.execute("DELETE FROM users WHERE id = $1", users[2][0])
        steps.append("delete a researcher")
        await conn.execute("SELECT 1")  # lease renewals change no status
        kept, counted = await counters_and_counts(conn)
    assert kept == counted, f"after {steps}: kept {kept}, counted {counted}"
