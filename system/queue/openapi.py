"""The OpenAPI 3.1 document of the queue service (docs/api.md sections 1 and 4).

Built from the contract's constants (``system/contract.py``), so its limits,
enums and ranges are the ones the code enforces.  Every operation lists every
status it can answer; links let a stateful tester follow a project to its
images, an upload to its images, a segmentation to its batch and jobs.
``tests/unit/test_openapi_and_sql.py`` checks that every route the app serves
is documented here and nothing else; ``tests/integration/test_api_fuzzing.py``
runs schemathesis against the real service with this document.
"""

from __future__ import annotations

from functools import cache

from ..contract import (
    BATCH_STATUSES,
    CSV_COLUMNS,
    DEFAULT_MODEL,
    DEFAULT_THRESHOLD,
    EVENT_TYPES,
    IMAGE_TYPES,
    JOB_STATUSES,
    MAX_FILES,
    MAX_ID,
    MAX_PASSWORD,
    MAX_PIXEL_SIZE_UM,
    MAX_PROJECT_NAME,
    MAX_SIDE,
    MAX_THRESHOLD,
    MIN_PASSWORD,
    MIN_THRESHOLD,
    MODELS,
    POLYGON_TYPES,
    USERNAME_PATTERN,
)

_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_COUNT = {"type": "integer", "minimum": 0}
_TS = {"type": "string", "format": "date-time"}
_TS_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_STR = {"type": "string"}
NO_NUL = "^[^\\u0000]*$"  # PostgreSQL text cannot hold NUL
_SIDE = {"type": "integer", "minimum": 1, "maximum": MAX_SIDE}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "string", "pattern": "^[0-9]+$"}}}

# What each status means for every route that can answer it; the codes are the contract's.
_ERRORS = {
    400: "invalid_request: the request is malformed or breaks a rule",
    401: "unauthorized: no valid bearer token",
    404: "not_found: no such resource of the caller's (another user's answers the same)",
    409: "a conflict with the resource's state",
    413: "too_large: the body is larger than accepted",
    415: "unsupported_type: not a PNG, JPEG or TIFF",
    503: "busy (every database connection in use) or unavailable (the database cannot be reached); retry after Retry-After",
}


def _obj(props: dict, required: list[str] | None = None, extra: bool = False) -> dict:
    schema = {"type": "object", "properties": props, "required": list(props) if required is None else required}
    return schema if extra else schema | {"additionalProperties": False}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, ok: tuple[int, dict], errors: dict[int, str] | tuple[int, ...] = (), *, body: dict | None = None,
        auth: bool = True, params: list | None = None, links: dict | None = None, op_id: str) -> dict:
    status, response = ok
    responses = {str(status): {"description": "success"} | response}
    if links:
        responses[str(status)]["links"] = links
    codes = dict.fromkeys(errors) if isinstance(errors, tuple) else dict(errors)
    if auth:
        codes = {401: None, 503: None} | codes
    for code, text in sorted(codes.items()):
        responses[str(code)] = {"description": text or _ERRORS[code]} | _json({"$ref": "#/components/schemas/Error"})
        if code in (429, 503):
            responses[str(code)]["headers"] = _RETRY_AFTER
    op = {"operationId": op_id, "summary": summary, "responses": responses}
    if body:
        op["requestBody"] = {"required": True} | body
    if not auth:
        op["security"] = []
    if params:
        op["parameters"] = params
    return op


def _path_id(what: str) -> list[dict]:
    return [{"name": "id", "in": "path", "required": True, "description": f"the {what}'s id", "schema": _ID}]


def _link(op_id: str, id_from: str, description: str, body: object | None = None) -> dict:
    link = {"operationId": op_id, "parameters": {"id": id_from}, "description": description}
    return link if body is None else link | {"requestBody": body}


