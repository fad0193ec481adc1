"""A dedicated LISTEN connection that notices when it is gone and comes back by itself.

A connection that only listens may be dead without knowing: the server
restarted, an administrator terminated it, or the network drops its packets
(a blackhole sends no FIN, so nothing ever arrives).  :class:`Listener` finds
out three ways: asyncpg's termination callback, a heartbeat query that must
answer within ``heartbeat_s``, and a failed reconnect.  It then connects again
(backing off), LISTENs again, and calls ``on_connected`` so its owner can
reconcile what it may have missed: notifications sent while nobody listened
are gone, and only the tables tell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import asyncpg

from .db import connect_settings, connection_lost
from .queries import q

log = logging.getLogger(__name__)


class Listener:
    def __init__(self, dsn: str, channel: str, on_notify: Callable[[str], None], on_connected: Callable[[], None] = lambda: None,
                 heartbeat_s: float = 2.0, max_backoff_s: float = 2.0) -> None:
        self.dsn, self.channel = dsn, channel
        self.on_notify, self.on_connected = on_notify, on_connected
        self.heartbeat_s, self.max_backoff_s = heartbeat_s, max_backoff_s
        self.reconnects = 0  # how many times the connection was replaced (for /metrics and tests)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"listen-{self.channel}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        """Listen, and whenever the connection is gone, connect again: this task ends only when it is stopped.

        A listener that ended on an error nobody expected would leave its process deaf for the rest of its life
        (an API whose sockets hear of new events only at their fallback re-read, a worker that wakes only at its
        poll): so whatever it meets, it logs it and listens again.  A lost connection is said once, with how long
        it took to come back; the attempts between are not logged one by one.
        """
        backoff, lost_at = 0.1, None
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=self.heartbeat_s * 2, **connect_settings())
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(self.channel, lambda _c, _pid, _ch, payload: self.on_notify(payload))
                backoff = 0.1
                if lost_at is not None:
                    log.warning("LISTEN %s: listening again, %.1f s after the connection was lost", self.channel, time.monotonic() - lost_at)
                    lost_at = None
                self.on_connected()  # whatever was sent while nobody listened
                await self._beat(conn, lost)
                raise ConnectionResetError("the server closed the listening connection")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # see the docstring: this loop must outlive every error
                if lost_at is None:
                    lost_at = time.monotonic()
                    if connection_lost(exc) or isinstance(exc, asyncpg.PostgresError):
                        log.warning("LISTEN %s: connection lost (%r); connecting again", self.channel, exc)
                    else:
                        log.exception("LISTEN %s: unexpected error; connecting again", self.channel)
            finally:
                if conn is not None:
                    conn.terminate()  # never wait on a connection that may be blackholed
            self.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)

    async def _beat(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Until the connection is gone: each ``heartbeat_s`` a query that must answer within ``heartbeat_s``.

        The connection may close between the wait and the query (its termination callback runs a loop turn
        after asyncpg marks it closed); the query then raises ``InterfaceError``, which ``_run`` takes as
        the loss it is.
        """
        while not lost.is_set() and not conn.is_closed():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self.heartbeat_s)
                return
            await asyncio.wait_for(conn.fetchval(q("ping")), self.heartbeat_s)  # raises TimeoutError when blackholed
