"""The one waiting primitive: returns what it waited for, or fails saying what and the last value seen."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from harness.waiting import WaitTimeout, async_wait_until, wait_until


def test_returns_the_value_that_satisfied_the_condition():
    counter = itertools.count()
    assert wait_until(lambda: next(counter), until=lambda n: n >= 3, timeout=5, interval=0, describe="three") == 3


def test_a_timeout_names_what_it_waited_for_and_the_last_value():
    with pytest.raises(WaitTimeout, match=r"waited 0.05 s for the moon; last seen: 7"):
        wait_until(lambda: 7, until=lambda n: n > 10, timeout=0.05, interval=0.01, describe="the moon")


def test_ignored_errors_are_remembered_and_others_propagate():
    with pytest.raises(WaitTimeout, match="ConnectionRefusedError"):
        wait_until(lambda: (_ for _ in ()).throw(ConnectionRefusedError("nobody")), timeout=0.05, interval=0.01,
                   describe="a server", ignore=(OSError,))
    with pytest.raises(ZeroDivisionError):
        wait_until(lambda: 1 / 0, timeout=1, describe="arithmetic", ignore=(OSError,))


def test_a_timeout_is_an_assertion_so_a_scenario_fails_rather_than_errors():
    assert issubclass(WaitTimeout, AssertionError)


async def test_async_probes_plain_or_awaitable():
    counter = itertools.count()

    async def later() -> int:
        await asyncio.sleep(0)
        return next(counter)

    assert await async_wait_until(later, until=lambda n: n >= 2, timeout=5, interval=0, describe="two") == 2
    assert await async_wait_until(lambda: "ready", timeout=1, describe="plain") == "ready"


async def test_a_probe_that_hangs_is_cut_off_at_the_bound():
    async def hang():
        await asyncio.Event().wait()

    with pytest.raises(WaitTimeout, match="a hanging probe"):
        await async_wait_until(hang, timeout=0.1, describe="a hanging probe")
