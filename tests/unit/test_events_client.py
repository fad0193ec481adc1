"""The harness's event client checks every event as it arrives, so a broken rule fails at once."""

from __future__ import annotations

from harness.clients.events import EventStream, ReceivedEvent


def event(seq: int, project: int = 7) -> dict:
    return {"seq": seq, "type": "job.queued", "ts": "2026-01-01T00:00:00+00:00", "project_id": project, "batch_id": 1, "job_id": seq,
            "image_id": seq, "status": "queued"}


def arrive(stream: EventStream, body: dict) -> None:
    stream._check(body)
    stream.events.append(ReceivedEvent(body, 0.0))


def test_consecutive_events_of_own_projects_break_nothing():
    stream = EventStream(["http://api"], "token", project_ids={7})
    for seq in (1, 2, 3):
        arrive(stream, event(seq))
    assert stream.violations == []


def test_a_gap_a_repeat_and_a_stranger_are_each_named():
    stream = EventStream(["http://api"], "token", project_ids={7})
    arrive(stream, event(1))
    arrive(stream, event(3))  # 2 went missing
    arrive(stream, event(3))  # and 3 came twice
    arrive(stream, event(4, project=99))  # someone else's
    assert len(stream.violations) == 3
    assert "seq 3 arrived where 2 was due" in stream.violations[0]
    assert "seq 3 arrived where 4 was due" in stream.violations[1]
    assert "project 99" in stream.violations[2]


def test_a_replay_after_a_seq_starts_right_after_it():
    stream = EventStream(["http://api"], "token")
    stream._after = 41
    arrive(stream, event(42))
    assert stream.violations == []


def started(seq: int, job: int, attempt: int) -> dict:
    return event(seq) | {"type": "job.started", "job_id": job, "status": "running", "attempt": attempt}


def test_an_attempt_beyond_the_limit_and_a_start_after_the_end_are_named():
    stream = EventStream(["http://api"], "token", max_attempts=3)
    arrive(stream, started(1, job=5, attempt=3))
    assert stream.violations == []
    arrive(stream, started(2, job=5, attempt=4))  # the retry cap ignored
    arrive(stream, event(3) | {"type": "job.succeeded", "job_id": 6, "status": "succeeded"})
    arrive(stream, started(4, job=6, attempt=2))  # a finished job run again
    assert len(stream.violations) == 2
    assert "job 5 started attempt 4, beyond the 3 attempts" in stream.violations[0]
    assert "job 6 started again" in stream.violations[1]


async def test_a_history_with_a_hole_fails_the_wait_at_once_naming_the_missing_seq():
    """The service closes with events_expired when the next seq is not in its history; reconnecting meets the
    same, so a wait for the batch's events would run out its whole bound (issue 30: 381 s) - it fails now."""
    import asyncio
    import time

    import pytest
    from aiohttp import web

    from system.contract import EVENTS_EXPIRED_CLOSE_CODE

    opened = []

    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        opened.append(request.query.get("after"))
        await ws.close(code=EVENTS_EXPIRED_CLOSE_CODE, message=b"events_expired")
        return ws

    app = web.Application()
    app.router.add_get("/api/events", socket)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    stream = EventStream([f"http://127.0.0.1:{port}"], "token")
    try:
        await stream.connect(after=0)
        began = time.monotonic()
        with pytest.raises(AssertionError, match="holds no event seq 1, the next one due after seq 0"):
            await stream.wait_for(lambda evs: False, timeout=30, describe="events that will never come")
        assert time.monotonic() - began < 5 and opened == ["0"], (time.monotonic() - began, opened)
        assert stream.ended == EVENTS_EXPIRED_CLOSE_CODE
    finally:
        await stream.close()
        await runner.cleanup()
        await asyncio.sleep(0)


async def test_a_history_taken_back_by_a_failover_fails_the_wait_at_once_and_the_reconnection_names_its_event():
    """A stream the service closes with events_rewound (it was shown events the kept history lost) is a violation
    said at once, with the seq and id it was shown; a reconnection names the id of the last event it has."""
    import asyncio
    import json
    import time

    import pytest
    from aiohttp import web

    from system.contract import EVENTS_REWOUND_CLOSE_CODE

    opened = []

    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        opened.append(dict(request.query))
        if len(opened) == 1:
            await ws.send_str(json.dumps({"seq": 1, "type": "job.queued", "ts": "2026-12-08T00:00:00+00:00", "event_id": "e-1",
                                          "project_id": 1, "batch_id": 1, "job_id": 1, "image_id": 1, "status": "queued"}))
            await ws.close(code=1013, message=b"unavailable")
        else:
            await ws.close(code=EVENTS_REWOUND_CLOSE_CODE, message=b"events_rewound")
        return ws

    app = web.Application()
    app.router.add_get("/api/events", socket)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    stream = EventStream([f"http://127.0.0.1:{port}"], "token", project_ids={1})
    try:
        await stream.connect(after=0)
        began = time.monotonic()
        with pytest.raises(AssertionError, match="no longer holds event seq 1 .e-1. that this stream was shown"):
            await stream.wait_for(lambda evs: False, timeout=30, describe="events that will never come")
        assert time.monotonic() - began < 5 and opened == [{"after": "0"}, {"after": "1", "event_id": "e-1"}], opened
        assert stream.ended == EVENTS_REWOUND_CLOSE_CODE
    finally:
        await stream.close()
        await runner.cleanup()
        await asyncio.sleep(0)
