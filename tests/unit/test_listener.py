"""The LISTEN connection outlives whatever ends it: it connects again, and tells its owner each time."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from system.queue import listener as listening


class FakeConnection:
    """A connection whose heartbeat query meets what ``fail`` says (asyncpg raises it when the server ended the
    connection a loop turn before its termination callback ran)."""

    def __init__(self, fail: BaseException | None) -> None:
        self.fail, self.closed, self.listening = fail, False, []

    def add_termination_listener(self, callback) -> None:
        self.on_close = callback

    async def add_listener(self, channel: str, callback) -> None:
        self.listening.append((channel, callback))

    def is_closed(self) -> bool:
        return self.closed

    async def fetchval(self, _query: str):
        if self.fail is not None:
            raise self.fail
        return 1

    def terminate(self) -> None:
        self.closed = True


@pytest.mark.parametrize("fail", [asyncpg.InterfaceError("connection is closed"), ConnectionResetError(), RuntimeError("a bug of ours")],
                         ids=["closed-between-wait-and-query", "reset", "unexpected"])
async def test_a_listener_whose_heartbeat_meets_an_error_listens_again(monkeypatch, fail):
    made: list[FakeConnection] = []

    async def connect(*_args, **_kwargs):
        made.append(FakeConnection(fail if not made else None))  # the first dies at its first heartbeat
        return made[-1]

    monkeypatch.setattr(listening.asyncpg, "connect", connect)
    connected = asyncio.Event()
    times = []
    listener = listening.Listener("postgresql://nowhere", "paraseg_events", lambda _p: None,
                                  on_connected=lambda: (times.append(1), connected.set() if len(times) == 2 else None),
                                  heartbeat_s=0.01)
    listener.start()
    try:
        await asyncio.wait_for(connected.wait(), 5)
        assert not listener._task.done(), "the listener ended instead of connecting again"
        assert len(made) == 2 and made[0].closed and made[1].listening[0][0] == "paraseg_events"
        assert listener.reconnects == 1
    finally:
        await listener.stop()
