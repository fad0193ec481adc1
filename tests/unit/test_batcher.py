from __future__ import annotations

import asyncio

import pytest

from system.inference.batcher import MicroBatcher, QueueFull, Request, settle


def req(model: str = "unet") -> Request:
    return Request(module=model, tensor=None)


async def test_takes_what_is_queued_up_to_max_batch():
    b = MicroBatcher(max_queue=10, max_batch=3, max_wait=0.0)
    requests = [req() for _ in range(5)]
    for r in requests:
        b.submit(r)
    assert await b.next_batch() == requests[:3]
    assert await b.next_batch() == requests[3:]


async def test_waits_for_more_within_max_wait():
    """With one request queued, the lane waits (within ``max_wait``) for another, and takes both.
    No race: the second arrives when the test says, while the batcher is seen waiting."""
    b = MicroBatcher(max_queue=10, max_batch=2, max_wait=60)
    first, late = req(), req()
    b.submit(first)
    batch = asyncio.create_task(b.next_batch())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not batch.done(), "the batcher returned a batch of one without waiting"
    b.submit(late)
    assert await batch == [first, late]  # a full batch goes at once, not at the end of max_wait


async def test_returns_what_it_has_when_max_wait_is_over():
    b = MicroBatcher(max_queue=10, max_batch=4, max_wait=0.01)
    first = req()
    b.submit(first)
    assert await b.next_batch() == [first]


async def test_drops_requests_whose_caller_gave_up():
    b = MicroBatcher(max_queue=10, max_batch=4)
    gone, live = req(), req()
    gone.future.cancel()
    b.submit(gone)
    b.submit(live)
    assert await b.next_batch() == [live]


async def test_full_queue_refuses():
    b = MicroBatcher(max_queue=2)
    b.submit(req())
    b.submit(req())
    with pytest.raises(QueueFull):
        b.submit(req())


async def test_each_request_is_answered_once():
    r = req()
    settle(r, result=1)
    settle(r, error=RuntimeError("late"))  # ignored: already answered
    assert await r.future == 1


async def test_fail_all_answers_every_waiting_request():
    b = MicroBatcher(max_queue=5)
    rs = [req() for _ in range(3)]
    for r in rs:
        b.submit(r)
    b.fail_all(RuntimeError("stop"))
    for r in rs:
        with pytest.raises(RuntimeError):
            await r.future


def test_rejects_nonsense_settings():
    with pytest.raises(ValueError):
        MicroBatcher(max_queue=0)
