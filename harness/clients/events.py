"""A WebSocket client of the live events (docs/api.md, Live events).

Collects every frame with the time it arrived, so steps can check order,
exactness and latency; ``connect(after=...)`` replays what came after a seq,
and a dropped connection is made again from the last seq received.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from dataclasses import dataclass, field

import websockets

from harness.waiting import WaitTimeout, async_wait_until
from system.contract import EVENTS_EXPIRED_CLOSE_CODE, EVENTS_REWOUND_CLOSE_CODE, SESSION_ENDED_CLOSE_CODE


def refusal(exc: BaseException) -> str:
    """What the server said when a connection was refused: its status and error code, or the error."""
    response = getattr(exc, "response", None)
    if response is not None:
        return f"{response.status_code} {bytes(response.body or b'')[:120].decode(errors='replace')}".rstrip()
    return repr(exc)


@dataclass
class ReceivedEvent:
    body: dict
    received_at: float  # time.time()

    @property
    def latency_s(self) -> float:
        return self.received_at - dt.datetime.fromisoformat(self.body["ts"]).timestamp()


@dataclass
class EventStream:
    """A researcher's live events, kept across dropped connections.

    When the socket closes without the client asking (the API process died,
    the database went away and the server said "try again later"), it connects
    again with ``?after=<last seq>`` - to the next of ``base_urls`` - backing
    off while nobody answers, for at most ``RECONNECT_BOUND_S``.  ``reconnects``
    counts how often; ``gaps`` records each time it was without a socket.
    """

    base_urls: list[str]
    token: str
    events: list[ReceivedEvent] = field(default_factory=list)
    reconnects: int = 0
    gaps: list[tuple[float, float]] = field(default_factory=list)  # (lost, back) in time.time()
    # What happened to the connection, in order: (time.time(), what) - each close with its code and reason, each
    # reconnection refused with what the server answered, each socket opened.  A late event is explained from it.
    timeline: list[tuple[float, str]] = field(default_factory=list)
    error: BaseException | None = None  # why it gave up reconnecting, if it did
    ended: int | None = None  # the close code, when the server ended it: the session ended, the history has a hole or was rewound (not reopened)
    # Checked as each event arrives: its seq follows the last one, it is about one of these projects, a job
    # starts no attempt beyond ``max_attempts`` (the system's MAX_ATTEMPTS) and none after its final event.
    project_ids: set[int] = field(default_factory=set)
    max_attempts: int | None = None
    _finished: set[int] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)
    _task: asyncio.Task | None = None
    _ws: object | None = None
    _closing: bool = False
    _after: int | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    RECONNECT_BOUND_S = 120.0

    @property
    def base_url(self) -> str:
        return self.base_urls[0]

    @staticmethod
    def ws_url(base_url: str) -> str:
        return base_url.replace("http://", "ws://", 1).rstrip("/") + "/api/events"

    @property
    def last_seq(self) -> int | None:
        return self.events[-1].body["seq"] if self.events else None

    @property
    def last_event_id(self) -> str | None:
        return self.events[-1].body.get("event_id") if self.events else None

    async def _open(self, base_url: str, after: int | None):
        query = f"?after={after}" if after is not None else ""
        if after and self.last_event_id and self.last_seq == after:  # the service checks it is still the event we saw
            query += f"&event_id={self.last_event_id}"
        return await websockets.connect(self.ws_url(base_url) + query, additional_headers={"Authorization": f"Bearer {self.token}"},
                                        max_size=2**22, open_timeout=10)

    async def connect(self, after: int | None = None) -> None:
        self._after = self.last_seq if after is None else after
        self._ws = await self._open(self.base_urls[0], self._after)
        self._task = asyncio.create_task(self._run(), name="event-stream")

    async def _run(self) -> None:
        turn = 0
        while True:
            with contextlib.suppress(websockets.ConnectionClosed, OSError):
                async for message in self._ws:
                    event = ReceivedEvent(json.loads(message), time.time())
                    async with self._arrived:
                        self._check(event.body)
                        self.events.append(event)
                        self._arrived.notify_all()
            if self._closing:
                return
            self.timeline.append((time.time(), f"closed {getattr(self._ws, 'close_code', None)} {getattr(self._ws, 'close_reason', '') or ''}".rstrip()))
            if getattr(self._ws, "close_code", None) == SESSION_ENDED_CLOSE_CODE:
                self.ended = SESSION_ENDED_CLOSE_CODE
                async with self._arrived:
                    self._arrived.notify_all()
                return
            if getattr(self._ws, "close_code", None) == EVENTS_EXPIRED_CLOSE_CODE:
                # The service holds no event right after the last one this stream has: a hole in the history (or
                # events swept that a live stream still needed).  Reconnecting would be closed the same way, for
                # as long as a scenario waits: it is said now, naming the seq that is missing.
                self.ended = EVENTS_EXPIRED_CLOSE_CODE
                due = (self.last_seq or self._after or 0) + 1
                async with self._arrived:
                    self.violations.append(f"the service closed the stream with {EVENTS_EXPIRED_CLOSE_CODE} events_expired: it holds no "
                                           f"event seq {due}, the next one due after seq {due - 1} (a researcher's history has every seq)")
                    self._arrived.notify_all()
                return
            if getattr(self._ws, "close_code", None) == EVENTS_REWOUND_CLOSE_CODE:
                # The service's kept history does not hold the events this stream was shown (a failover lost the
                # last commits): what the researcher saw contradicts the database.  Said now, with where it stood.
                self.ended = EVENTS_REWOUND_CLOSE_CODE
                async with self._arrived:
                    self.violations.append(f"the service closed the stream with {EVENTS_REWOUND_CLOSE_CODE} events_rewound: its history no "
                                           f"longer holds event seq {self.last_seq} ({self.last_event_id}) that this stream was shown")
                    self._arrived.notify_all()
                return
            lost, backoff = time.time(), 0.05
            while not self._closing:
                turn += 1
                try:
                    self._ws = await self._open(self.base_urls[turn % len(self.base_urls)], self.last_seq or 0)
                    self.timeline.append((time.time(), f"opened after seq {self.last_seq or 0}"))
                    break
                except (OSError, TimeoutError, websockets.InvalidStatus, websockets.InvalidHandshake) as exc:
                    self.timeline.append((time.time(), f"refused: {refusal(exc)}"))
                    if time.time() - lost > self.RECONNECT_BOUND_S:
                        self.error = exc
                        async with self._arrived:
                            self._arrived.notify_all()
                        return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
            self.reconnects += 1
            self.gaps.append((lost, time.time()))

    def _check(self, body: dict) -> None:
        """The rules every event must keep, checked on arrival so a broken one fails its scenario at once."""
        expected = (self.last_seq or self._after or 0) + 1
        if body["seq"] != expected:
            self.violations.append(f"event seq {body['seq']} arrived where {expected} was due ({body['type']}, job {body['job_id']})")
        if self.project_ids and body["project_id"] not in self.project_ids:
            self.violations.append(f"an event of project {body['project_id']}, not this researcher's {sorted(self.project_ids)}: {body}")
        if body["type"] == "job.started":
            if self.max_attempts is not None and body["attempt"] > self.max_attempts:
                self.violations.append(f"job {body['job_id']} started attempt {body['attempt']}, "
                                       f"beyond the {self.max_attempts} attempts a job has (seq {body['seq']})")
            if body["job_id"] in self._finished:
                self.violations.append(f"job {body['job_id']} started again (attempt {body['attempt']}, seq {body['seq']}) after its final event")
        elif body["type"] in ("job.succeeded", "job.failed", "job.cancelled"):
            self._finished.add(body["job_id"])

    async def wait_until_ended(self, timeout_s: float) -> None:
        """Until the server has closed the stream because its session ended (signed out, expired)."""
        await async_wait_until(lambda: self.ended, until=lambda code: code is not None, timeout=timeout_s, interval=0.05,
                               describe="the event stream to be closed for an ended session (seen: its close code)")

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, 5)

    async def wait_for(self, predicate, timeout: float, describe: str = "the events expected") -> None:
        """Wait until ``predicate(events)`` holds; woken by each arriving event, not by polling.

        Raises :class:`~harness.waiting.WaitTimeout` naming what it waited for
        and the last events that did arrive.
        """
        async def _wait():
            async with self._arrived:
                await self._arrived.wait_for(lambda: self.error is not None or self.violations or predicate([e.body for e in self.events]))
            if self.violations:
                raise AssertionError(f"the event stream broke a rule while waiting for {describe}: {self.violations[0]}")
            if self.error is not None:
                raise AssertionError(f"the event stream gave up reconnecting after {self.RECONNECT_BOUND_S:g} s: {self.error!r}")

        try:
            await asyncio.wait_for(_wait(), timeout)
        except TimeoutError:
            arrived = [(e.body["seq"], e.body["type"], e.body["job_id"]) for e in self.events[-10:]]
            raise WaitTimeout(describe, timeout, f"{len(self.events)} events, the last (seq, type, job): {arrived}") from None

    def bodies(self) -> list[dict]:
        return [e.body for e in self.events]
