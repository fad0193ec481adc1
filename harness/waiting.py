"""The one way the harness waits: on a real condition, within a bound, failing with what it saw.

``wait_until(probe, timeout=..., describe=...)`` calls ``probe()`` every
``interval`` seconds until ``until(value)`` holds (by default: the value is
truthy) and returns that value.  If the bound passes first it raises
:class:`WaitTimeout` saying what it waited for, for how long, and the last value
the probe returned (or the exception it raised, for probes listed in
``ignore``, such as a connection refused while a server starts).
``async_wait_until`` is the same on the event loop, for probes that return a
value or an awaitable; a probe call that hangs is cut off at the bound as well.

Nothing here is an assertion about speed: the bound only turns a hang into a
failure that explains itself.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

_UNSEEN = object()


class WaitTimeout(AssertionError):
    """The condition did not hold within the bound.  An AssertionError, so a scenario fails (not errors)."""

    def __init__(self, describe: str, timeout: float, last: Any) -> None:
        seen = "nothing (the probe never answered)" if last is _UNSEEN else _short(last)
        super().__init__(f"waited {timeout:g} s for {describe}; last seen: {seen}")
        self.describe, self.timeout, self.last = describe, timeout, last


def _short(value: Any, limit: int = 800) -> str:
    text = f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float,
    describe: str,
    interval: float = 0.05,
    until: Callable[[T], bool] = bool,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    deadline = time.monotonic() + timeout
    last: Any = _UNSEEN
    while True:
        try:
            last = probe()
            if until(last):
                return last
        except ignore as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise WaitTimeout(describe, timeout, last)
        time.sleep(interval)


async def async_wait_until(
    probe: Callable[[], Awaitable[T] | T],
    *,
    timeout: float,
    describe: str,
    interval: float = 0.05,
    until: Callable[[T], bool] = bool,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    deadline = time.monotonic() + timeout
    last: Any = _UNSEEN
    while True:
        try:  # a probe that hangs is cut off at the bound too
            last = probe()
            if inspect.isawaitable(last):
                last = await asyncio.wait_for(last, max(deadline - time.monotonic(), interval))
            if until(last):
                return last
        except TimeoutError:
            raise WaitTimeout(describe, timeout, last) from None
        except ignore as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise WaitTimeout(describe, timeout, last)
        await asyncio.sleep(interval)


BATCH_TIMEOUT_S = 180
