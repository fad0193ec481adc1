"""Live events: per-user streams in PostgreSQL, pushed over WebSockets.

Events are rows (user_id, seq) written in the same transaction as the state
change they report, followed by ``NOTIFY paraseg_events, '<user_id>'``.  Every
API process LISTENs; a notification only *wakes* that user's sockets, which then
read every event after the last seq they sent.  So a socket sends each event
exactly once and in order, whichever process or worker produced it, and a
client that reconnects with ``?after=<seq>`` misses nothing.  A periodic re-read
covers a notification lost while the listening connection was being replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict

import asyncpg
from aiohttp import WSCloseCode, WSMsgType, web

from ..common.http import ApiError
from .sql import q

log = logging.getLogger(__name__)
CHANNEL = "paraseg_events"
PAGE = 500
FALLBACK_POLL_S = 5.0


class EventHub:
    """One LISTEN connection per process, waking the sockets of the notified user."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._subscribers: dict[int, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="event-hub")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def subscribe(self, user_id: int) -> asyncio.Event:
        wake = asyncio.Event()
        self._subscribers[user_id].add(wake)
        return wake

    def unsubscribe(self, user_id: int, wake: asyncio.Event) -> None:
        self._subscribers[user_id].discard(wake)
        if not self._subscribers[user_id]:
            del self._subscribers[user_id]

    def _on_notify(self, _conn, _pid, _channel, payload: str) -> None:
        try:
            user_id = int(payload)
        except ValueError:
            return
        for wake in self._subscribers.get(user_id, ()):
            wake.set()

    def _wake_all(self) -> None:
        for wakes in self._subscribers.values():
            for wake in wakes:
                wake.set()

    async def _listen(self) -> None:
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn)
                await conn.add_listener(CHANNEL, self._on_notify)
                self.connected.set()
                self._wake_all()  # anything sent while we were not listening
                while not conn.is_closed():
                    await asyncio.sleep(1)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event listener lost its connection (%s); reconnecting", exc)
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 5)
            await asyncio.sleep(0.5)


def frame(row) -> str:
    body = json.loads(row["body"])
    return json.dumps({"seq": row["seq"], "type": row["type"], "ts": row["created_at"].isoformat()} | body)


def parse_after(request: web.Request) -> int | None:
    raw = request.query.get("after")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError(400, "invalid_request", "after must be a non-negative integer")
    return int(raw)


async def events_socket(request: web.Request) -> web.StreamResponse:
    from .keys import DB, HUB, METRICS, SOCKETS

    user_id = request["user_id"]
    after = parse_after(request)
    db, hub, metrics = request.app[DB], request.app[HUB], request.app[METRICS]
    if after is None:  # only what happens from now on
        async with db.connection() as conn:
            after = await conn.fetchval("SELECT event_seq FROM users WHERE id = $1", user_id)
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    metrics.sockets.inc()
    wake = hub.subscribe(user_id)
    reader = asyncio.create_task(_drain(ws), name=f"ws-reader-{user_id}")
    try:
        while not ws.closed and not reader.done():
            wake.clear()
            async with db.connection() as conn:
                rows = await conn.fetch(q("events_after"), user_id, after, PAGE)
            for row in rows:
                await ws.send_str(frame(row))
                after = row["seq"]
                metrics.events_sent.inc()
            if len(rows) == PAGE:
                continue
            waiter = asyncio.create_task(wake.wait())
            await asyncio.wait({waiter, reader}, timeout=FALLBACK_POLL_S, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    except ApiError as exc:  # the pool stayed busy: tell the client and let it reconnect with ?after=
        await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=exc.code.encode())
    finally:
        hub.unsubscribe(user_id, wake)
        reader.cancel()
        metrics.sockets.dec()
        if not ws.closed:
            await ws.close()
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) what the client sends, so a close is noticed at once."""
    async for msg in ws:
        if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
            break


async def close_sockets(app: web.Application) -> None:
    from .keys import SOCKETS

    for ws in list(app[SOCKETS]):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
