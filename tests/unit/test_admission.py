"""The inference server's admission: requests and bytes held, refused before the body is read."""

from __future__ import annotations

import pytest

from system.inference.admission import Admission


def test_requests_beyond_the_count_are_refused_and_counted():
    a = Admission(max_requests=2, max_bytes=100)
    with a.admit(10) as first, a.admit(10) as second, a.admit(10) as third:
        assert (first, second, third) == (True, True, False)
        assert (a.requests, a.bytes, a.refused) == (2, 20, 1)
    assert (a.requests, a.bytes) == (0, 0)


def test_bytes_beyond_the_budget_are_refused_though_a_request_is_free():
    a = Admission(max_requests=10, max_bytes=100)
    with a.admit(60) as big:
        assert big and not a.would_admit(41) and a.would_admit(40)
        with a.admit(41) as too_big:
            assert not too_big
    assert a.would_admit(100) and not a.would_admit(101)


def test_what_was_admitted_is_given_back_when_the_request_fails():
    a = Admission(max_requests=1, max_bytes=100)
    with pytest.raises(RuntimeError), a.admit(50):
        raise RuntimeError("the image could not be read")
    assert (a.requests, a.bytes) == (0, 0)
