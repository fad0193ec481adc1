"""The queue API's data access: named SQL in, the contract's JSON shapes out.

Route handlers (``api.py``) validate what the client sent and call one method
here; each method runs named statements from ``sql/`` (never SQL of its own)
through :class:`~system.queue.db.Database`, which turns an unreachable database
into 503 ``unavailable`` and an exhausted pool into 503 ``busy``.  Every read
and change is scoped by the caller's user id, so another user's resource
answers exactly as a missing one: 404 ``not_found``.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import uuid
from collections.abc import Sequence

import asyncpg

from ..common.http import ApiError
from ..common.measure import decode_mask, describe, in_micrometres
from ..contract import CSV_COLUMNS
from . import jobstore
from .db import CANNOT_TAKE_IT_NOW, Database
from .queries import q
from .shapes import as_text_cell, batch_json, image_json, iso, job_json, project_json, stored_image_json
from .uploads import Upload

# A worker counts in /api/queue while its heartbeat (every poll) is this recent.
WORKER_SEEN_S = 15.0


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"no such {what}")


def _current(polygons: list[dict], measurements: list[dict] | None) -> bool:
    return measurements is not None and all("spheroid" in p for p in polygons)


async def described(conn: asyncpg.Connection, row) -> tuple[list[dict], list[dict]]:
    """A result's ``(outlines, spheroids)``, each outline naming its spheroid (``measure.describe``).

    A result stored before outlines named their spheroid (or before results carried measurements) is
    described again from its mask - outlines and measurements together, so they agree - once, then kept.
    """
    polygons = json.loads(row["polygons"])
    measurements = json.loads(row["measurements"]) if row["measurements"] is not None else None
    if _current(polygons, measurements):
        return polygons, measurements
    polygons, spheroids = await asyncio.to_thread(describe, decode_mask(await conn.fetchval(q("result_mask"), row["job_id"])))
    await conn.execute(q("store_description"), row["job_id"], json.dumps(polygons), json.dumps(spheroids))
    return polygons, spheroids


async def spheroids_of(conn: asyncpg.Connection, row) -> list[dict]:
    """A result's measurements (see :func:`described`)."""
    return (await described(conn, row))[1]