SEGMENTATION = _obj({"status": {"enum": list(JOB_STATUSES)}, "model": {"enum": list(MODELS)},
                     "model_used": {"type": ["string", "null"]}, "polygon_count": {"type": ["integer", "null"], "minimum": 0},
                     "spheroid_count": {"type": ["integer", "null"], "minimum": 0, "description": "outer outlines; null until a job succeeded"},
                     "job_id": _ID})
IMAGE = _obj({"id": _ID, "filename": _STR, "width": _SIDE, "height": _SIDE, "pages": {"type": "integer", "minimum": 1},
              "segmentation": {"oneOf": [{"type": "null"}, SEGMENTATION]}})
IMAGE_WITH_PROJECT = IMAGE | {"properties": IMAGE["properties"] | {"project_id": _ID}, "required": [*IMAGE["required"], "project_id"]}
_PIXEL_SIZE = {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": MAX_PIXEL_SIZE_UM,
               "description": "micrometres per pixel; null: unknown, and measurements are in pixels only"}
PROJECT = _obj({"id": _ID, "name": _STR, "pixel_size_um": _PIXEL_SIZE, "image_count": _COUNT, "created_at": _TS})
NEW_PROJECT = _obj({"id": _ID, "name": _STR, "pixel_size_um": _PIXEL_SIZE, "created_at": _TS})
COUNTS = {k: _COUNT for k in ("total", "queued", "running", "succeeded", "failed", "cancelled")}
BATCH = _obj({"id": _ID, "project_id": _ID, "model": {"enum": list(MODELS)}, "status": {"enum": list(BATCH_STATUSES)}, **COUNTS,
              "created_at": _TS, "finished_at": _TS_OR_NULL})
ERROR_DETAIL = _obj({"code": _STR, "message": _STR})
JOB = _obj({"id": _ID, "batch_id": _ID, "image_id": _ID, "status": {"enum": list(JOB_STATUSES)}, "model": {"enum": list(MODELS)},
            "model_used": {"type": ["string", "null"]}, "attempts": _COUNT, "error": {"oneOf": [{"type": "null"}, ERROR_DETAIL]},
            "queued_at": _TS, "started_at": _TS_OR_NULL, "finished_at": _TS_OR_NULL, "worker": {"type": ["string", "null"]}})
POINT = {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}
POLYGON = _obj({"type": {"enum": list(POLYGON_TYPES)}, "spheroid": {"type": "integer", "minimum": 1,
                "description": "the index of the spheroid this outline belongs to (a hole: the one it is in) in the image's measurements"},
                "points": {"type": "array", "items": POINT, "minItems": 3}})
POLYGONS = _obj({"model_used": {"enum": list(MODELS)}, "polygons": {"type": "array", "items": POLYGON}})
_NUMBER = {"type": "number", "minimum": 0}
_UM = {"type": ["number", "null"], "minimum": 0, "description": "null when the project has no pixel size"}
SPHEROID = _obj({"index": {"type": "integer", "minimum": 1}, "area_px": _COUNT, "perimeter_px": _NUMBER, "equivalent_diameter_px": _NUMBER,
                 "circularity": {"type": "number", "minimum": 0, "maximum": 1}, "centroid": {**POINT, "items": _NUMBER},
                 "bbox": {"type": "array", "items": _COUNT, "minItems": 4, "maxItems": 4}, "area_um2": _UM, "equivalent_diameter_um": _UM})
MEASUREMENTS = _obj({"model_used": {"enum": list(MODELS)}, "pixel_size_um": _PIXEL_SIZE,
                     "spheroids": {"type": "array", "items": SPHEROID, "description": "one per outer outline, largest first"}})
CSV = {"content": {"text/csv": {"schema": _STR}}}


def _example(body: dict, example: dict) -> dict:
    return {"content": {"application/json": body["content"]["application/json"] | {"example": example}}}


