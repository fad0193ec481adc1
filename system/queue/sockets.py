"""``GET /api/events``: a user's live events over a WebSocket (docs/api.md, Live events).

The socket sends every event after the last seq it sent, in order: at connect
(from ``?after=`` or from now), whenever the hub says the user has new events,
and every ``FALLBACK_POLL_S`` in case a notification was lost.  When the events
it would send next were swept (older than ``EVENT_RETENTION_DAYS``), it sends
none of the later ones either: it closes with ``EVENTS_EXPIRED`` and the client
reads the state again (a stream is never sent with a hole in it).
"""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import WSCloseCode, WSMsgType, web

from ..common.http import ApiError
from ..contract import EVENTS_EXPIRED_CLOSE_CODE, SESSION_CHECK_S, SESSION_ENDED_CLOSE_CODE
from .keys import HUB, METRICS, SETTINGS, SOCKETS, SOCKETS_PER_USER, STORE

PAGE = 500
# After a wake, how long the socket lets further events of the same run arrive before it reads them all at
# once: one query and one round of frames for many events, at the cost of this much latency.
COALESCE_S = 0.02
FALLBACK_POLL_S = SESSION_CHECK_S  # the contract's promise: a socket notices an ended session within this
SESSION_ENDED = SESSION_ENDED_CLOSE_CODE  # sign in again, then reconnect
EVENTS_EXPIRED = EVENTS_EXPIRED_CLOSE_CODE  # read the state again, then reconnect from the present seq


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
    user_id = request["user_id"]
    after = parse_after(request)
    store, hub, metrics = request.app[STORE], request.app[HUB], request.app[METRICS]
    ws = web.WebSocketResponse(heartbeat=20, compress=False)  # frames of ~200 bytes: deflate costs CPU on both ends, saves little
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "invalid_request", "this route only speaks WebSocket: send an Upgrade: websocket request")
    replaying = after is not None
    if after is None:  # only what happens from now on (the one read before the upgrade: a reconnection needs none)
        after, _ = await store.event_position(user_id)
    request.app[SOCKETS_PER_USER].open(user_id)  # refused before the upgrade past the researcher's limit
    try:
        await ws.prepare(request)
    except BaseException:
        request.app[SOCKETS_PER_USER].close(user_id)
        raise
    request.app[SOCKETS].add(ws)
    metrics.sockets.inc()
    wake = hub.subscribe(user_id)
    reader = asyncio.create_task(_drain(ws), name=f"ws-reader-{user_id}")
    session_s, checked = request.app[SETTINGS].session_s, time.monotonic()
    try:
        if replaying and after + 1 < (await store.event_position(user_id))[1]:  # what it asks for is no longer kept
            await ws.close(code=EVENTS_EXPIRED, message=b"events_expired")
        while not ws.closed and not reader.done():
            if time.monotonic() - checked >= FALLBACK_POLL_S:  # a session that ended (signed out, expired) ends its sockets
                checked = time.monotonic()
                if await store.user_for_token(request["token_hash"], session_s) != user_id:
                    await ws.close(code=SESSION_ENDED, message=b"unauthorized")
                    break
            wake.clear()
            rows = await store.events_after(user_id, after, PAGE)
            if rows and rows[0]["seq"] != after + 1:  # swept while this socket was behind
                await ws.close(code=EVENTS_EXPIRED, message=b"events_expired")
                break
            for row in rows:
                await ws.send_str(frame(row))
                after = row["seq"]
                metrics.events_sent.inc()
            if len(rows) == PAGE:
                continue
            waiter = asyncio.create_task(wake.wait())
            await asyncio.wait({waiter, reader}, timeout=FALLBACK_POLL_S, return_when=asyncio.FIRST_COMPLETED)
            if waiter.done():  # events come in runs (a job's start, another's end): read them with one query
                await asyncio.sleep(COALESCE_S)
            waiter.cancel()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    except ApiError as exc:  # the database is busy or away: tell the client, which reconnects with ?after=
        await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=exc.code.encode())
    finally:
        hub.unsubscribe(user_id, wake)
        request.app[SOCKETS_PER_USER].close(user_id)
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
    for ws in list(app[SOCKETS]):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
