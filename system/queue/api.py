"""The /api routes: accounts, projects, images, segmentation jobs and batches.

Each handler checks what the client sent, calls one method of the store
(``store.py``, which runs the named SQL and shapes the JSON), and answers.
"""

from __future__ import annotations

from aiohttp import web

from ..common.http import ApiError, read_json
from ..contract import DEFAULT_MODEL, DEFAULT_THRESHOLD, MAX_ID, MAX_PIXEL_SIZE_UM, MAX_PROJECT_NAME, MAX_THRESHOLD, MIN_THRESHOLD, MODELS
from . import auth
from .keys import SETTINGS, STORE
from .uploads import read_uploads

routes = web.RouteTableDef()


def user_id(request: web.Request) -> int:
    return request["user_id"]


def path_id(request: web.Request, key: str = "id") -> int:
    value = int(request.match_info[key])  # the route pattern admits digits only
    if not 0 < value <= MAX_ID:
        raise ApiError(404, "not_found", "no such resource")
    return value


def store(request: web.Request):
    return request.app[STORE]


# ----------------------------------------------------------------- accounts


@routes.post("/api/auth/register")
async def register(request: web.Request) -> web.Response:
    username, password = auth.validate_credentials(await read_json(request))
    uid = await store(request).create_user(username, await auth.hash_password(password))
    return web.json_response({"user_id": uid, "username": username}, status=201)


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    """Guesses are slowed: past its limit of failures in a window, an account (or an address) is answered
    429 ``too_many_attempts`` until the window ends, right password or not; a success resets the account's
    count.  A wrong password costs the same scrypt time whether the account exists or not."""
    settings = request.app[SETTINGS]
    username, password = auth.login_credentials(await read_json(request))
    account, address = f"account:{username}", f"address:{request.remote}"
    limits = [(account, settings.login_failures_per_account), (address, settings.login_failures_per_address)]
    if wait_s := await store(request).login_blocked_for(limits, settings.login_window_s):
        raise ApiError(429, "too_many_attempts", "too many failed logins; try again later", {"Retry-After": str(max(1, wait_s))})
    found = await store(request).password_hash_of(username)
    if not await auth.check_password(password, found[1] if found else auth.UNUSABLE_HASH):
        await store(request).login_failed([account, address], settings.login_window_s)
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    await store(request).login_succeeded(account)
    token, digest = auth.new_token()
    await store(request).create_token(digest, found[0], settings.session_s)
    return web.json_response({"token": token, "user_id": found[0], "expires_in": int(settings.session_s)})


@routes.post("/api/auth/logout")
async def logout(request: web.Request) -> web.Response:
    """End the session: the token is revoked everywhere (its event sockets close within FALLBACK_POLL_S)."""
    token = auth.bearer(request)
    if not token or not await store(request).revoke_token(auth.token_hash(token)):
        raise ApiError(401, "unauthorized", "a valid bearer token is required")
    return web.Response(status=204)


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    """Who the token belongs to, and where their event stream stands: connect with ?after=event_seq
    to miss nothing from now on (a page restoring its state reads it first)."""
    return web.json_response(await store(request).me(user_id(request)))


# ----------------------------------------------------------------- projects and images


def parse_project(body: dict) -> tuple[str, float | None]:
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_PROJECT_NAME:
        raise ApiError(400, "invalid_request", f"name must be a string of 1-{MAX_PROJECT_NAME} characters")
    if "\x00" in name:
        raise ApiError(400, "invalid_request", "name must not contain NUL characters")
    size = body.get("pixel_size_um")
    if size is not None and (type(size) not in (int, float) or not 0 < size <= MAX_PIXEL_SIZE_UM):  # NaN compares false
        raise ApiError(400, "invalid_request", f"pixel_size_um must be a positive number of at most {MAX_PIXEL_SIZE_UM}, or null")
    return name, None if size is None else float(size)


@routes.post("/api/projects")
async def create_project(request: web.Request) -> web.Response:
    name, pixel_size_um = parse_project(await read_json(request))
    return web.json_response(await store(request).create_project(user_id(request), name, pixel_size_um), status=201)