CREDENTIALS = _example(_json(_obj({"username": {"type": "string", "pattern": f"^{USERNAME_PATTERN}$"},
                                   "password": {"type": "string", "minLength": MIN_PASSWORD, "maxLength": MAX_PASSWORD}}, extra=True)),
                       {"username": "ada.lovelace", "password": "correct horse battery"})
LOGIN = _example(_json(_obj({"username": _STR, "password": _STR}, extra=True)), {"username": "ada.lovelace", "password": "correct horse battery"})
UPLOAD = {"content": {"multipart/form-data": {"schema": _obj(
    {"file": {"type": "array", "minItems": 1, "maxItems": MAX_FILES, "items": {"type": "string", "format": "binary"},
              "description": f"one part named 'file' per image: PNG, JPEG or TIFF, at most {MAX_SIDE} x {MAX_SIDE} pixels"}})}}}
SEGMENT_REQUEST = _json(_obj({
    "image_ids": {"type": ["array", "null"], "minItems": 1, "items": _ID, "description": "default (absent or null): every image of the project"},
    "model": {"enum": list(MODELS), "default": DEFAULT_MODEL},
    "threshold": {"type": "number", "minimum": MIN_THRESHOLD, "maximum": MAX_THRESHOLD, "default": DEFAULT_THRESHOLD}}, required=[], extra=True))
SEGMENT_REQUEST = _example(SEGMENT_REQUEST, {"model": "unet", "threshold": DEFAULT_THRESHOLD})
NEW_PROJECT_REQUEST = _example(_json(_obj({"name": {"type": "string", "minLength": 1, "maxLength": MAX_PROJECT_NAME, "pattern": NO_NUL,
                                                    "description": "any text but the NUL character"},
                                           "pixel_size_um": _PIXEL_SIZE}, required=["name"], extra=True)),
                               {"name": "spheroids, day 3", "pixel_size_um": 0.65})
STORED = {"type": "array", "minItems": 1, "maxItems": MAX_FILES,
          "items": _obj({"id": _ID, "filename": _STR, "width": _SIDE, "height": _SIDE, "pages": {"type": "integer", "minimum": 1}})}
QUEUED = _obj({"batch_id": _ID, "job_ids": {"type": "array", "minItems": 1, "items": _ID}})
_EVENT_ID = {"type": "string", "format": "uuid"}
ME = _obj({"id": _ID, "username": _STR, "event_seq": _COUNT, "events_kept_from": {"type": "integer", "minimum": 1},
           "event_id": {"oneOf": [{"type": "null"}, _EVENT_ID], "description": "the id of the event at event_seq; null before the first"}})
QUEUE = _obj({"mine": _obj({"queued": _COUNT, "running": _COUNT}), "total": _obj({"queued": _COUNT, "running": _COUNT}), "workers": _COUNT})
READY = _obj({"status": {"enum": ["ready", "not_ready"]}, "reasons": {"type": "array", "items": _STR}}, required=["status"])
EVENT = _obj({"seq": {"type": "integer", "minimum": 1}, "type": {"enum": list(EVENT_TYPES)}, "ts": _TS, "event_id": _EVENT_ID, "project_id": _ID,
              "batch_id": _ID, "job_id": {"oneOf": [{"type": "null"}, _ID]}, "image_id": {"oneOf": [{"type": "null"}, _ID]},
              "status": _STR}, required=["seq", "type", "ts", "event_id", "project_id", "batch_id", "job_id", "image_id", "status"], extra=True)
TEXT = {"content": {"text/plain": {"schema": _STR}}}
HTML = {"content": {"text/html": {"schema": _STR}}}
PNG = {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}
PROJECT_MEASUREMENTS = _obj({"project_id": _ID, "pixel_size_um": MEASUREMENTS["properties"]["pixel_size_um"], "images": {
    "type": "array", "items": _obj({"image_id": _ID, "filename": _STR, "model_used": MEASUREMENTS["properties"]["model_used"],
                                    "spheroids": MEASUREMENTS["properties"]["spheroids"]})}})
