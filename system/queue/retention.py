"""Events do not grow forever: each API process sweeps those older than ``EVENT_RETENTION_DAYS``.

Every ``sweep_interval_s(retention)`` the oldest events past the retention go,
``SWEEP_CHUNK`` per statement (short transactions: a sweep never holds up the
streams it shares rows with), until none is left.  Several API processes may
sweep at once; a row one of them deletes, the others skip.  A client that then
asks to replay from before what is kept is told so (``sockets.py``,
``EVENTS_EXPIRED_CLOSE_CODE``).  A database that is away makes the sweep wait
for its next turn.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from ..common.http import ApiError
from ..contract import EVENT_SWEEP_FRACTION, EVENT_SWEEP_MAX_S
from .keys import SETTINGS, STORE

log = logging.getLogger("paraseg.queue.retention")
SWEEP_CHUNK = 10_000
DAY_S = 86_400.0


def sweep_interval_s(retention_s: float) -> float:
    """How often a process sweeps: a tenth of the retention, at most hourly - so an event outlives its
    retention by at most a tenth of it (or an hour), plus one sweep's time."""
    return min(EVENT_SWEEP_MAX_S, retention_s * EVENT_SWEEP_FRACTION)


async def sweep_once(app: web.Application) -> int:
    """Delete every event past the retention, a chunk at a time; how many went."""
    retention_s = app[SETTINGS].event_retention_days * DAY_S
    swept = 0
    while True:
        n = await app[STORE].sweep_events(retention_s, SWEEP_CHUNK)
        swept += n
        if n < SWEEP_CHUNK:
            return swept


async def sweeping(app: web.Application):
    """cleanup_ctx: sweep in the background while the process serves."""
    async def loop() -> None:
        interval = sweep_interval_s(app[SETTINGS].event_retention_days * DAY_S)
        while True:
            await asyncio.sleep(interval)
            try:
                if swept := await sweep_once(app):
                    log.info("swept %d events older than %g days", swept, app[SETTINGS].event_retention_days)
            except ApiError as exc:  # the database is away or busy: next turn
                log.warning("event sweep postponed: %s", exc.message)

    task = asyncio.create_task(loop(), name="event-sweep")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