@routes.get("/api/projects")
async def list_projects(request: web.Request) -> web.Response:
    return web.json_response(await store(request).projects(user_id(request)))


@routes.get(r"/api/projects/{id:\d+}")
async def get_project(request: web.Request) -> web.Response:
    return web.json_response(await store(request).project(user_id(request), path_id(request)))


@routes.post(r"/api/projects/{id:\d+}/images")
async def upload_images(request: web.Request) -> web.Response:
    uid, project_id = user_id(request), path_id(request)
    await store(request).require_project(uid, project_id)  # before reading megabytes for nothing
    uploads = await read_uploads(request)  # every file checked before anything is stored
    return web.json_response(await store(request).add_images(uid, project_id, uploads), status=201)


@routes.get(r"/api/projects/{id:\d+}/images")
async def list_images(request: web.Request) -> web.Response:
    return web.json_response(await store(request).images(user_id(request), path_id(request)))


@routes.get(r"/api/images/{id:\d+}")
async def get_image(request: web.Request) -> web.Response:
    return web.json_response(await store(request).image(user_id(request), path_id(request)))


@routes.get(r"/api/images/{id:\d+}/file")
async def get_image_file(request: web.Request) -> web.Response:
    data, content_type = await store(request).image_file(user_id(request), path_id(request))
    # the stored type, never sniffed, and shown as a file: an upload cannot run as a page of this site
    return web.Response(body=data, content_type=content_type,
                        headers={"Content-Disposition": f'inline; filename="image-{path_id(request)}"', "X-Content-Type-Options": "nosniff"})


@routes.get(r"/api/images/{id:\d+}/mask")
async def get_mask(request: web.Request) -> web.Response:
    return web.Response(body=await store(request).mask(user_id(request), path_id(request)), content_type="image/png")


@routes.get(r"/api/images/{id:\d+}/polygons")
async def get_polygons(request: web.Request) -> web.Response:
    return web.json_response(await store(request).polygons(user_id(request), path_id(request)))


@routes.get(r"/api/images/{id:\d+}/measurements")
async def get_measurements(request: web.Request) -> web.Response:
    return web.json_response(await store(request).measurements(user_id(request), path_id(request)))


@routes.get(r"/api/projects/{id:\d+}/measurements.csv")
async def get_measurements_csv(request: web.Request) -> web.Response:
    project_id = path_id(request)
    text = await store(request).measurements_csv(user_id(request), project_id)
    return web.Response(text=text, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="project-{project_id}-measurements.csv"'})


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
    threshold = body.get("threshold", DEFAULT_THRESHOLD)
    if type(threshold) not in (int, float) or not MIN_THRESHOLD <= threshold <= MAX_THRESHOLD:  # NaN compares false; a huge int too
        raise ApiError(400, "invalid_request", f"threshold must be a number from {MIN_THRESHOLD} to {MAX_THRESHOLD}")
    return image_ids, model, float(threshold)


@routes.post(r"/api/projects/{id:\d+}/segmentations")
async def create_segmentation(request: web.Request) -> web.Response:
    image_ids, model, threshold = parse_segmentation(await read_json(request))
    queued = await store(request).segment(user_id(request), path_id(request), image_ids, model, threshold)
    return web.json_response(queued, status=202)


@routes.get(r"/api/batches/{id:\d+}")
async def get_batch(request: web.Request) -> web.Response:
    return web.json_response(await store(request).batch(user_id(request), path_id(request)))


@routes.post(r"/api/batches/{id:\d+}/cancel")
async def cancel_batch(request: web.Request) -> web.Response:
    return web.json_response(await store(request).cancel_batch(user_id(request), path_id(request)))


@routes.get(r"/api/jobs/{id:\d+}")
async def get_job(request: web.Request) -> web.Response:
    return web.json_response(await store(request).job(user_id(request), path_id(request)))


@routes.get("/api/queue")
async def queue_state(request: web.Request) -> web.Response:
    return web.json_response(await store(request).queue(user_id(request)))
