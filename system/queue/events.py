"""Live events: per-user streams in PostgreSQL, and the LISTEN hub that wakes their sockets.

Events are rows (user_id, seq) written in the same transaction as the state
change they report, followed by ``NOTIFY paraseg_events, '<user_id>'``.  Every
API process LISTENs; a notification only *wakes* that user's sockets, which then
read every event after the last seq they sent.  So a socket sends each event
exactly once and in order, whichever process or worker produced it, and a
client that reconnects with ``?after=<seq>`` misses nothing.  A periodic re-read
covers a notification lost while the listening connection was being replaced.
The WebSocket route itself is ``sockets.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

import asyncpg

log = logging.getLogger(__name__)
CHANNEL = "paraseg_events"


class EventHub:
    """One LISTEN connection per process, waking the sockets of the notified user."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._subscribers: dict[int, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task | None = None

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
                self._wake_all()  # anything sent while we were not listening
                while not conn.is_closed():
                    await asyncio.sleep(1)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event listener lost its connection (%s); reconnecting", exc)
            finally:
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 5)
            await asyncio.sleep(0.5)
