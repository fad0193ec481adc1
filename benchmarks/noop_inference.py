"""A stand-in inference server that answers at once, for measuring the queue alone.

Only ``benchmarks/claim_throughput.py`` uses it; no test or feature does.
"""

from __future__ import annotations

import asyncio
import base64

import numpy as np
from aiohttp import web

from system.common.serve import serve_app
from system.inference.preprocess import encode_png

_MASK = base64.b64encode(encode_png(np.zeros((1, 1), np.uint8))).decode()
_BODY = {"model_used": "unet", "fallback_used": False, "width": 1, "height": 1, "mask_png": _MASK, "polygons": [], "spheroids": [],
         "timings": {"queue_ms": 0, "compute_ms": 0}, "lane": 0, "batch_size": 1}


async def segment(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response(_BODY)


async def ready(request: web.Request) -> web.Response:
    return web.json_response({"status": "ready"})


def main() -> None:
    app = web.Application()
    app.router.add_post("/v1/models/{name}/segment", segment)
    app.router.add_get("/ready", ready)
    app.router.add_get("/health", ready)
    asyncio.run(serve_app(app, "noop-inference", "127.0.0.1", 0))


if __name__ == "__main__":
    main()
