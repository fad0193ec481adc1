"""Limits per researcher, so that one client cannot starve the others at an API process.

- Writes (every ``POST``, ``PUT``, ``PATCH`` and ``DELETE`` under ``/api/`` but
  signing in and out): a token bucket per researcher, ``WRITE_BURST`` at once
  and ``WRITES_PER_SECOND`` after that; past it 429 ``too_many_requests`` with
  ``Retry-After`` (the seconds until one more write is allowed).
- Event sockets: at most ``MAX_SOCKETS_PER_USER`` open at once; one more is
  refused with 429 ``too_many_requests`` before the upgrade.

Both are counted by each API process on its own (several processes each
protect themselves); neither touches the database.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..common.http import ApiError

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def too_many(what: str, retry_after_s: float) -> ApiError:
    return ApiError(429, "too_many_requests", f"too many {what}; try again shortly", {"Retry-After": str(max(1, math.ceil(retry_after_s)))})


@dataclass
class WriteBuckets:
    """A token bucket per researcher: ``burst`` writes at once, refilled at ``per_s`` a second."""

    per_s: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[int, tuple[float, float]] = field(default_factory=dict)  # user -> (tokens, when counted)

    def take(self, user_id: int) -> None:
        """One write for ``user_id``, or ``too_many_requests`` when the bucket is empty."""
        now = self.clock()
        tokens, then = self._buckets.get(user_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.per_s)
        if tokens < 1:
            self._buckets[user_id] = (tokens, now)
            raise too_many("changes at once", (1 - tokens) / self.per_s)
        self._buckets[user_id] = (tokens - 1, now)


@dataclass
class SocketCount:
    """Event sockets open per researcher."""

    limit: int
    _open: dict[int, int] = field(default_factory=dict)

    def open(self, user_id: int) -> None:
        if self._open.get(user_id, 0) >= self.limit:
            raise too_many(f"live event connections (at most {self.limit})", 1)
        self._open[user_id] = self._open.get(user_id, 0) + 1

    def close(self, user_id: int) -> None:
        left = self._open.get(user_id, 0) - 1
        if left > 0:
            self._open[user_id] = left
        else:
            self._open.pop(user_id, None)
