"""The fault proxy against a local echo server: it forwards, delays, holds, refuses and resets as told."""

from __future__ import annotations

import asyncio
import time

import pytest

from harness.faults.proxy import Conversation, FaultProxy


@pytest.fixture
async def echo():
    async def serve(reader, writer):
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


@pytest.fixture
def proxy(echo):
    p = FaultProxy("test", "127.0.0.1", echo, seed=1).start()
    yield p
    p.stop()


async def roundtrip(port: int, payload: bytes = b"ping", timeout: float = 5) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(payload)), timeout)
    finally:
        writer.close()


async def test_it_forwards(proxy):
    assert await roundtrip(proxy.port) == b"ping"


async def test_a_delay_is_paid_each_way(proxy):
    proxy.delay(100)
    started = time.monotonic()
    assert await roundtrip(proxy.port) == b"ping"
    assert time.monotonic() - started >= 0.2


async def test_a_blackhole_holds_until_healed_and_loses_nothing(proxy):
    proxy.blackhole()
    answer = asyncio.create_task(roundtrip(proxy.port, b"held", timeout=10))
    done, _ = await asyncio.wait({answer}, timeout=0.5)
    assert not done, "a blackhole answered"
    proxy.heal()
    assert await answer == b"held"


async def test_refusing_resets_open_and_new_connections(proxy):
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"x")
    await writer.drain()
    assert await reader.readexactly(1) == b"x"
    proxy.refuse()
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(1), 5)
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await roundtrip(proxy.port)
    proxy.heal()
    assert await roundtrip(proxy.port) == b"ping"


async def test_flaky_fails_about_the_share_asked(proxy):
    proxy.flaky(1 / 3)
    failed = 0
    for _ in range(60):
        try:
            await roundtrip(proxy.port)
        except (ConnectionError, asyncio.IncompleteReadError):
            failed += 1
    # A connection may fail when it opens and when it sends its one chunk: 1 - (2/3)^2 = 5/9, 33 of 60 expected.
    assert 20 <= failed <= 46, failed


def message(kind: bytes, payload: bytes) -> bytes:
    return kind + (len(payload) + 4).to_bytes(4, "big") + payload


def startup() -> bytes:
    ssl = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
    body = (196608).to_bytes(4, "big") + b"user\0postgres\0\0"
    return ssl + (len(body) + 4).to_bytes(4, "big") + body


def test_a_statement_is_spotted_by_its_text_when_it_runs_by_name_later():
    talk = Conversation()
    prepare = message(b"P", b"s1\0WITH claim waiting_users\0\0\0") + message(b"D", b"Ss1\0") + message(b"S", b"")
    run_claim = message(b"B", b"\0s1\0\0\0\0\0\0\0") + message(b"E", b"\0\0\0\0\0") + message(b"S", b"")
    run_other = message(b"P", b"s2\0SELECT 1\0\0\0") + message(b"B", b"\0s2\0\0\0\0\0\0\0") + message(b"S", b"")
    assert not talk.feed(startup() + prepare, b"waiting_users")  # prepared, not run
    stream = run_claim + run_other + run_claim
    seen = [talk.feed(stream[i:i + 7], b"waiting_users") for i in range(0, len(stream), 7)]  # any chunking
    assert sum(seen) == 2
    assert not talk.feed(run_claim, b"")  # disarmed: nothing is spotted