ZIP = {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}
GEOJSON = {"content": {"application/geo+json": {"schema": {"type": "object"}}}}
BATCH_JOBS = {"type": "array", "minItems": 1, "items": _obj({"id": _ID, "image_id": _ID, "status": {"enum": list(JOB_STATUSES)}})}
ORIGINAL = {"content": {t: {"schema": {"type": "string", "format": "binary"}} for t in IMAGE_TYPES.values()}}

_PROJECT_LINKS = {
    "GetProject": _link("getProject", "$response.body#/id", "the project just created"),
    "ListImages": _link("listImages", "$response.body#/id", "its images"),
    "UploadImages": _link("uploadImages", "$response.body#/id", "add images to it"),
    "GetMeasurementsCsv": _link("getMeasurementsCsv", "$response.body#/id", "its measurements as CSV"),
}  # (no link to segment it: a new project has no images yet; its images and GET /api/projects lead there)
_IMAGE_LINKS = {
    "GetImage": _link("getImage", "$response.body#/0/id", "the first image"),
    "GetImageFile": _link("getImageFile", "$response.body#/0/id", "its original bytes"),
    "GetMask": _link("getMask", "$response.body#/0/id", "its latest mask"),
    "GetPolygons": _link("getPolygons", "$response.body#/0/id", "its latest outlines"),
    "GetMeasurements": _link("getMeasurements", "$response.body#/0/id", "its spheroids' measurements"),
}
_BATCH_LINKS = {
    "GetBatch": _link("getBatch", "$response.body#/batch_id", "the batch's progress"),
    "CancelBatch": _link("cancelBatch", "$response.body#/batch_id", "cancel it"),
    "GetFirstJob": _link("getJob", "$response.body#/job_ids/0", "its first job"),
}