class Store:
    def __init__(self, db: Database, max_attempts: int) -> None:
        self.db, self.max_attempts = db, max_attempts

    async def ping(self) -> None:
        async with self.db.connection() as conn:
            await conn.fetchval(q("ping"))

    # ------------------------------------------------------------ accounts
    async def create_user(self, username: str, password_hash: str) -> int:
        async with self.db.connection() as conn:
            try:
                return await conn.fetchval(q("create_user"), username, password_hash)
            except asyncpg.UniqueViolationError:
                raise ApiError(409, "username_taken", f"the username {username!r} is taken") from None

    async def me(self, uid: int) -> dict:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(q("me"), uid)
        return {"id": row["id"], "username": row["username"], "event_seq": row["event_seq"], "events_kept_from": row["events_kept_from"],
                "event_id": str(row["event_id"]) if row["event_id"] else None}

    async def password_hash_of(self, username: str) -> tuple[int, str] | None:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(q("user_by_name"), username)
        return (row["id"], row["password_hash"]) if row else None

    async def login_blocked_for(self, keys: list[tuple[str, int]], window_s: float) -> int | None:
        """Seconds until one more guess may be made, when a key has had its limit of failures in its window."""
        async with self.db.connection() as conn:
            return await conn.fetchval(q("login_blocked"), [k for k, _ in keys], [n for _, n in keys], window_s)

    async def login_failed(self, keys: list[str], window_s: float) -> None:
        async with self.db.connection() as conn:
            await conn.execute(q("login_failed"), keys, window_s)

    async def login_succeeded(self, key: str) -> None:
        async with self.db.connection() as conn:
            await conn.execute(q("login_succeeded"), key)

    async def create_token(self, token_hash: bytes, user_id: int, session_s: float) -> None:
        async with self.db.connection() as conn:
            await conn.execute(q("create_token"), token_hash, user_id, session_s)

    async def user_for_token(self, token_hash: bytes, session_s: float) -> int | None:
        """The user of a token that has not expired; one in use with less than half a session left gets a
        whole session again (a database that cannot take that write now does not refuse the request)."""
        async with self.db.connection() as conn:
            row = await conn.fetchrow(q("user_for_token"), token_hash)
            if row is not None and row["left_s"] < session_s / 2:
                with contextlib.suppress(*CANNOT_TAKE_IT_NOW):
                    await conn.execute(q("slide_token"), token_hash, session_s)
        return row["user_id"] if row else None

    async def revoke_token(self, token_hash: bytes) -> bool:
        async with self.db.connection() as conn:
            return await conn.fetchval(q("revoke_token"), token_hash) is not None

    # ------------------------------------------------------------ projects and images
    async def create_project(self, uid: int, name: str, pixel_size_um: float | None) -> dict:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(q("create_project"), uid, name, pixel_size_um)
        return {"id": row["id"], "name": row["name"], "pixel_size_um": row["pixel_size_um"], "created_at": iso(row["created_at"])}

    async def projects(self, uid: int) -> list[dict]:
        async with self.db.connection() as conn:
            return [project_json(r) for r in await conn.fetch(q("projects"), uid, None)]

    async def project(self, uid: int, project_id: int) -> dict:
        async with self.db.connection() as conn:
            rows = await conn.fetch(q("projects"), uid, project_id)
        if not rows:
            raise not_found("project")
        return project_json(rows[0])

    async def require_project(self, uid: int, project_id: int) -> None:
        async with self.db.connection() as conn:
            if not await conn.fetchval(q("own_project"), uid, project_id):
                raise not_found("project")

    async def add_images(self, uid: int, project_id: int, uploads: Sequence[Upload]) -> list[dict]:
        """Store every upload or none (one transaction, the project locked against deletion)."""
        async with self.db.connection() as conn, conn.transaction():
            if not await conn.fetchval(q("lock_own_project"), uid, project_id):
                raise not_found("project")
            rows = await conn.fetch(
                q("insert_images"), uid, project_id,
                [u.filename for u in uploads], [u.content_type for u in uploads],
                [u.width for u in uploads], [u.height for u in uploads], [u.data for u in uploads], [u.pages for u in uploads],
            )
        return [stored_image_json(r) for r in sorted(rows, key=lambda r: r["id"])]

    async def images(self, uid: int, project_id: int) -> list[dict]:
        async with self.db.connection() as conn:
            if not await conn.fetchval(q("own_project"), uid, project_id):
                raise not_found("project")
            return [image_json(r) for r in await conn.fetch(q("images"), uid, project_id, None)]

    async def image(self, uid: int, image_id: int) -> dict:
        async with self.db.connection() as conn:
            rows = await conn.fetch(q("images"), uid, None, image_id)
        if not rows:
            raise not_found("image")
        return image_json(rows[0], with_project=True)

    async def image_file(self, uid: int, image_id: int) -> tuple[bytes, str]:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(q("image_file"), uid, image_id)
        if row is None:
            raise not_found("image")
        return row["data"], row["content_type"]

    async def _latest_result(self, uid: int, image_id: int, statement: str) -> asyncpg.Record:
        async with self.db.connection() as conn:
            return await self._latest_result_on(conn, uid, image_id, statement)

    @staticmethod
    async def _latest_result_on(conn: asyncpg.Connection, uid: int, image_id: int, statement: str) -> asyncpg.Record:
        if not await conn.fetchval(q("own_image"), uid, image_id):
            raise not_found("image")
        row = await conn.fetchrow(statement, image_id)
        if row is None:
            raise ApiError(409, "not_ready", "no segmentation of this image has succeeded yet")
        return row

    async def mask(self, uid: int, image_id: int) -> bytes:
        return (await self._latest_result(uid, image_id, q("latest_mask")))["mask_png"]

    async def polygons(self, uid: int, image_id: int) -> dict:
        async with self.db.connection() as conn:
            row = await self._latest_result_on(conn, uid, image_id, q("latest_polygons"))
            polygons, _ = await described(conn, row)
        return {"model_used": row["model_used"], "polygons": polygons}

    async def measurements(self, uid: int, image_id: int) -> dict:
        async with self.db.connection() as conn:
            row = await self._latest_result_on(conn, uid, image_id, q("latest_measurements"))
            spheroids = await spheroids_of(conn, row)
        return {"model_used": row["model_used"], "pixel_size_um": row["pixel_size_um"],
                "spheroids": [in_micrometres(s, row["pixel_size_um"]) for s in spheroids]}

    async def measurements_csv(self, uid: int, project_id: int) -> str:
        """One row per spheroid of every segmented image of the project (``CSV_COLUMNS``)."""
        out = io.StringIO()
        table = csv.writer(out, lineterminator="\r\n")
        table.writerow(CSV_COLUMNS)
        async with self.db.connection() as conn:
            if not await conn.fetchval(q("own_project"), uid, project_id):
                raise not_found("project")
            for row in await conn.fetch(q("project_measurements"), uid, project_id):
                for spheroid in await spheroids_of(conn, row):
                    values = dict(row) | in_micrometres(spheroid, row["pixel_size_um"])
                    table.writerow([as_text_cell(values[c]) for c in CSV_COLUMNS])
        return out.getvalue()

    # ------------------------------------------------------------ segmentation
    async def segment(self, uid: int, project_id: int, image_ids: list[int] | None, model: str, threshold: float) -> dict:
        """Queue one job per image (all of the project's when ``image_ids`` is None)."""
        async with self.db.connection() as conn:
            if not await conn.fetchval(q("own_project"), uid, project_id):
                raise not_found("project")
            found = [r["id"] for r in await conn.fetch(q("project_image_ids"), uid, project_id, image_ids)]
            if image_ids is None:
                if not found:
                    raise ApiError(400, "invalid_request", "the project has no images to segment; upload some first")
                image_ids = found
            elif missing := [i for i in image_ids if i not in set(found)]:
                raise ApiError(404, "not_found", f"image {missing[0]} is not in this project")
            batch_id, job_ids = await jobstore.enqueue_batch(conn, uid, project_id, image_ids, model, threshold, self.max_attempts)
        return {"batch_id": batch_id, "job_ids": job_ids}

    async def batch(self, uid: int, batch_id: int) -> dict:
        async with self.db.connection() as conn:
            return await self._batch(conn, uid, batch_id)

    async def _batch(self, conn: asyncpg.Connection, uid: int, batch_id: int) -> dict:
        row = await conn.fetchrow(q("batch_summary"), uid, batch_id)
        if row is None:
            raise not_found("batch")
        return batch_json(row)

    async def cancel_batch(self, uid: int, batch_id: int) -> dict:
        async with self.db.connection() as conn:
            if not await jobstore.cancel_batch(conn, batch_id, uid):
                raise not_found("batch")
            return await self._batch(conn, uid, batch_id)

    async def job(self, uid: int, job_id: int) -> dict:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(q("job"), uid, job_id)
        if row is None:
            raise not_found("job")
        return job_json(row)

    async def queue(self, uid: int) -> dict:
        async with self.db.connection() as conn:
            row = await conn.fetchrow(q("queue_state"), uid, WORKER_SEEN_S)
        return {"mine": {"queued": row["my_queued"], "running": row["my_running"]},
                "total": {"queued": row["queued"], "running": row["running"]}, "workers": row["workers"]}

    # ------------------------------------------------------------ events
    async def event_position(self, uid: int) -> tuple[int, int, uuid.UUID | None]:
        """The user's last event seq, the first seq still kept (older ones were swept), and the last event's id."""
        async with self.db.connection() as conn:
            row = await conn.fetchrow(q("event_position"), uid)
        return row["event_seq"], row["events_kept_from"], row["event_id"]

    async def sweep_events(self, older_than_s: float, limit: int) -> int:
        """Delete up to ``limit`` events older than ``older_than_s``; how many went."""
        async with self.db.connection() as conn:
            return (await conn.fetchrow(q("sweep_events"), older_than_s, limit))["events"]

    async def events_from(self, uid: int, after: int, limit: int) -> list[asyncpg.Record]:
        """The event at seq ``after`` if it is still there, then up to ``limit`` later ones, in order."""
        async with self.db.connection() as conn:
            return await conn.fetch(q("events_from"), uid, after, limit)
