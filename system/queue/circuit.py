"""A circuit breaker in front of the inference servers, as a worker sees them.

Closed: calls go through.  After ``threshold`` failures in a row it opens: no
call, no new claim, for a cool-down that doubles with each failed probe (up to
``max_cooldown_s``).  When the cool-down is over it is half-open: exactly one
call may go as a probe; its success closes the circuit, its failure opens it
again.  So a restarting inference server costs each held job a few cheap,
spaced tries instead of burning its attempts in a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..contract import CIRCUIT_COOLDOWN_S, CIRCUIT_MAX_COOLDOWN_S

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
COOLDOWN_S, MAX_COOLDOWN_S = CIRCUIT_COOLDOWN_S, CIRCUIT_MAX_COOLDOWN_S  # the contract's promise


class Circuit:
    def __init__(self, threshold: int = 3, cooldown_s: float = COOLDOWN_S, max_cooldown_s: float = MAX_COOLDOWN_S, probe_timeout_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if threshold < 1 or cooldown_s <= 0 or max_cooldown_s < cooldown_s:
            raise ValueError("threshold >= 1, 0 < cooldown_s <= max_cooldown_s")
        self.threshold, self.base_cooldown_s, self.max_cooldown_s, self.clock = threshold, cooldown_s, max_cooldown_s, clock
        self.probe_timeout_s = probe_timeout_s  # a probe that never reported back frees the way for another
        self.probe_started = 0.0
        self.state = CLOSED
        self.failures = 0
        self.cooldown_s = cooldown_s
        self.reopens_at = 0.0
        self.opened = 0  # how many times it opened (metrics, tests)

    def allow(self) -> bool:
        """May a call go now?  In half-open state only the first caller gets True."""
        if self.state == CLOSED:
            return True
        now = self.clock()
        if (self.state == OPEN and now >= self.reopens_at) or (self.state == HALF_OPEN and now - self.probe_started >= self.probe_timeout_s):
            self.state, self.probe_started = HALF_OPEN, now
            return True
        return False

    def wait_s(self) -> float:
        """Seconds until a call may be tried (0 when closed or already probing)."""
        return max(0.0, self.reopens_at - self.clock()) if self.state == OPEN else 0.0

    def succeeded(self) -> None:
        self.state, self.failures, self.cooldown_s = CLOSED, 0, self.base_cooldown_s

    def failed(self) -> None:
        self.failures += 1
        if self.state == HALF_OPEN:
            self.cooldown_s = min(self.cooldown_s * 2, self.max_cooldown_s)
            self._open()
        elif self.state == CLOSED and self.failures >= self.threshold:
            self._open()

    def _open(self) -> None:
        self.state = OPEN
        self.reopens_at = self.clock() + self.cooldown_s
        self.opened += 1
