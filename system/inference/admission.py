"""Admission: a request is let in before its body is read, or refused at once.

The inference server holds at most ``max_requests`` requests (those its queue
can wait and its lanes can compute) and at most ``max_bytes`` of their bodies,
from the moment a body starts to be read until its answer is written.  A
request beyond either is refused with 503 ``overloaded`` before a byte of its
body is read, so a burst of large images is back-pressure, not memory; a
client that sends ``Expect: 100-continue`` is refused before it sends the body
at all.  A request whose size is not declared counts as the largest allowed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class Admission:
    def __init__(self, max_requests: int, max_bytes: int) -> None:
        if max_requests < 1 or max_bytes < 1:
            raise ValueError("max_requests and max_bytes must be >= 1")
        self.max_requests, self.max_bytes = max_requests, max_bytes
        self.requests = 0
        self.bytes = 0
        self.refused = 0

    def would_admit(self, size: int) -> bool:
        return self.requests < self.max_requests and self.bytes + size <= self.max_bytes

    @contextlib.contextmanager
    def admit(self, size: int) -> Iterator[bool]:
        """Yield True and hold ``size`` bytes and one request until the block ends; yield False (holding
        nothing, counted as refused) when they are not free."""
        if not self.would_admit(size):
            self.refused += 1
            yield False
            return
        self.requests += 1
        self.bytes += size
        try:
            yield True
        finally:
            self.requests -= 1
            self.bytes -= size
