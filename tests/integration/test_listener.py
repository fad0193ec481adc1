"""The LISTEN connection on real PostgreSQL: ended by the server at any moment, it listens again and hears on."""

from __future__ import annotations

import asyncio
import random
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from system.queue.listener import Listener

TERMINATIONS = 30


async def test_a_listener_ended_by_the_server_at_any_moment_hears_the_next_notification(database):
    admin = await asyncpg.connect(database.url)
    await admin.execute("DROP DATABASE IF EXISTS paraseg_listener_test WITH (FORCE)")
    await admin.execute("CREATE DATABASE paraseg_listener_test")  # its own: ending its backends ends nobody else's
    url = urlunsplit(urlsplit(database.url)._replace(path="/paraseg_listener_test"))
    heard: asyncio.Queue[str] = asyncio.Queue()
    # A heartbeat this short puts a heartbeat query next to many of the terminations: the moment a closed
    # connection was once taken for a bug, and the listener stopped for good (issue 30).
    listener = Listener(url, "paraseg_test_listen", heard.put_nowait, heartbeat_s=0.01, max_backoff_s=0.05)
    notifier = await asyncpg.connect(url)
    rng = random.Random(30)
    listener.start()
    try:
        for n in range(TERMINATIONS):
            await _heard_after_notifying(notifier, heard, f"before-{n}")
            await asyncio.sleep(rng.uniform(0, 0.03))
            ended = await admin.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                         "WHERE datname = 'paraseg_listener_test' AND pid <> $1", notifier.get_server_pid())
            assert ended == 1, f"termination {n} ended {ended} listening connections, not the one"
            await asyncio.sleep(0.05)  # the heartbeat meets the closed connection within this
            assert listener._task is not None and not listener._task.done(), f"the listener ended after termination {n}: {listener._task}"
        assert listener.reconnects >= TERMINATIONS // 2, f"only {listener.reconnects} reconnections for {TERMINATIONS} terminations"
    finally:
        await listener.stop()
        await notifier.close()
        await admin.execute("DROP DATABASE IF EXISTS paraseg_listener_test WITH (FORCE)")
        await admin.close()


async def _heard_after_notifying(admin: asyncpg.Connection, heard: asyncio.Queue, payload: str) -> None:
    """NOTIFY until the listener hears it (notifications sent while it reconnects are lost, as in production),
    for at most 10 s: a listener that stopped listening fails here, saying so."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        await admin.execute("SELECT pg_notify('paraseg_test_listen', $1)", payload)
        try:
            while await asyncio.wait_for(heard.get(), 0.2) != payload:
                pass
            return
        except TimeoutError:
            continue
    raise AssertionError(f"the listener heard no notification {payload!r} within 10 s of its (re)connection")
