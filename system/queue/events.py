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
from collections import defaultdict

from .listener import Listener

CHANNEL = "paraseg_events"


class EventHub:
    """One LISTEN connection per process (see :class:`Listener`), waking the sockets of the notified user.

    Each time the connection is (re)made every socket is woken, so each
    re-reads the events table after its last seq: nothing sent while the
    connection was away is missed.
    """

    def __init__(self, dsn: str) -> None:
        self._subscribers: dict[int, set[asyncio.Event]] = defaultdict(set)
        self.listener = Listener(dsn, CHANNEL, self._on_notify, on_connected=self._wake_all)

    def start(self) -> None:
        self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()

    def subscribe(self, user_id: int) -> asyncio.Event:
        wake = asyncio.Event()
        self._subscribers[user_id].add(wake)
        return wake

    def unsubscribe(self, user_id: int, wake: asyncio.Event) -> None:
        self._subscribers[user_id].discard(wake)
        if not self._subscribers[user_id]:
            del self._subscribers[user_id]

    def _on_notify(self, payload: str) -> None:
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
