"""The queue service's app factory: middlewares, routes and resources."""

from __future__ import annotations

import base64
import hashlib
import re
import time
import weakref
from functools import cache
from pathlib import Path

import aiohttp
from aiohttp import web

from ..common.http import ApiError, Handler, error_middleware
from ..contract import (
    DEFAULT_MODEL,
    DEFAULT_THRESHOLD,
    EVENTS_EXPIRED_CLOSE_CODE,
    EVENTS_REWOUND_CLOSE_CODE,
    IMAGE_TYPES,
    MAX_PIXEL_SIZE_UM,
    MAX_PROJECT_NAME,
    MAX_THRESHOLD,
    MIN_THRESHOLD,
    MODELS,
    PAGE_RETRY_MAX_MS,
    PAGE_RETRY_MIN_MS,
    SESSION_ENDED_CLOSE_CODE,
)
from . import api, lab, ops
from .auth import bearer, token_hash
from .config import QueueSettings
from .db import Database
from .events import EventHub
from .keys import DB, HTTP, HUB, METRICS, SETTINGS, SOCKETS, SOCKETS_PER_USER, STORE, WRITES
from .limits import WRITE_METHODS, SocketCount, WriteBuckets
from .metrics import ApiMetrics
from .queries import migrate
from .retention import sweeping
from .sockets import close_sockets, events_socket
from .store import Store

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
PUBLIC = ("/api/auth/",)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/api/") and not request.path.startswith(PUBLIC):
        token = bearer(request)
        digest = token_hash(token) if token else None
        user_id = await request.app[STORE].user_for_token(digest, request.app[SETTINGS].session_s) if digest else None
        if user_id is None:
            raise ApiError(401, "unauthorized", "a valid bearer token is required (a session ends when it is not used, or signed out)")
        request["user_id"], request["token_hash"] = user_id, digest
        if request.method in WRITE_METHODS:
            request.app[WRITES].take(user_id)  # one researcher's writes cannot starve the others'
    return await handler(request)


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        m = request.app[METRICS]
        m.requests.labels(route, str(status)).inc()
        m.latency.labels(route).observe(time.perf_counter() - started)


@cache
def web_page() -> str:
    """The page, its {{placeholders}} filled from the contract (models, thresholds, limits)."""
    options = "".join(f'<option{" selected" if m == DEFAULT_MODEL else ""}>{m}</option>' for m in MODELS)
    values = {"model_options": options, "min_threshold": MIN_THRESHOLD, "max_threshold": MAX_THRESHOLD,
              "default_threshold": DEFAULT_THRESHOLD, "max_project_name": MAX_PROJECT_NAME, "max_pixel_size_um": MAX_PIXEL_SIZE_UM,
              "accept": ",".join(IMAGE_TYPES.values()), "page_retry_min_ms": PAGE_RETRY_MIN_MS, "page_retry_max_ms": PAGE_RETRY_MAX_MS,
              "session_ended_close_code": SESSION_ENDED_CLOSE_CODE, "events_expired_close_code": EVENTS_EXPIRED_CLOSE_CODE,
              "events_rewound_close_code": EVENTS_REWOUND_CLOSE_CODE}
    page = (WEB_DIR / "index.html").read_text()
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", str(value))
    if "{{" in page:
        raise RuntimeError("the web page has a placeholder the service does not fill")
    return page


def _sources(page: str, tag: str) -> str:
    """CSP sources allowing exactly the page's inline <tag> blocks, by their sha256."""
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.S)
    return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in blocks) or "'none'"


@cache
def content_security_policy() -> str:
    """What the page may run and load: its own script and style (by hash: no other inline code), images of its
    own or made in it, requests and its WebSocket to this service; nothing may frame it."""
    page = web_page()
    return "; ".join(["default-src 'none'", f"script-src {_sources(page, 'script')}", f"style-src {_sources(page, 'style')}",
                      "img-src 'self' blob:", "connect-src 'self'", "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'"])


async def index(request: web.Request) -> web.Response:
    return web.Response(text=web_page(), content_type="text/html", headers={"Content-Security-Policy": content_security_policy()})


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every answer: no type sniffing, no referrer sent on, never shown in a frame."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")


def create_app(settings: QueueSettings) -> web.Application:
    # Metrics outermost, so they count the status the error middleware produced.
    app = web.Application(middlewares=[metrics_middleware, error_middleware, auth_middleware], client_max_size=1024 * 1024)
    app[SETTINGS] = settings
    app[METRICS] = ApiMetrics()
    app[SOCKETS] = weakref.WeakSet()
    app[WRITES] = WriteBuckets(settings.writes_per_second, settings.write_burst)
    app[SOCKETS_PER_USER] = SocketCount(settings.max_sockets_per_user)

    async def database(app: web.Application):
        db = await Database.connect(settings.database_url, settings.pool_size, settings.acquire_timeout_s, settings.pool_idle_s)
        async with db.pool.acquire() as conn:
            await migrate(conn)
        app[DB] = db
        app[STORE] = Store(db, settings.max_attempts)
        yield
        await db.close()

    async def event_hub(app: web.Application):
        hub = EventHub(settings.database_url)
        hub.start()
        app[HUB] = hub
        yield
        await hub.stop()

    async def http_client(app: web.Application):
        async with aiohttp.ClientSession() as session:
            app[HTTP] = session
            yield

    app.cleanup_ctx.extend([database, event_hub, http_client, sweeping])
    app.on_shutdown.append(close_sockets)
    app.on_response_prepare.append(security_headers)
    app.router.add_routes(api.routes)
    app.router.add_routes(lab.routes)
    app.router.add_routes(ops.routes)
    app.router.add_get("/api/events", events_socket)
    app.router.add_get("/", index)
    return app
