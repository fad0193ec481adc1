"""The routes of a researcher's day beyond the job lifecycle (docs/api.md: Batches of a project, Display, Exports).

- ``GET /api/projects/{id}/batches`` and ``GET /api/batches/{id}/jobs``: what a page needs to pick up a batch
  it did not start (a reload, a second tab, the next morning);
- ``GET /api/projects/{id}/measurements``: every spheroid of the project as JSON, by image (the page's overview);
- ``GET /api/images/{id}/display``: the image as a browser can show it (``system/common/display.py``);
- ``GET /api/projects/{id}/masks.zip``, ``GET /api/images/{id}/outlines.geojson`` and
  ``GET /api/images/{id}/outlines-imagej.zip``: results for Fiji/ImageJ, QuPath and notebooks (``exports.py``).

Every route is the caller's own: another researcher's project, batch or image answers 404 like a missing one.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..common import display
from ..common.http import ApiError
from ..common.measure import in_micrometres
from .api import path_id, user_id
from .exports import geojson, geojson_bytes, imagej_rois, masks_zip
from .keys import DB
from .queries import q
from .shapes import batch_json
from .store import described, not_found, spheroids_of

routes = web.RouteTableDef()
MAX_BATCHES = 100


def _limit(request: web.Request, default: int = 20) -> int:
    raw = request.query.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_BATCHES:
        raise ApiError(400, "invalid_request", f"limit must be a whole number from 1 to {MAX_BATCHES}")
    return int(raw)


def _attachment(body: bytes, content_type: str, filename: str) -> web.Response:
    return web.Response(body=body, content_type=content_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@routes.get(r"/api/projects/{id:\d+}/batches")
async def project_batches(request: web.Request) -> web.Response:
    uid, project_id, limit = user_id(request), path_id(request), _limit(request)
    async with request.app[DB].connection() as conn:
        if not await conn.fetchval(q("own_project"), uid, project_id):
            raise not_found("project")
        rows = await conn.fetch(q("project_batches"), uid, project_id, limit)
    return web.json_response([batch_json(r) for r in rows])


@routes.get(r"/api/batches/{id:\d+}/jobs")
async def batch_jobs(request: web.Request) -> web.Response:
    async with request.app[DB].connection() as conn:
        rows = await conn.fetch(q("batch_jobs"), user_id(request), path_id(request))
    if not rows:  # a batch always has jobs: none means not this caller's batch
        raise not_found("batch")
    return web.json_response([{"id": r["id"], "image_id": r["image_id"], "status": r["status"]} for r in rows])


@routes.get(r"/api/images/{id:\d+}/display")
async def image_display(request: web.Request) -> web.Response:
    async with request.app[DB].connection() as conn:
        row = await conn.fetchrow(q("image_file"), user_id(request), path_id(request))
    if row is None:
        raise not_found("image")
    shown = await asyncio.to_thread(display.render, row["data"])
    return web.Response(body=shown.data, content_type=shown.content_type,
                        headers={"X-Display-Stretch": shown.header(), "Cache-Control": "private, max-age=3600",
                                 "Content-Disposition": f'inline; filename="image-{path_id(request)}"'})


async def _image_result(request: web.Request) -> tuple[dict, list, list]:
    uid, image_id = user_id(request), path_id(request)
    async with request.app[DB].connection() as conn:
        if not await conn.fetchval(q("own_image"), uid, image_id):
            raise not_found("image")
        row = await conn.fetchrow(q("image_result"), uid, image_id)
        if row is None:
            raise ApiError(409, "not_ready", "no segmentation of this image has succeeded yet")
        polygons, spheroids = await described(conn, row)
    return dict(row), polygons, spheroids


@routes.get(r"/api/images/{id:\d+}/outlines.geojson")
async def outlines_geojson(request: web.Request) -> web.Response:
    row, polygons, spheroids = await _image_result(request)
    body = geojson_bytes(geojson(row, polygons, spheroids, row["pixel_size_um"]))
    return _attachment(body, "application/geo+json", f"image-{row['id']}-outlines.geojson")


@routes.get(r"/api/images/{id:\d+}/outlines-imagej.zip")
async def outlines_imagej(request: web.Request) -> web.Response:
    row, polygons, spheroids = await _image_result(request)
    body = await asyncio.to_thread(imagej_rois, polygons, spheroids)
    return _attachment(body, "application/zip", f"image-{row['id']}-RoiSet.zip")


@routes.get(r"/api/projects/{id:\d+}/measurements")
async def project_measurements(request: web.Request) -> web.Response:
    """The CSV's figures as JSON, by image: what the page's overview draws, and what a notebook reads."""
    uid, project_id = user_id(request), path_id(request)
    async with request.app[DB].connection() as conn:
        project = await conn.fetchrow(q("own_project_row"), uid, project_id)
        if project is None:
            raise not_found("project")
        rows = await conn.fetch(q("project_results"), uid, project_id, False)
        images = [{"image_id": r["id"], "filename": r["filename"], "model_used": r["model_used"],
                   "spheroids": [in_micrometres(s, r["pixel_size_um"]) for s in await spheroids_of(conn, r)]} for r in rows]
    return web.json_response({"project_id": project_id, "pixel_size_um": project["pixel_size_um"], "images": images})


@routes.get(r"/api/projects/{id:\d+}/masks.zip")
async def project_masks(request: web.Request) -> web.Response:
    uid, project_id = user_id(request), path_id(request)
    async with request.app[DB].connection() as conn:
        if not await conn.fetchval(q("own_project"), uid, project_id):
            raise not_found("project")
        rows = [dict(r) for r in await conn.fetch(q("project_results"), uid, project_id, True)]
    body = await asyncio.to_thread(masks_zip, rows)
    return _attachment(body, "application/zip", f"project-{project_id}-masks.zip")
