"""``GET /api/events``: a user's live events over a WebSocket (docs/api.md, Live events).

The socket sends every event after the last seq it sent, in order: at connect
(from ``?after=`` or from now), whenever the hub says the user has new events,
and every ``FALLBACK_POLL_S`` in case a notification was lost.  When the events
it would send next were swept (older than ``EVENT_RETENTION_DAYS``), it sends
none of the later ones either: it closes with ``EVENTS_EXPIRED`` and the client
reads the state again (a stream is never sent with a hole in it).

Each read also reads again the last event the client has (the anchor) and checks
it is the one the client saw (``?event_id=``, then each frame's ``event_id``).
After a failover that lost the last commits, the kept history may end before the
client's seq, or hand that seq to another event: the client was shown a history
that no longer exists.  The socket then sends nothing more and closes with
``EVENTS_REWOUND``; the client reads the state again and resumes from the
server's position (``GET /api/me``), as for an expired history.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from aiohttp import WSCloseCode, WSMsgType, web

from ..common.http import ApiError
from ..contract import EVENTS_EXPIRED_CLOSE_CODE, EVENTS_REWOUND_CLOSE_CODE, SESSION_CHECK_S, SESSION_ENDED_CLOSE_CODE
from .keys import HUB, METRICS, SETTINGS, SOCKETS, SOCKETS_PER_USER, STORE

PAGE = 500
# After a wake, how long the socket lets further events of the same run arrive before it reads them all at
# once: one query and one round of frames for many events, at the cost of this much latency.
COALESCE_S = 0.02
FALLBACK_POLL_S = SESSION_CHECK_S  # the contract's promise: a socket notices an ended session within this
SESSION_ENDED = SESSION_ENDED_CLOSE_CODE  # sign in again, then reconnect
EVENTS_EXPIRED = EVENTS_EXPIRED_CLOSE_CODE  # read the state again, then reconnect from the present seq
EVENTS_REWOUND = EVENTS_REWOUND_CLOSE_CODE  # the same: the history the client was shown is no longer the kept one


def frame(row) -> str:
    body = json.loads(row["body"])
    return json.dumps({"seq": row["seq"], "type": row["type"], "ts": row["created_at"].isoformat(), "event_id": str(row["event_id"])} | body)


def parse_event_id(request: web.Request) -> uuid.UUID | None:
    raw = request.query.get("event_id")
    if raw is None:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ApiError(400, "invalid_request", "event_id must be the event_id of an event this stream sent") from None


def without_anchor(after: int, end: int, kept_from: int) -> tuple[int, bytes] | None:
    """The client's last event (seq ``after`` > 0) is not in the history, which ends at ``end`` and keeps events
    from ``kept_from`` on: None when that is fine (it was swept, and the client needs only what is kept), else
    the close code and reason to end the stream with."""
    if end < after:  # the client saw events the kept history does not hold
        return EVENTS_REWOUND, b"events_rewound"
    if after < kept_from - 1:  # it needs events that were swept
        return EVENTS_EXPIRED, b"events_expired"
    if after == kept_from - 1:
        return None
    return EVENTS_REWOUND, b"events_rewound"  # its seq is kept, its event is not: not this history


def anchored(rows: list, after: int, anchor: uuid.UUID | None) -> tuple[list, bool | None, uuid.UUID | None]:
    """Of the rows read from seq ``after`` on: the ones to send; whether the client's last event is the first row
    (True), is another event (False: a rewind), or is not there (None: ask where the history stands); and that
    event's id from now on (a client that did not name it, ``?after=`` alone, is taken to have seen this one)."""
    if after == 0:  # from the start: the first event must be there (or none swept yet: the history says)
        return rows, (True if rows and rows[0]["seq"] == 1 else None), anchor
    if rows and rows[0]["seq"] == after:
        return rows[1:], anchor is None or rows[0]["event_id"] == anchor, anchor or rows[0]["event_id"]
    return rows, None, anchor


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
    anchor = parse_event_id(request)
    if after is None:  # only what happens from now on (the one read before the upgrade: a reconnection needs none)
        after, _, anchor = await store.event_position(user_id)
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
        while not ws.closed and not reader.done():
            if time.monotonic() - checked >= FALLBACK_POLL_S:  # a session that ended (signed out, expired) ends its sockets
                checked = time.monotonic()
                if await store.user_for_token(request["token_hash"], session_s) != user_id:
                    await ws.close(code=SESSION_ENDED, message=b"unauthorized")
                    break
            wake.clear()
            rows, same, anchor = anchored(await store.events_from(user_id, after, PAGE), after, anchor)
            if same is False:
                await ws.close(code=EVENTS_REWOUND, message=b"events_rewound")
                break
            if same is None and (ended := without_anchor(after, *(await store.event_position(user_id))[:2])):
                await ws.close(code=ended[0], message=ended[1])
                break
            rows = rows[:PAGE]
            if rows and rows[0]["seq"] != after + 1:  # swept while this socket was behind: never a stream with a hole
                await ws.close(code=EVENTS_EXPIRED, message=b"events_expired")
                break
            for row in rows:
                await ws.send_str(frame(row))
                after, anchor = row["seq"], row["event_id"]
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
