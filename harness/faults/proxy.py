"""A TCP proxy on a loopback port that can misbehave like a real network.

Placed between the services and PostgreSQL, or between the workers and the
inference server, it forwards bytes both ways until told otherwise:

- ``delay(ms, jitter_ms)``: every chunk waits that long (plus or minus the
  jitter) before it goes on, in each direction, order kept;
- ``blackhole()``: nothing gets through and nothing is refused: bytes are held
  (TCP would retransmit them), new connections are accepted and left hanging;
  ``heal()`` lets the held bytes go on;
- ``flaky(p)``: each new connection, and each chunk a client sends, resets its
  connection with probability ``p``;
- ``refuse()``: every open connection is reset and new ones are closed at once
  (a server gone: "connection refused" as the client sees it);
- ``reset_all()``: every open connection reset once;
- ``lose_answers(marker, n)`` (PostgreSQL only): the next n statements whose
  text holds ``marker`` run and commit on the server, but their answer never
  arrives: once the server is done (ReadyForQuery) the client's connection is
  reset instead - a reply lost after the commit, as a crash, a terminated
  backend or a network drop at the wrong moment would lose it.

It runs its own event loop in a thread, so it keeps forwarding while the
harness's loop is idle between steps; the controls may be called from any
thread.  Learned from asyncpg's test fuzzer (``asyncpg/_testbase/fuzzer.py``):
a proxy in the test process, switched by the test, is enough to show how a
client copes with a network that hangs or drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import urllib.parse
from dataclasses import dataclass, field


@dataclass
class Counters:
    connections: int = 0
    resets: int = 0
    refused: int = 0
    answers_lost: int = 0


SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104  # sent before the startup message (protocol codes)
READY_FOR_QUERY = b"Z\x00\x00\x00\x05"  # the server's last message of a statement's answer, less its status byte


@dataclass
class Conversation:
    """A PostgreSQL client's messages on one connection, read as they pass, to spot a statement by its text.

    The statement is named in a Parse message (asyncpg prepares each statement once per connection) and run
    by a Bind of that name; the Sync after the Bind ends the round trip whose answer is to be lost."""

    buffer: bytes = b""
    started: bool = False
    statements: dict[bytes, bytes] = field(default_factory=dict)  # prepared statement name -> its text
    pending: bool = False  # a marked statement was bound since the last Sync
    losing: bool = False  # the server's answer to this round trip is dropped, then the connection reset

    def feed(self, data: bytes, marker: bytes) -> bool:
        """Read the client's ``data`` (all of it, from the connection's start, armed or not: a statement is
        prepared once and run by name later); True when a Sync closes a round trip that ran a statement
        whose text holds ``marker`` (never, for an empty marker)."""
        self.buffer += data
        hit = False
        while True:
            if not self.started:  # untyped: SSLRequest / GSSENCRequest, then the startup message
                if len(self.buffer) < 8 or len(self.buffer) < (length := int.from_bytes(self.buffer[:4], "big")):
                    return hit
                code, self.buffer = int.from_bytes(self.buffer[4:8], "big"), self.buffer[length:]
                self.started = code not in (SSL_REQUEST, GSSENC_REQUEST)
                continue
            if len(self.buffer) < 5 or len(self.buffer) < 1 + (length := int.from_bytes(self.buffer[1:5], "big")):
                return hit
            kind, payload, self.buffer = self.buffer[:1], self.buffer[5:1 + length], self.buffer[1 + length:]
            if kind == b"P":
                name, _, rest = payload.partition(b"\0")
                self.statements[name] = rest.split(b"\0", 1)[0]
            elif kind == b"B":
                self.pending |= bool(marker) and marker in self.statements.get(payload.split(b"\0", 2)[1], b"")
            elif kind == b"S":
                hit, self.pending = hit or self.pending, False


class FaultProxy:
    def __init__(self, name: str, target_host: str, target_port: int, seed: int = 0) -> None:
        self.name, self.target = name, (target_host, target_port)
        self.counters = Counters()
        self._random = random.Random(seed)
        self._delay_s = self._jitter_s = 0.0
        self._flaky_p = 0.0
        self._refusing = False
        self._lose_marker, self._lose_left = b"", 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"proxy-{name}", daemon=True)
        self._open: asyncio.Event | None = None
        self._server: asyncio.AbstractServer | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter | None]] = set()
        self.port = 0

    # ------------------------------------------------------------ life
    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._start())
        return self

    async def _start(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _stop(self) -> None:
        self._server.close()
        self._abort_all()
        self._open.set()

    def address(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    # ------------------------------------------------------------ controls (any thread)
    def delay(self, ms: float, jitter_ms: float = 0.0) -> None:
        self._delay_s, self._jitter_s = ms / 1000, jitter_ms / 1000

    def flaky(self, p: float) -> None:
        self._flaky_p = p

    def blackhole(self) -> None:
        self._loop.call_soon_threadsafe(self._open.clear)

    def refuse(self) -> None:
        self._refusing = True
        self._call(self._abort_all_async())

    def reset_all(self) -> None:
        self._call(self._abort_all_async())

    def lose_answers(self, marker: bytes, times: int) -> None:
        self._lose_marker, self._lose_left = marker, times

    def heal(self) -> None:
        """A plain proxy again: no delay, no failures; held bytes go on."""
        self._lose_left = 0
        self._delay_s = self._jitter_s = self._flaky_p = 0.0
        self._refusing = False
        self._loop.call_soon_threadsafe(self._open.set)

    def _call(self, coro) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # ------------------------------------------------------------ forwarding (the proxy's loop)
    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.counters.connections += 1
        if self._refusing:
            self.counters.refused += 1
            client_w.transport.abort()
            return
        if self._fails():
            self.counters.resets += 1
            client_w.transport.abort()
            return
        pair = (client_w, None)
        self._pairs.add(pair)
        try:
            await self._open.wait()  # a blackhole leaves the connection hanging, unanswered
            try:
                server_r, server_w = await asyncio.open_connection(*self.target)
            except OSError:
                client_w.transport.abort()
                return
            self._pairs.discard(pair)
            pair = (client_w, server_w)
            self._pairs.add(pair)
            talk = Conversation()
            await asyncio.gather(self._pump(client_r, server_w, pair, talk, upstream=True),
                                 self._pump(server_r, client_w, pair, talk, upstream=False))
        finally:
            self._pairs.discard(pair)
            for w in pair:
                if w is not None:
                    w.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pair, talk: Conversation, upstream: bool) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                await self._open.wait()  # held, not lost, while blackholed
                if upstream and self._fails():
                    self._abort(pair, fault=True)
                    return
                if upstream and talk.feed(data, self._lose_marker) and self._lose_left > 0:
                    self._lose_left -= 1
                    talk.losing = True  # before the statement goes on: its answer cannot slip through
                elif not upstream and talk.losing:
                    if len(data) >= 6 and data[-6:-1] == READY_FOR_QUERY:  # the server is done: committed
                        self.counters.answers_lost += 1
                        self._abort(pair, fault=True)
                        return
                    continue  # the answer, dropped
                if self._delay_s:
                    await asyncio.sleep(max(0.0, self._delay_s + self._random.uniform(-self._jitter_s, self._jitter_s)))
                writer.write(data)
                await writer.drain()
        self._abort(pair)  # one side closed: close the other, as a socket would

    def _fails(self) -> bool:
        return self._flaky_p > 0 and self._random.random() < self._flaky_p

    def _abort(self, pair, fault: bool = False) -> None:
        if fault and pair in self._pairs:
            self.counters.resets += 1
        self._pairs.discard(pair)
        for w in pair:
            if w is not None:
                w.transport.abort()

    async def _abort_all_async(self) -> None:
        self._abort_all()

    def _abort_all(self) -> None:
        for pair in list(self._pairs):
            self._abort(pair, fault=True)


@dataclass
class Proxies:
    """The fault proxies of a system behind them: one to PostgreSQL, one in front of each inference server."""

    database: FaultProxy
    inference: dict[str, FaultProxy] = field(default_factory=dict)  # inference server address -> its proxy

    def route_inference(self, address: str) -> str:
        """The address the queue's processes are given for the inference server at ``address``."""
        if address not in self.inference:
            target = urllib.parse.urlsplit(address)
            self.inference[address] = FaultProxy(f"inference-{target.port}", target.hostname, target.port).start()
        return self.inference[address].address()

    def all(self) -> list[FaultProxy]:
        return [self.database, *self.inference.values()]

    def heal(self) -> None:
        for proxy in self.all():
            proxy.heal()

    def stop(self) -> None:
        for proxy in self.all():
            proxy.stop()
