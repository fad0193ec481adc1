"""The inference circuit breaker, on a fake clock."""

from __future__ import annotations

import pytest

from system.queue.circuit import CLOSED, HALF_OPEN, OPEN, Circuit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_it_opens_after_threshold_failures_in_a_row(clock):
    c = Circuit(threshold=3, cooldown_s=1, max_cooldown_s=4, clock=clock)
    c.failed()
    c.failed()
    c.succeeded()  # the run is broken: counting starts again
    c.failed()
    c.failed()
    assert c.state == CLOSED and c.allow()
    c.failed()
    assert c.state == OPEN and not c.allow() and c.wait_s() == 1


def test_after_the_cooldown_exactly_one_probe_goes(clock):
    c = Circuit(threshold=1, cooldown_s=1, max_cooldown_s=4, clock=clock)
    c.failed()
    clock.now += 1
    assert c.allow() and c.state == HALF_OPEN
    assert not c.allow(), "a second caller must wait for the probe"
    c.succeeded()
    assert c.state == CLOSED and c.allow()


def test_a_failed_probe_doubles_the_cooldown_up_to_the_cap(clock):
    c = Circuit(threshold=1, cooldown_s=1, max_cooldown_s=3, clock=clock)
    c.failed()
    waits = []
    for _ in range(4):
        clock.now += c.wait_s()
        assert c.allow()
        c.failed()
        waits.append(c.wait_s())
    assert waits == [2, 3, 3, 3]
    clock.now += 3
    assert c.allow()
    c.succeeded()
    c.failed()
    assert c.wait_s() == 1, "success resets the cooldown"


def test_a_probe_that_never_reports_frees_the_way(clock):
    c = Circuit(threshold=1, cooldown_s=1, max_cooldown_s=2, probe_timeout_s=10, clock=clock)
    c.failed()
    clock.now += 1
    assert c.allow()
    clock.now += 9
    assert not c.allow()
    clock.now += 1
    assert c.allow()
