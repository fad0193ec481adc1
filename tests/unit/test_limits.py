"""Limits per researcher: a bucket of writes, a count of sockets."""

from __future__ import annotations

import pytest

from system.common.http import ApiError
from system.queue.limits import SocketCount, WriteBuckets


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate_and_a_retry_after_that_says_when():
    clock = Clock()
    buckets = WriteBuckets(per_s=2, burst=3, clock=clock)
    for _ in range(3):
        buckets.take(1)
    with pytest.raises(ApiError) as refused:
        buckets.take(1)
    assert (refused.value.status, refused.value.code, refused.value.headers["Retry-After"]) == (429, "too_many_requests", "1")
    buckets.take(2)  # another researcher's bucket is their own
    clock.now = 0.5  # one more write's worth at 2 a second
    buckets.take(1)
    with pytest.raises(ApiError):
        buckets.take(1)
    clock.now = 100.0  # never more than the burst
    for _ in range(3):
        buckets.take(1)
    with pytest.raises(ApiError):
        buckets.take(1)


def test_sockets_beyond_the_limit_are_refused_and_a_closed_one_makes_room():
    count = SocketCount(limit=2)
    count.open(1)
    count.open(1)
    with pytest.raises(ApiError) as refused:
        count.open(1)
    assert refused.value.code == "too_many_requests"
    count.open(2)
    count.close(1)
    count.open(1)
