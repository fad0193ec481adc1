"""Micro-batching: gather up to ``max_batch`` requests within ``max_wait``.

A lane calls :meth:`MicroBatcher.next_batch`; it blocks for the first request,
then keeps taking requests that are already queued or arrive within
``max_wait`` seconds, up to ``max_batch``.  Requests whose caller gave up (their
future is done: timed out or cancelled) are dropped here, so a lane never
computes for nobody.  Each request's future gets exactly one result or one
exception; :func:`settle` is the only place that sets them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any


class QueueFull(Exception):
    """The bounded queue cannot take another request."""


@dataclass
class Request:
    """One image waiting for a forward pass: the module that will serve it and its input."""

    module: Any  # fixed when the request is made: a reload while it waits does not change it
    tensor: Any
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    enqueued: float = field(default_factory=time.monotonic)


def settle(request: Request, result: Any = None, error: BaseException | None = None) -> None:
    """Give ``request`` its one answer, unless its caller already stopped waiting."""
    if request.future.done():
        return
    if error is not None:
        request.future.set_exception(error)
    else:
        request.future.set_result(result)


class MicroBatcher:
    def __init__(self, max_queue: int, max_batch: int = 1, max_wait: float = 0.0) -> None:
        if max_batch < 1 or max_queue < 1 or max_wait < 0:
            raise ValueError("max_batch and max_queue must be >= 1 and max_wait >= 0")
        self.max_batch, self.max_wait = max_batch, max_wait
        self._queue: asyncio.Queue[Request] = asyncio.Queue(max_queue)

    def qsize(self) -> int:
        return self._queue.qsize()

    def submit(self, request: Request) -> None:
        try:
            self._queue.put_nowait(request)
        except asyncio.QueueFull:
            raise QueueFull from None

    async def next_batch(self, limit: int | None = None) -> list[Request]:
        """The next batch for a lane: at least one live request, at most ``limit``."""
        limit = min(limit or self.max_batch, self.max_batch)
        batch: list[Request] = []
        while not batch:
            first = await self._queue.get()
            if not first.future.done():
                batch.append(first)
        until = time.monotonic() + self.max_wait
        while len(batch) < limit:
            try:
                request = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = until - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    request = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if not request.future.done():
                batch.append(request)
        return batch

    def fail_all(self, error: BaseException) -> None:
        """On shutdown: answer every queued request with ``error``."""
        while not self._queue.empty():
            settle(self._queue.get_nowait(), error=error)
