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
from collections.abc import Callable

import asyncpg

from .db import UNREACHABLE, connect_settings
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
        backoff = 0.1
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=self.heartbeat_s * 2, **connect_settings())
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(self.channel, lambda _c, _pid, _ch, payload: self.on_notify(payload))
                backoff = 0.1
                self.on_connected()  # whatever was sent while nobody listened
                await self._beat(conn, lost)
            except asyncio.CancelledError:
                raise
            except (*UNREACHABLE, asyncpg.PostgresError) as exc:
                log.warning("LISTEN %s: connection lost (%r); connecting again", self.channel, exc)
            finally:
                if conn is not None:
                    conn.terminate()  # never wait on a connection that may be blackholed
            self.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)

    async def _beat(self, conn: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Until the connection is gone: each ``heartbeat_s`` a query that must answer within ``heartbeat_s``."""
        while not lost.is_set() and not conn.is_closed():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self.heartbeat_s)
                return
            await asyncio.wait_for(conn.fetchval(q("ping")), self.heartbeat_s)  # raises TimeoutError when blackholed
