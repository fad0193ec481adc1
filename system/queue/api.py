"""The /api routes: accounts, projects, images, segmentation jobs and batches.

Every query that reads or changes a resource is scoped by the caller's user id,
so another user's resource answers exactly as a missing one: 404 not_found.
"""

from __future__ import annotations

import json
import math

import asyncpg
from aiohttp import web

from ..common.http import ApiError, read_json
from . import auth, jobstore
from .config import DEFAULT_MODEL, MODELS
from .keys import DB, SETTINGS
from .uploads import read_uploads

routes = web.RouteTableDef()
MAX_ID = 2**63 - 1
MAX_PROJECT_NAME = 200


def user_id(request: web.Request) -> int:
    return request["user_id"]


def path_id(request: web.Request, key: str = "id") -> int:
    value = int(request.match_info[key])  # the route pattern admits digits only
    if not 0 < value <= MAX_ID:
        raise ApiError(404, "not_found", "no such resource")
    return value


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"no such {what}")


def iso(value):
    return value.isoformat() if value is not None else None


# ----------------------------------------------------------------- accounts


@routes.post("/api/auth/register")
async def register(request: web.Request) -> web.Response:
    username, password = auth.validate_credentials(await read_json(request))
    password_hash = await auth.hash_password(password)
    async with request.app[DB].connection() as conn:
        try:
            uid = await conn.fetchval("INSERT INTO users (username, password_hash) VALUES ($1, $2) RETURNING id", username, password_hash)
        except asyncpg.UniqueViolationError:
            raise ApiError(409, "username_taken", f"the username {username!r} is taken") from None
    return web.json_response({"user_id": uid, "username": username}, status=201)


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    body = await read_json(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    async with request.app[DB].connection() as conn:
        row = await conn.fetchrow("SELECT id, password_hash FROM users WHERE username = $1", username)
    if row is None or not await auth.check_password(password, row["password_hash"]):
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    token, digest = auth.new_token()
    async with request.app[DB].connection() as conn:
        await conn.execute("INSERT INTO tokens (token_hash, user_id) VALUES ($1, $2)", digest, row["id"])
    return web.json_response({"token": token, "user_id": row["id"]})


# ----------------------------------------------------------------- projects


@routes.post("/api/projects")
async def create_project(request: web.Request) -> web.Response:
    name = (await read_json(request)).get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_PROJECT_NAME:
        raise ApiError(400, "invalid_request", f"name must be a string of 1-{MAX_PROJECT_NAME} characters")
    if "\x00" in name:
        raise ApiError(400, "invalid_request", "name must not contain NUL characters")
    async with request.app[DB].connection() as conn:
        row = await conn.fetchrow("INSERT INTO projects (user_id, name) VALUES ($1, $2) RETURNING id, name, created_at", user_id(request), name)
    return web.json_response({"id": row["id"], "name": row["name"], "created_at": iso(row["created_at"])}, status=201)


_PROJECTS = """
SELECT p.id, p.name, p.created_at, (SELECT count(*) FROM images i WHERE i.project_id = p.id) AS image_count
FROM projects p WHERE p.user_id = $1 {extra} ORDER BY p.id
"""


def project_json(row) -> dict:
    return {"id": row["id"], "name": row["name"], "image_count": row["image_count"], "created_at": iso(row["created_at"])}


@routes.get("/api/projects")
async def list_projects(request: web.Request) -> web.Response:
    async with request.app[DB].connection() as conn:
        rows = await conn.fetch(_PROJECTS.format(extra=""), user_id(request))
    return web.json_response([project_json(r) for r in rows])


@routes.get(r"/api/projects/{id:\d+}")
async def get_project(request: web.Request) -> web.Response:
    async with request.app[DB].connection() as conn:
        row = await conn.fetchrow(_PROJECTS.format(extra="AND p.id = $2"), user_id(request), path_id(request))
    if row is None:
        raise not_found("project")
    return web.json_response(project_json(row))


async def own_project(conn: asyncpg.Connection, request: web.Request) -> int:
    project_id = path_id(request)
    if not await conn.fetchval("SELECT 1 FROM projects WHERE id = $1 AND user_id = $2", project_id, user_id(request)):
        raise not_found("project")
    return project_id


# ----------------------------------------------------------------- images

_IMAGES = """
SELECT i.id, i.project_id, i.filename, i.width, i.height,
       j.id AS job_id, j.status, j.model, j.model_used,
       jsonb_array_length(r.polygons) AS polygon_count
FROM images i
LEFT JOIN LATERAL (SELECT * FROM jobs WHERE jobs.image_id = i.id ORDER BY id DESC LIMIT 1) j ON true
LEFT JOIN results r ON r.job_id = j.id
WHERE i.user_id = $1 AND {where}
ORDER BY i.id
"""


def image_json(row, with_project: bool = False) -> dict:
    seg = None
    if row["job_id"] is not None:
        seg = {"status": row["status"], "model": row["model"], "model_used": row["model_used"], "polygon_count": row["polygon_count"], "job_id": row["job_id"]}
    body = {"id": row["id"], "filename": row["filename"], "width": row["width"], "height": row["height"], "segmentation": seg}
    if with_project:
        body["project_id"] = row["project_id"]
    return body


@routes.post(r"/api/projects/{id:\d+}/images")
async def upload_images(request: web.Request) -> web.Response:
    db = request.app[DB]
    async with db.connection() as conn:
        project_id = await own_project(conn, request)
    uploads = await read_uploads(request)  # every file checked before anything is stored
    async with db.connection() as conn, conn.transaction():
        if not await conn.fetchval("SELECT 1 FROM projects WHERE id = $1 AND user_id = $2 FOR SHARE", project_id, user_id(request)):
            raise not_found("project")
        rows = await conn.fetch(
            """INSERT INTO images (project_id, user_id, filename, content_type, width, height, data)
               SELECT $1, $2, f, c, w, h, d FROM unnest($3::text[], $4::text[], $5::int[], $6::int[], $7::bytea[]) WITH ORDINALITY AS u(f, c, w, h, d, n)
               ORDER BY n RETURNING id, filename, width, height""",
            project_id, user_id(request),
            [u.filename for u in uploads], [u.content_type for u in uploads],
            [u.width for u in uploads], [u.height for u in uploads], [u.data for u in uploads],
        )
    rows = sorted(rows, key=lambda r: r["id"])
    return web.json_response([{"id": r["id"], "filename": r["filename"], "width": r["width"], "height": r["height"]} for r in rows], status=201)


@routes.get(r"/api/projects/{id:\d+}/images")
async def list_images(request: web.Request) -> web.Response:
    async with request.app[DB].connection() as conn:
        project_id = await own_project(conn, request)
        rows = await conn.fetch(_IMAGES.format(where="i.project_id = $2"), user_id(request), project_id)
    return web.json_response([image_json(r) for r in rows])


@routes.get(r"/api/images/{id:\d+}")
async def get_image(request: web.Request) -> web.Response:
    async with request.app[DB].connection() as conn:
        row = await conn.fetchrow(_IMAGES.format(where="i.id = $2"), user_id(request), path_id(request))
    if row is None:
        raise not_found("image")
    return web.json_response(image_json(row, with_project=True))


@routes.get(r"/api/images/{id:\d+}/file")
async def get_image_file(request: web.Request) -> web.Response:
    async with request.app[DB].connection() as conn:
        row = await conn.fetchrow("SELECT data, content_type FROM images WHERE id = $1 AND user_id = $2", path_id(request), user_id(request))
    if row is None:
        raise not_found("image")
    return web.Response(body=row["data"], content_type=row["content_type"])


async def latest_result(request: web.Request, columns: str):
    async with request.app[DB].connection() as conn:
        image_id = path_id(request)
        if not await conn.fetchval("SELECT 1 FROM images WHERE id = $1 AND user_id = $2", image_id, user_id(request)):
            raise not_found("image")
        row = await conn.fetchrow(f"SELECT {columns} FROM results WHERE image_id = $1 ORDER BY job_id DESC LIMIT 1", image_id)
    if row is None:
        raise ApiError(409, "not_ready", "no segmentation of this image has succeeded yet")
    return row


@routes.get(r"/api/images/{id:\d+}/mask")
async def get_mask(request: web.Request) -> web.Response:
    row = await latest_result(request, "mask_png")
    return web.Response(body=row["mask_png"], content_type="image/png")


@routes.get(r"/api/images/{id:\d+}/polygons")
async def get_polygons(request: web.Request) -> web.Response:
    row = await latest_result(request, "model_used, polygons")
    return web.json_response({"model_used": row["model_used"], "polygons": json.loads(row["polygons"])})


# ----------------------------------------------------------------- segmentation


def parse_segmentation(body: dict) -> tuple[list[int] | None, str, float]:
    image_ids = body.get("image_ids")
    if image_ids is not None:
        if not isinstance(image_ids, list) or not image_ids:
            raise ApiError(400, "invalid_request", "image_ids must be a non-empty list of image ids")
        if not all(type(i) is int and 0 < i <= MAX_ID for i in image_ids):
            raise ApiError(400, "invalid_request", "image_ids must hold positive integers")
        image_ids = list(dict.fromkeys(image_ids))
    model = body.get("model", DEFAULT_MODEL)
    if not isinstance(model, str):
        raise ApiError(400, "invalid_request", "model must be a string")
    if model not in MODELS:
        raise ApiError(400, "unknown_model", f"there is no model named {model[:64]!r}; known: {', '.join(MODELS)}")
    threshold = body.get("threshold", 0.5)
    if type(threshold) not in (int, float) or not math.isfinite(threshold) or not 0.05 <= threshold <= 0.95:
        raise ApiError(400, "invalid_request", "threshold must be a number from 0.05 to 0.95")
    return image_ids, model, float(threshold)


@routes.post(r"/api/projects/{id:\d+}/segmentations")
async def create_segmentation(request: web.Request) -> web.Response:
    image_ids, model, threshold = parse_segmentation(await read_json(request))
    uid = user_id(request)
    async with request.app[DB].connection() as conn:
        project_id = await own_project(conn, request)
        if image_ids is None:
            image_ids = [r["id"] for r in await conn.fetch("SELECT id FROM images WHERE project_id = $1 ORDER BY id", project_id)]
            if not image_ids:
                raise ApiError(400, "invalid_request", "the project has no images to segment")
        else:
            found = {r["id"] for r in await conn.fetch("SELECT id FROM images WHERE project_id = $1 AND id = ANY($2::bigint[])", project_id, image_ids)}
            missing = [i for i in image_ids if i not in found]
            if missing:
                raise ApiError(404, "not_found", f"image {missing[0]} is not in this project")
        batch_id, job_ids = await jobstore.enqueue_batch(conn, uid, project_id, image_ids, model, threshold, request.app[SETTINGS].max_attempts)
    return web.json_response({"batch_id": batch_id, "job_ids": job_ids}, status=202)


def batch_json(row) -> dict:
    if row["cancelled_at"] is not None:
        status = "cancelled"
    elif row["finished_at"] is not None:
        status = "completed"
    elif row["queued"] == row["total"]:
        status = "queued"
    else:
        status = "running"
    keys = ("id", "project_id", "model", "total", "queued", "running", "succeeded", "failed", "cancelled")
    return {k: row[k] for k in keys} | {"status": status, "created_at": iso(row["created_at"]), "finished_at": iso(row["finished_at"])}


async def fetch_batch(conn: asyncpg.Connection, batch_id: int, uid: int) -> dict:
    row = await conn.fetchrow(jobstore.q("batch_summary"), batch_id, uid)
    if row is None:
        raise not_found("batch")
    return batch_json(row)


@routes.get(r"/api/batches/{id:\d+}")
async def get_batch(request: web.Request) -> web.Response:
    async with request.app[DB].connection() as conn:
        return web.json_response(await fetch_batch(conn, path_id(request), user_id(request)))


@routes.post(r"/api/batches/{id:\d+}/cancel")
async def cancel_batch(request: web.Request) -> web.Response:
    batch_id, uid = path_id(request), user_id(request)
    async with request.app[DB].connection() as conn:
        if not await jobstore.cancel_batch(conn, batch_id, uid):
            raise not_found("batch")
        return web.json_response(await fetch_batch(conn, batch_id, uid))


@routes.get(r"/api/jobs/{id:\d+}")
async def get_job(request: web.Request) -> web.Response:
    async with request.app[DB].connection() as conn:
        row = await conn.fetchrow("SELECT * FROM jobs WHERE id = $1 AND user_id = $2", path_id(request), user_id(request))
    if row is None:
        raise not_found("job")
    error = {"code": row["error_code"], "message": row["error_message"]} if row["error_code"] and row["status"] != "succeeded" else None
    body = {k: row[k] for k in ("id", "batch_id", "image_id", "status", "model", "model_used", "attempts", "worker")}
    body |= {"error": error} | {k: iso(row[k]) for k in ("queued_at", "started_at", "finished_at")}
    return web.json_response(body)


@routes.get("/api/queue")
async def queue_state(request: web.Request) -> web.Response:
    async with request.app[DB].connection() as conn:
        row = await conn.fetchrow(
            """SELECT count(*) FILTER (WHERE status = 'queued' AND user_id = $1) AS my_queued,
                      count(*) FILTER (WHERE status = 'running' AND user_id = $1) AS my_running,
                      count(*) FILTER (WHERE status = 'queued') AS queued,
                      count(*) FILTER (WHERE status = 'running') AS running,
                      (SELECT count(*) FROM workers WHERE last_seen > now() - interval '15 seconds') AS workers
               FROM jobs WHERE status IN ('queued', 'running')""",
            user_id(request),
        )
    mine = {"queued": row["my_queued"], "running": row["my_running"]}
    total = {"queued": row["queued"], "running": row["running"]}
    return web.json_response({"mine": mine, "total": total, "workers": row["workers"]})
