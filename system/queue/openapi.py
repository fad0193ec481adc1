"""The OpenAPI 3 document of the queue API (shared/API.md section 1).

Written by hand from the contract; ``tests/unit/test_openapi.py`` checks that
every route the app serves is documented here and nothing else is.
"""

from __future__ import annotations

from functools import cache

_ERR = {"$ref": "#/components/schemas/Error"}
_ID = {"type": "integer", "minimum": 1}
_TS = {"type": "string", "format": "date-time"}


def _obj(props: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": props, "required": required if required is not None else list(props)}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, ok: tuple[int, dict | None], errors: dict[int, str], body: dict | None = None, auth: bool = True, params: list | None = None) -> dict:
    status, schema = ok
    responses = {str(status): {"description": "success"} | (_json(schema) if schema else {})}
    if auth:
        errors = {401: "unauthorized", 503: "busy"} | errors
    for code, names in errors.items():
        responses[str(code)] = {"description": names} | _json(_ERR)
    op = {"summary": summary, "responses": responses}
    if body:
        op["requestBody"] = {"required": True} | body
    if not auth:
        op["security"] = []
    if params:
        op["parameters"] = params
    return op


def _path_id(name: str = "id") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": _ID}


SEGMENTATION = _obj(
    {"status": {"type": "string"}, "model": {"type": "string"}, "model_used": {"type": ["string", "null"]},
     "polygon_count": {"type": ["integer", "null"]}, "job_id": _ID}
)
IMAGE = _obj({"id": _ID, "filename": {"type": "string"}, "width": {"type": "integer"}, "height": {"type": "integer"},
              "segmentation": {"oneOf": [{"type": "null"}, SEGMENTATION]}})
PROJECT = _obj({"id": _ID, "name": {"type": "string"}, "image_count": {"type": "integer"}, "created_at": _TS})
COUNTS = {k: {"type": "integer"} for k in ("total", "queued", "running", "succeeded", "failed", "cancelled")}
BATCH = _obj({"id": _ID, "project_id": _ID, "model": {"type": "string"},
              "status": {"enum": ["queued", "running", "completed", "cancelled"]}, **COUNTS,
              "created_at": _TS, "finished_at": {"type": ["string", "null"], "format": "date-time"}})
JOB = _obj({"id": _ID, "batch_id": _ID, "image_id": _ID, "status": {"enum": ["queued", "running", "succeeded", "failed", "cancelled"]},
            "model": {"type": "string"}, "model_used": {"type": ["string", "null"]}, "attempts": {"type": "integer"},
            "error": {"oneOf": [{"type": "null"}, _obj({"code": {"type": "string"}, "message": {"type": "string"}})]},
            "queued_at": _TS, "started_at": {"type": ["string", "null"]}, "finished_at": {"type": ["string", "null"]},
            "worker": {"type": ["string", "null"]}})
POLYGON = _obj({"type": {"enum": ["external", "internal"]}, "points": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}})
CREDENTIALS = _json(_obj({"username": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{3,64}$"},
                          "password": {"type": "string", "minLength": 8, "maxLength": 128}}))
UPLOAD = {"content": {"multipart/form-data": {"schema": _obj({"file": {"type": "array", "maxItems": 100, "items": {"type": "string", "format": "binary"}}})}}}
SEGMENT_REQUEST = _json({"type": "object", "properties": {
    "image_ids": {"type": "array", "minItems": 1, "items": _ID},
    "model": {"enum": ["unet", "resunet_cbam", "hrnet"], "default": "hrnet"},
    "threshold": {"type": "number", "minimum": 0.05, "maximum": 0.95, "default": 0.5}}})
TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}
STORED = {"type": "array", "items": _obj({"id": _ID, "filename": {"type": "string"}, "width": {"type": "integer"}, "height": {"type": "integer"}})}
POLYGONS = _obj({"model_used": {"type": "string"}, "polygons": {"type": "array", "items": POLYGON}})
QUEUED = _obj({"batch_id": _ID, "job_ids": {"type": "array", "items": _ID}})
UPLOAD_ERRORS = {400: "invalid_request, invalid_image", 404: "not_found", 413: "too_large", 415: "unsupported_type"}


