"""The job lifecycle in PostgreSQL: enqueue, claim, renew, complete, fail, cancel.

Every state change and the events it produces commit in one transaction, and
each transaction ends with a NOTIFY, so an event is visible exactly when its
state is.  Lock order, to keep transactions from deadlocking: job rows, then
the batch row, then the user row (taken last, by :func:`emit`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from .queries import q

FINAL_EVENT = {"succeeded": "job.succeeded", "failed": "job.failed", "cancelled": "job.cancelled"}


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    batch_id: int
    image_id: int
    project_id: int
    user_id: int
    model: str
    threshold: float
    attempts: int
    max_attempts: int
    lease_token: UUID
    image: bytes


CLAIMED_FIELDS = tuple(ClaimedJob.__dataclass_fields__)


async def emit(conn: asyncpg.Connection, user_id: int, events: Sequence[tuple[str, dict]]) -> list[int]:
    """Append ``events`` (type, body) to the user's stream; returns their seqs."""
    if not events:
        return []
    row = await conn.fetchrow(q("emit_events"), user_id, [t for t, _ in events], [json.dumps(b) for _, b in events])
    return list(row["seqs"])


def job_event(kind: str, row: asyncpg.Record | dict, status: str, **extra) -> tuple[str, dict]:
    body = {
        "project_id": row["project_id"],
        "batch_id": row["batch_id"],
        "job_id": row["id"],
        "image_id": row["image_id"],
        "status": status,
    }
    body.update(extra)
    return kind, body


async def enqueue_batch(
    conn: asyncpg.Connection, user_id: int, project_id: int, image_ids: Sequence[int], model: str, threshold: float, max_attempts: int
) -> tuple[int, list[int]]:
    async with conn.transaction():
        batch_id = await conn.fetchval(q("insert_batch"), project_id, user_id, model, threshold, len(image_ids))
        rows = await conn.fetch(q("insert_jobs"), batch_id, project_id, user_id, model, threshold, max_attempts, list(image_ids))
        rows = sorted(rows, key=lambda r: r["id"])
        await emit(conn, user_id, [job_event("job.queued", r, "queued") for r in rows])
        await conn.execute(q("notify_jobs"))
    return batch_id, [r["id"] for r in rows]


async def claim(conn: asyncpg.Connection, worker: str, max_running: int, lease_s: float, lease_token: UUID) -> ClaimedJob | None:
    """Start the fairest next job under ``lease_token`` (the worker's own), or return None when none may start now.

    One statement, so one round trip: the claim, its ``job.started`` event and the
    NOTIFY commit together.  Raises ``asyncpg.UniqueViolationError`` when a
    concurrent claim took the same slot; the caller simply tries again.  When the
    answer is lost, :func:`claimed_with` tells whether the claim went through.
    """
    row = await conn.fetchrow(q("claim_job"), worker, max_running, lease_s, lease_token)
    return None if row is None else ClaimedJob(**{name: row[name] for name in CLAIMED_FIELDS})


async def claimed_with(conn: asyncpg.Connection, lease_token: UUID) -> ClaimedJob | None:
    """The job a claim under ``lease_token`` started, if it committed and the job still runs under it."""
    row = await conn.fetchrow(q("claimed_with"), lease_token)
    return None if row is None else ClaimedJob(**{name: row[name] for name in CLAIMED_FIELDS})


async def renew(conn: asyncpg.Connection, job: ClaimedJob, lease_s: float) -> bool:
    """Extend the lease; False when this worker no longer holds the job."""
    return await conn.fetchval(q("renew_lease"), job.id, job.lease_token, lease_s) is not None


async def complete(
    conn: asyncpg.Connection, job: ClaimedJob, model_used: str, mask_png: bytes, polygons: list, measurements: list
) -> bool:
    """Store the result (mask, outlines, the spheroids' measurements), mark the job succeeded and,
    if it was its batch's last open job, finish the batch, with their events: one round trip
    (``routines/complete_job.sql``).  False (and nothing written) if the lease was lost."""
    return await conn.fetchval(q("complete_job"), job.id, job.lease_token, model_used, mask_png, json.dumps(polygons),
                               json.dumps(measurements))


async def fail_attempt(
    conn: asyncpg.Connection, job_id: int, lease_token: UUID | None, code: str, message: str, backoff_s: float
) -> str | None:
    """Record a failed attempt; returns the job's new status, None if the lease was lost."""
    async with conn.transaction():
        row = await conn.fetchrow(q("fail_attempt"), job_id, lease_token, code, message[:1000], backoff_s)
        if row is None:
            return None
        if row["status"] == "failed":
            await _after_final(conn, [row], error={"code": code, "message": message[:1000]})
        else:
            await conn.execute(q("notify_jobs"))
    return row["status"]


async def hand_back(conn: asyncpg.Connection, job: ClaimedJob) -> bool:
    """Give ``job`` back uncharged (a stopping worker's); its owner hears ``job.queued`` with the reason.
    False when the job is no longer this lease's."""
    async with conn.transaction():
        row = await conn.fetchrow(q("hand_back_job"), job.id, job.lease_token)
        if row is None:
            return False
        await emit(conn, row["user_id"], [job_event("job.queued", row, "queued", reason="worker_stopped")])
        await conn.execute(q("notify_jobs"))
    return True


async def requeue_expired(conn: asyncpg.Connection, backoff_s: float) -> int:
    """Take back jobs whose worker stopped renewing its lease (it died); returns how many."""
    count = 0
    async with conn.transaction():
        ids = [r["id"] for r in await conn.fetch(q("expired_leases"))]
        for job_id in ids:
            row = await conn.fetchrow(q("fail_attempt"), job_id, None, "worker_lost", "the worker running this job stopped answering", 0.0)
            if row is None:
                continue
            count += 1
            if row["status"] == "failed":
                await _after_final(conn, [row], error={"code": "worker_lost", "message": "the worker running this job stopped answering"})
        if count:
            await conn.execute(q("notify_jobs"))
    return count


async def cancel_batch(conn: asyncpg.Connection, batch_id: int, user_id: int) -> bool:
    """Cancel a batch's queued jobs; running ones finish.  False if no such batch of this user."""
    async with conn.transaction():
        batch = await conn.fetchrow(q("lock_batch"), batch_id)
        if batch is None or batch["user_id"] != user_id:
            return False
        rows = await conn.fetch(q("cancel_queued_jobs"), batch_id)
        await conn.execute(q("mark_batch_cancelled"), batch_id)
        await _after_final(conn, sorted(rows, key=lambda r: r["id"]))
    return True


async def _after_final(conn: asyncpg.Connection, rows: Iterable[asyncpg.Record], **extra) -> None:
    """Emit the final event of each job and, when its batch has nothing left to run, the batch's."""
    rows = list(rows)
    by_user: dict[int, list[tuple[str, dict]]] = {}
    user_of_batch = {r["batch_id"]: r["user_id"] for r in rows}  # a batch's jobs are its owner's
    for r in rows:
        by_user.setdefault(r["user_id"], []).append(job_event(FINAL_EVENT[r["status"]], r, r["status"], **extra))
    for batch_id in sorted(user_of_batch):
        closed = await conn.fetchval(q("close_batch"), batch_id)
        if closed is not None:
            by_user[user_of_batch[batch_id]].append(("batch.completed", json.loads(closed)))
    for user_id, events in by_user.items():
        await emit(conn, user_id, events)