@cache
def spec() -> dict:
    paths = {
        "/api/auth/register": {"post": _op("Create an account", (201, _json(_obj({"user_id": _ID, "username": _STR}))),
                                           {400: None, 409: "username_taken", 413: None, 503: None}, body=CREDENTIALS, auth=False,
                                           op_id="register")},
        "/api/auth/logout": {"post": _op("End the session: the token is revoked", (204, {}), op_id="logout")},
        "/api/auth/login": {"post": _op("Get a bearer token", (200, _json(_obj({"token": _STR, "user_id": _ID, "expires_in": _COUNT}))),
                                        {400: None, 401: "invalid_credentials", 413: None,
                                         429: "too_many_attempts: too many failed logins for the account or the address; retry after Retry-After",
                                         503: None}, body=LOGIN, auth=False, op_id="login")},
        "/api/projects": {
            "post": _op("Create a project", (201, _json(NEW_PROJECT)), (400, 413),
                        body=NEW_PROJECT_REQUEST,
                        links=_PROJECT_LINKS, op_id="createProject"),
            "get": _op("The caller's projects", (200, _json({"type": "array", "items": PROJECT})), op_id="listProjects",
                       links={"GetFirstProject": _link("getProject", "$response.body#/0/id", "the first project"),
                              "ListFirstProjectImages": _link("listImages", "$response.body#/0/id", "the first project's images")}),
        },
        "/api/projects/{id}": {"get": _op("One project", (200, _json(PROJECT)), (404,), params=_path_id("project"), op_id="getProject",
                                          links={"ListImages": _link("listImages", "$request.path.id", "its images")})},
        "/api/projects/{id}/images": {
            "post": _op("Upload images, all or nothing: if any file is refused, nothing is stored", (201, _json(STORED)),
                        {400: "invalid_request or invalid_image (the answer names the file)", 404: None, 413: None, 415: None},
                        body=UPLOAD, params=_path_id("project"), links=_IMAGE_LINKS, op_id="uploadImages"),
            "get": _op("The project's images", (200, _json({"type": "array", "items": IMAGE})), (404,), params=_path_id("project"),
                       links={"Segment": _link("createSegmentation", "$request.path.id", "segment them")}, op_id="listImages"),
        },
        "/api/images/{id}": {"get": _op("One image, with its latest segmentation", (200, _json(IMAGE_WITH_PROJECT)), (404,),
                                        params=_path_id("image"), op_id="getImage")},
        "/api/images/{id}/file": {"get": _op("The original bytes", (200, ORIGINAL), (404,), params=_path_id("image"), op_id="getImageFile")},
        "/api/images/{id}/mask": {"get": _op("The latest mask: a one-channel PNG of 0 and 255, the image's size", (200, PNG),
                                             {404: None, 409: "not_ready: no segmentation of the image has succeeded yet"},
                                             params=_path_id("image"), op_id="getMask")},
        "/api/images/{id}/polygons": {"get": _op("The latest outlines", (200, _json(POLYGONS)),
                                                 {404: None, 409: "not_ready: no segmentation of the image has succeeded yet"},
                                                 params=_path_id("image"), op_id="getPolygons")},
        "/api/images/{id}/measurements": {"get": _op(
            "The latest segmentation's spheroids: one per outer outline, largest first, measured once when the job succeeded",
            (200, _json(MEASUREMENTS)), {404: None, 409: "not_ready: no segmentation of the image has succeeded yet"},
            params=_path_id("image"), op_id="getMeasurements")},
        "/api/projects/{id}/measurements.csv": {"get": _op(
            "Every spheroid of every segmented image of the project, one row each, after a header row: " + ",".join(CSV_COLUMNS),
            (200, CSV), (404,), params=_path_id("project"), op_id="getMeasurementsCsv")},
        "/api/projects/{id}/segmentations": {"post": _op(
            "Queue one segmentation job per image", (202, _json(QUEUED)),
            {400: "invalid_request (also: the project has no images yet) or unknown_model", 404: "not_found: the project, or an image "
             "id not in this project", 413: None}, body=SEGMENT_REQUEST, params=_path_id("project"), links=_BATCH_LINKS,
            op_id="createSegmentation")},
        "/api/batches/{id}": {"get": _op("A batch's progress", (200, _json(BATCH)), (404,), params=_path_id("batch"), op_id="getBatch")},
        "/api/projects/{id}/batches": {"get": _op(
            "The project's batches, newest first, each with its progress (a page restoring itself finds the running one)",
            (200, _json({"type": "array", "items": BATCH})), {400: "invalid_request: a bad ?limit=", 404: None},
            params=[*_path_id("project"), {"name": "limit", "in": "query", "required": False, "description": "at most this many (1-100, default 20)",
                                           "schema": {"type": "integer", "minimum": 1, "maximum": 100}}], op_id="listBatches")},
        "/api/batches/{id}/jobs": {"get": _op("The batch's jobs by id: each one's image and status", (200, _json(BATCH_JOBS)), (404,),
                                              params=_path_id("batch"), op_id="listBatchJobs")},
        "/api/images/{id}/display": {"get": _op(
            "The image as a browser shows it: the stored bytes for an 8-bit PNG or JPEG, else a PNG of its first page, deeper pixels "
            "stretched between their 0.5th and 99.5th percentiles (header X-Display-Stretch)",
            (200, {"content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ("image/png", "image/jpeg")}}), (404,),
            params=_path_id("image"), op_id="getImageDisplay")},
        "/api/images/{id}/outlines.geojson": {"get": _op(
            "The latest outlines as GeoJSON (QuPath): one Polygon Feature per spheroid, its measurements as properties",
            (200, GEOJSON), {404: None, 409: "not_ready: no segmentation of the image has succeeded yet"},
            params=_path_id("image"), op_id="getOutlinesGeoJson")},
        "/api/images/{id}/outlines-imagej.zip": {"get": _op(
            "The latest outlines as an ImageJ ROI set (Fiji's ROI Manager): one polygon ROI per spheroid", (200, ZIP),
            {404: None, 409: "not_ready: no segmentation of the image has succeeded yet"}, params=_path_id("image"), op_id="getOutlinesImageJ")},
        "/api/projects/{id}/measurements": {"get": _op(
            "Every spheroid of every segmented image of the project, by image (the CSV's figures as JSON)", (200, _json(PROJECT_MEASUREMENTS)),
            (404,), params=_path_id("project"), op_id="getProjectMeasurements")},
        "/api/projects/{id}/masks.zip": {"get": _op(
            "Every segmented image's latest mask as a PNG (0 or 255), named after the image, in one ZIP", (200, ZIP), (404,),
            params=_path_id("project"), op_id="getMasksZip")},
        "/api/batches/{id}/cancel": {"post": _op("Cancel a batch's queued jobs; running ones finish", (200, _json(BATCH)), (404,),
                                                 params=_path_id("batch"), op_id="cancelBatch")},
        "/api/jobs/{id}": {"get": _op("One job", (200, _json(JOB)), (404,), params=_path_id("job"), op_id="getJob")},
        "/api/me": {"get": _op("The signed-in researcher, and where their event stream stands", (200, _json(ME)), op_id="getMe")},
        "/api/queue": {"get": _op("Queue depth, the caller's and everyone's", (200, _json(QUEUE)), op_id="getQueue")},
        "/api/events": {"get": _op(
            "The caller's live events over a WebSocket (token in Authorization, or ?token= for browsers); each text frame is an Event",
            (101, {"description": "switching to the WebSocket protocol"}),
            {400: "invalid_request: not a WebSocket upgrade, or a bad ?after= or ?event_id="}, op_id="events",
            params=[{"name": "after", "in": "query", "required": False, "description": "replay every event after this seq first",
                     "schema": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}},
                    {"name": "event_id", "in": "query", "required": False, "schema": _EVENT_ID,
                     "description": "the event_id of the event at ?after= as this stream sent it: if the kept history holds another "
                                    "event there (a failover lost the last commits), the socket closes with 4003 events_rewound"},
                    {"name": "token", "in": "query", "required": False, "description": "the bearer token, for browsers", "schema": _STR}])},
        "/health": {"get": _op("The process serves", (200, _json(_obj({"status": {"const": "ok"}}))), auth=False, op_id="health")},
        "/ready": {"get": _op("The database and at least one inference server answer", (200, _json(READY)),
                              {503: "not_ready, with the reasons"}, auth=False, op_id="ready")},
        "/metrics": {"get": _op("Prometheus text exposition", (200, TEXT), auth=False, op_id="metrics")},
        "/openapi.json": {"get": _op("This document", (200, _json({"type": "object"})), auth=False, op_id="openapi")},
        "/": {"get": _op("The web page", (200, HTML), auth=False, op_id="webPage")},
    }
    # Limits per researcher (system/queue/limits.py): every change they make, and their event sockets.
    limited = {"description": "too_many_requests: more changes at once, or event sockets open, than a researcher may have; "
                              "retry after Retry-After", "headers": _RETRY_AFTER} | _json({"$ref": "#/components/schemas/Error"})
    for path, operations in paths.items():
        for method, op in operations.items():
            if op.get("security") != [] and (method in ("post", "put", "patch", "delete") or path == "/api/events"):
                op["responses"].setdefault("429", limited)
    # /ready says why it is not ready in its own shape, not the error shape.
    paths["/ready"]["get"]["responses"]["503"] = {"description": "not_ready, with the reasons"} | _json(READY)
    return {
        "openapi": "3.1.0",
        "info": {"title": "paraseg queue service", "version": "1.0.0",
                 "description": "Segmentation queue for four users at once; the contract is docs/api.md in the repository."},
        "paths": paths,
        "components": {
            "schemas": {"Error": _obj({"error": _obj({"code": _STR, "message": _STR})}), "Event": EVENT},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
