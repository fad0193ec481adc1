"""Operations routes: /health, /ready, /metrics, /openapi.json."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .keys import DB, HTTP, METRICS, SETTINGS, STORE
from .openapi import spec

routes = web.RouteTableDef()
READY_CHECK_S = 2.0  # /ready answers within a few seconds, whatever is down


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _inference_ready(session: aiohttp.ClientSession, url: str) -> str | None:
    try:
        async with session.get(f"{url}/ready", timeout=aiohttp.ClientTimeout(total=READY_CHECK_S)) as resp:
            return None if resp.status == 200 else f"inference server {url} answers {resp.status}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"inference server {url} does not answer ({type(exc).__name__})"


@routes.get("/ready")
async def ready(request: web.Request) -> web.Response:
    reasons = []
    try:
        await asyncio.wait_for(request.app[STORE].ping(), READY_CHECK_S)
    except Exception as exc:
        reasons.append(f"database does not answer ({type(exc).__name__})")
    urls = request.app[SETTINGS].inference_urls
    answers = await asyncio.gather(*(_inference_ready(request.app[HTTP], u) for u in urls))
    if all(answers):
        reasons.extend(answers)
    if reasons:
        return web.json_response({"status": "not_ready", "reasons": reasons}, status=503)
    return web.json_response({"status": "ready"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    m, stats = request.app[METRICS], request.app[DB].stats()
    m.pool_size.set(stats["size"])
    m.pool_idle.set(stats["idle"])
    m.pool_max.set(stats["max"])
    return web.Response(body=generate_latest(m.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(spec())
