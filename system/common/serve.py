"""Running a service process: flags with environment defaults, a ready line, SIGTERM.

Each entry point reads its settings from flags whose defaults come from an
environment variable of the same meaning (``system/common/settings.py``,
docs/api.md section 3), prints
exactly one ``<name> ready on http://host:port`` line once it serves (port 0
picks a free port, and the line tells which), and stops cleanly on SIGTERM or
SIGINT: it stops accepting, finishes what runs, releases its resources, exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from .http import ready_line

# Query parameters that carry a secret: their values never reach a log line.
SECRET_PARAMETERS = ("token", "ticket", "password")


def loggable_path(request: BaseRequest) -> str:
    """The request's path and query with every secret parameter's value replaced by ``[redacted]``."""
    if not request.query_string:
        return request.path
    parts = [(k, "[redacted]" if k.lower() in SECRET_PARAMETERS else v) for k, v in request.query.items()]
    return f"{request.path}?{urlencode(parts, safe='[]')}"


class AccessLogger(AbstractAccessLogger):
    """One line a request: address, method, path (secrets redacted), status, size, seconds, user agent.
    Never a header (no Authorization, no cookie) and never a body."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s %s %.3f "%s"', request.remote, request.method, loggable_path(request), response.status,
                         response.body_length, time, request.headers.get("User-Agent", "-"))


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")


def stop_signal() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT.  Install it before announcing readiness,
    so a stop that follows the ready line at once is not missed."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def serve_app(app: web.Application, name: str, host: str, port: int, shutdown_timeout: float = 10.0) -> None:
    stop = stop_signal()
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=shutdown_timeout, access_log_class=AccessLogger)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        print(ready_line(name, host, bound), flush=True)
        await stop.wait()
        logging.getLogger(name).info("stopping")
    finally:
        await runner.cleanup()