@cache
def spec() -> dict:
    pid, iid, bid, jid = _path_id(), _path_id(), _path_id(), _path_id()
    paths = {
        "/api/auth/register": {"post": _op("Create an account", (201, _obj({"user_id": _ID, "username": {"type": "string"}})),
                                           {400: "invalid_request", 409: "username_taken"}, CREDENTIALS, auth=False)},
        "/api/auth/login": {"post": _op("Get a bearer token", (200, _obj({"token": {"type": "string"}, "user_id": _ID})),
                                        {400: "invalid_request", 401: "invalid_credentials"}, CREDENTIALS, auth=False)},
        "/api/projects": {
            "post": _op("Create a project", (201, _obj({"id": _ID, "name": {"type": "string"}, "created_at": _TS})),
                        {400: "invalid_request"}, _json(_obj({"name": {"type": "string", "minLength": 1, "maxLength": 200}}))),
            "get": _op("The caller's projects", (200, {"type": "array", "items": PROJECT}), {}),
        },
        "/api/projects/{id}": {"get": _op("One project", (200, PROJECT), {404: "not_found"}, params=[pid])},
        "/api/projects/{id}/images": {
            "post": _op("Upload images (all or nothing)", (201, STORED), UPLOAD_ERRORS, UPLOAD, params=[pid]),
            "get": _op("The project's images", (200, {"type": "array", "items": IMAGE}), {404: "not_found"}, params=[pid]),
        },
        "/api/images/{id}": {"get": _op("One image", (200, IMAGE), {404: "not_found"}, params=[iid])},
        "/api/images/{id}/file": {"get": _op("The original bytes", (200, None), {404: "not_found"}, params=[iid])},
        "/api/images/{id}/mask": {"get": _op("The latest mask, a one-channel PNG of 0 and 255", (200, None),
                                             {404: "not_found", 409: "not_ready"}, params=[iid])},
        "/api/images/{id}/polygons": {"get": _op("The latest outlines", (200, POLYGONS), {404: "not_found", 409: "not_ready"}, params=[iid])},
        "/api/projects/{id}/segmentations": {"post": _op("Queue a batch of segmentation jobs", (202, QUEUED),
                                                         {400: "invalid_request, unknown_model", 404: "not_found"}, SEGMENT_REQUEST, params=[pid])},
        "/api/batches/{id}": {"get": _op("A batch's progress", (200, BATCH), {404: "not_found"}, params=[bid])},
        "/api/batches/{id}/cancel": {"post": _op("Cancel a batch's queued jobs; running ones finish", (200, BATCH), {404: "not_found"}, params=[bid])},
        "/api/jobs/{id}": {"get": _op("One job", (200, JOB), {404: "not_found"}, params=[jid])},
        "/api/queue": {"get": _op("Queue depth, the caller's and everyone's", (200, _obj({
            "mine": _obj({"queued": {"type": "integer"}, "running": {"type": "integer"}}),
            "total": _obj({"queued": {"type": "integer"}, "running": {"type": "integer"}}),
            "workers": {"type": "integer"}})), {})},
        "/api/events": {"get": _op("WebSocket of the caller's events (token in Authorization or ?token=; replay with ?after=<seq>)", (101, None),
                                   {400: "invalid_request"}, params=[
                                       {"name": "after", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
                                       {"name": "token", "in": "query", "required": False, "schema": {"type": "string"}}])},
        "/health": {"get": _op("The process serves", (200, _obj({"status": {"const": "ok"}})), {}, auth=False)},
        "/ready": {"get": _op("Database and an inference server answer", (200, None), {503: "not_ready"}, auth=False)},
        "/metrics": {"get": _op("Prometheus text exposition", (200, None), {}, auth=False) | {"responses": {"200": {"description": "metrics"} | TEXT}}},
        "/openapi.json": {"get": _op("This document", (200, {"type": "object"}), {}, auth=False)},
        "/": {"get": _op("The web page", (200, None), {}, auth=False)},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "paraseg queue service", "version": "1.0.0", "description": "Segmentation queue for four users at once; see shared/API.md."},
        "paths": paths,
        "components": {
            "schemas": {"Error": _obj({"error": _obj({"code": {"type": "string"}, "message": {"type": "string"}})})},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
