"""A researcher's event stream after a failover that lost the last commits (issue 33, part 1), on real PostgreSQL.

What asynchronous replication allows at a failover - the promoted replica lacks the last commits - is made here
in the primary itself: the events after seq K are deleted and the stream's end set back to K, as the promoted
replica holds it, and the re-run then hands seqs K+1.. to new events.  A client that was shown the lost events
must be told (close code 4003 events_rewound), never sent the new history as if it were the old one.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import asyncpg
import pytest

from harness.researchers.actors import Researcher
from system.contract import EVENTS_REWOUND_CLOSE_CODE

BODY = {"project_id": 1, "batch_id": 1, "job_id": 1, "image_id": 1, "status": "queued"}


async def emit(url: str, user_id: int, n: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.fetchval("SELECT paraseg_emit($1, $2::text[], $3::text[]::jsonb[])", user_id, ["job.queued"] * n, [json.dumps(BODY)] * n)
    finally:
        await conn.close()


async def rewind_to(url: str, user_id: int, kept: int) -> None:
    """The history as a promoted replica that lacks the commits after seq ``kept`` holds it."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("DELETE FROM events WHERE user_id = $1 AND seq > $2", user_id, kept)
            await conn.execute("UPDATE users SET event_seq = $2 WHERE id = $1", user_id, kept)
    finally:
        await conn.close()


async def frames_until_closed(ws: aiohttp.ClientWebSocketResponse, limit: int | None = None, timeout: float = 30) -> list[dict]:
    """Frames until the server closes (or ``limit`` frames arrived)."""
    got = []
    async with asyncio.timeout(timeout):
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            got.append(json.loads(msg.data))
            if limit is not None and len(got) >= limit:
                break
    return got


@pytest.fixture
async def researcher(system):
    async with aiohttp.ClientSession() as session:
        r = await Researcher.sign_up(system.api_url, session, "rewind")
        r.user_id = (await r.api.me())["id"]
        yield r, session


def events_url(system, after: int | None = None, event_id: str | None = None) -> str:
    url = system.api_url.replace("http://", "ws://") + "/api/events"
    query = [f"after={after}"] if after is not None else []
    query += [f"event_id={event_id}"] if event_id else []
    return url + ("?" + "&".join(query) if query else "")


async def test_a_client_shown_events_a_failover_took_back_is_told_and_the_right_one_resumes(system, researcher):
    r, session = researcher
    db = system.database_url
    await emit(db, r.user_id, 5)
    async with session.ws_connect(events_url(system, after=0), headers=r.api.headers()) as ws:
        seen = await frames_until_closed(ws, limit=5)
    assert [f["seq"] for f in seen] == [1, 2, 3, 4, 5] and len({f["event_id"] for f in seen}) == 5
    me = await r.api.me()
    assert (me["event_seq"], me["event_id"]) == (5, seen[-1]["event_id"])

    # Resuming where it was, with the id of what it saw: the events after it, nothing else.
    await emit(db, r.user_id, 1)
    async with session.ws_connect(events_url(system, 5, seen[-1]["event_id"]), headers=r.api.headers()) as ws:
        assert [f["seq"] for f in await frames_until_closed(ws, limit=1)] == [6]

    # The failover kept seqs 1..3; the re-run wrote 4..7 anew.  The client saw 1..6 of the lost history.
    await rewind_to(db, r.user_id, 3)
    await emit(db, r.user_id, 4)
    async with session.ws_connect(events_url(system, 6, "00000000-0000-4000-8000-000000000000"), headers=r.api.headers()) as ws:
        sent = await frames_until_closed(ws)
        assert (sent, ws.close_code) == ([], EVENTS_REWOUND_CLOSE_CODE), (sent, ws.close_code)

    # The kept history ends before the client's seq: told as well.
    await rewind_to(db, r.user_id, 2)
    async with session.ws_connect(events_url(system, 6), headers=r.api.headers()) as ws:
        sent = await frames_until_closed(ws)
        assert (sent, ws.close_code) == ([], EVENTS_REWOUND_CLOSE_CODE), (sent, ws.close_code)

    # Told, it reads where the kept history stands and resumes from there.
    me = await r.api.me()
    assert me["event_seq"] == 2
    await emit(db, r.user_id, 1)
    async with session.ws_connect(events_url(system, me["event_seq"], me["event_id"]), headers=r.api.headers()) as ws:
        assert [f["seq"] for f in await frames_until_closed(ws, limit=1)] == [3]


async def test_a_live_socket_whose_history_is_taken_back_closes_instead_of_sending_the_new_one(system, researcher):
    r, session = researcher
    db = system.database_url
    await emit(db, r.user_id, 4)
    async with session.ws_connect(events_url(system, after=0), headers=r.api.headers()) as ws:
        assert [f["seq"] for f in await frames_until_closed(ws, limit=4)] == [1, 2, 3, 4]
        await rewind_to(db, r.user_id, 2)
        await emit(db, r.user_id, 3)  # seqs 3, 4, 5 of the kept history, woken by its NOTIFY
        sent = await frames_until_closed(ws)
        assert (sent, ws.close_code) == ([], EVENTS_REWOUND_CLOSE_CODE), (sent, ws.close_code)


async def test_a_client_without_an_event_id_still_learns_of_a_history_that_ends_before_it(system, researcher):
    r, session = researcher
    db = system.database_url
    await emit(db, r.user_id, 3)
    async with session.ws_connect(events_url(system, after=9), headers=r.api.headers()) as ws:
        sent = await frames_until_closed(ws)
        assert (sent, ws.close_code) == ([], EVENTS_REWOUND_CLOSE_CODE), (sent, ws.close_code)
    async with session.ws_connect(events_url(system, after=1), headers=r.api.headers()) as ws:  # ?after= alone, as before
        assert [f["seq"] for f in await frames_until_closed(ws, limit=2)] == [2, 3]
