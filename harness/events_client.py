"""A WebSocket client of the live events (docs/api.md, Live events).

Collects every frame with the time it arrived, so steps can check order,
exactness and latency; ``connect(after=...)`` replays what came after a seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from dataclasses import dataclass, field

import websockets

from .waiting import WaitTimeout


@dataclass
class ReceivedEvent:
    body: dict
    received_at: float  # time.time()

    @property
    def latency_s(self) -> float:
        return self.received_at - dt.datetime.fromisoformat(self.body["ts"]).timestamp()


@dataclass
class EventStream:
    base_url: str
    token: str
    events: list[ReceivedEvent] = field(default_factory=list)
    _task: asyncio.Task | None = None
    _ws: object | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1).rstrip("/") + "/api/events"

    @property
    def last_seq(self) -> int | None:
        return self.events[-1].body["seq"] if self.events else None

    async def connect(self, after: int | None = None) -> None:
        if after is None:
            after = self.last_seq
        query = f"?after={after}" if after is not None else ""
        self._ws = await websockets.connect(self.url + query, additional_headers={"Authorization": f"Bearer {self.token}"}, max_size=2**22)
        self._task = asyncio.create_task(self._receive(self._ws), name="event-stream")

    async def _receive(self, ws) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in ws:
                event = ReceivedEvent(json.loads(message), time.time())
                async with self._arrived:
                    self.events.append(event)
                    self._arrived.notify_all()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, 5)

    async def wait_for(self, predicate, timeout: float, describe: str = "the events expected") -> None:
        """Wait until ``predicate(events)`` holds; woken by each arriving event, not by polling.

        Raises :class:`~harness.waiting.WaitTimeout` naming what it waited for
        and the last events that did arrive.
        """
        async def _wait():
            async with self._arrived:
                await self._arrived.wait_for(lambda: predicate([e.body for e in self.events]))

        try:
            await asyncio.wait_for(_wait(), timeout)
        except TimeoutError:
            arrived = [(e.body["seq"], e.body["type"], e.body["job_id"]) for e in self.events[-10:]]
            raise WaitTimeout(describe, timeout, f"{len(self.events)} events, the last (seq, type, job): {arrived}") from None

    def bodies(self) -> list[dict]:
        return [e.body for e in self.events]
