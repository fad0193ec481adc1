"""The one place database errors become answers (system/queue/db.py), with a fake pool."""

from __future__ import annotations

import time

import asyncpg
import pytest

from system.common.http import ApiError
from system.queue.db import ConnectWatch, Database


class FakeConnection:
    def __init__(self) -> None:
        self.terminated = False

    def terminate(self) -> None:
        self.terminated = True


class FakePool:
    def __init__(self, acquire_error: BaseException | None = None, release_error: BaseException | None = None, size: int = 2) -> None:
        self.acquire_error, self.release_error = acquire_error, release_error
        self.released = []
        self.connection = FakeConnection()
        self.size = size

    def get_size(self) -> int:
        return self.size

    def get_max_size(self) -> int:
        return 2

    async def acquire(self, timeout):
        if self.acquire_error:
            raise self.acquire_error
        return self.connection

    async def release(self, conn, timeout):
        self.released.append(conn)
        if self.release_error:
            raise self.release_error


async def use(db: Database, error: BaseException | None = None) -> None:
    async with db.connection():
        if error:
            raise error


@pytest.mark.parametrize("error", [TimeoutError()])
async def test_no_connection_free_in_time_is_busy(error):
    with pytest.raises(ApiError) as caught:
        await use(Database(FakePool(acquire_error=error), 0.01))
    assert (caught.value.status, caught.value.code, caught.value.headers) == (503, "busy", {"Retry-After": "1"})


@pytest.mark.parametrize("error", [ConnectionRefusedError(), OSError("no route"), asyncpg.CannotConnectNowError("starting up")])
async def test_a_database_that_cannot_be_reached_is_unavailable(error):
    with pytest.raises(ApiError) as caught:
        await use(Database(FakePool(acquire_error=error), 1))
    assert (caught.value.status, caught.value.code, caught.value.headers) == (503, "unavailable", {"Retry-After": "1"})


@pytest.mark.parametrize("error", [asyncpg.ConnectionDoesNotExistError("closed"), asyncpg.AdminShutdownError("shutting down"),
                                   TimeoutError(), ConnectionResetError(),
                                   asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress")])
async def test_a_connection_lost_mid_request_is_unavailable_and_discarded(error):
    pool = FakePool()
    with pytest.raises(ApiError) as caught:
        await use(Database(pool, 1), error)
    assert caught.value.code == "unavailable" and pool.released == [pool.connection] and pool.connection.terminated


async def test_a_bug_stays_a_bug():
    """A bad statement is not the database's absence: it is not dressed up as a 503."""
    pool = FakePool()
    with pytest.raises(asyncpg.UndefinedColumnError):
        await use(Database(pool, 1), asyncpg.UndefinedColumnError("no such column"))
    assert pool.released == [pool.connection] and not pool.connection.terminated


async def test_a_failed_release_does_not_hide_the_answer():
    pool = FakePool(release_error=asyncpg.ConnectionDoesNotExistError("gone"))
    await use(Database(pool, 1))
    assert pool.released == [pool.connection] and not pool.connection.terminated


async def test_a_connection_the_pool_already_let_go_of_is_not_a_second_error():
    class Released(FakeConnection):
        def terminate(self) -> None:
            raise asyncpg.InterfaceError("cannot call Connection.terminate(): connection has been released back to the pool")

    pool = FakePool()
    pool.connection = Released()
    with pytest.raises(ApiError) as caught:
        await use(Database(pool, 1), asyncpg.ConnectionDoesNotExistError("closed in the middle of operation"))
    assert caught.value.code == "unavailable"


async def test_no_connection_in_time_while_opening_one_hangs_is_unavailable():
    """A blackholed database: an attempt to open a connection has been pending for a while."""
    watch = ConnectWatch()
    watch.pending[1] = time.monotonic() - 2 * ConnectWatch.HUNG_S
    with pytest.raises(ApiError) as caught:
        await use(Database(FakePool(acquire_error=TimeoutError()), 0.01, watch))
    assert (caught.value.status, caught.value.code) == (503, "unavailable")


async def test_no_connection_in_time_after_a_failed_attempt_is_unavailable():
    watch = ConnectWatch()
    watch.failed_at = time.monotonic()
    with pytest.raises(ApiError) as caught:
        await use(Database(FakePool(acquire_error=TimeoutError()), 0.01, watch))
    assert caught.value.code == "unavailable"


async def test_the_watch_sees_a_failed_connect():
    watch = ConnectWatch()
    with pytest.raises(OSError):
        await watch.connect("postgresql://nobody@127.0.0.1:1/none", timeout=1)
    assert watch.database_away() and not watch.pending


async def test_attempts_at_once_are_told_apart(monkeypatch):
    """Many connections opened at once (a burst after every connection was dropped) each keep their own entry."""
    import asyncio

    async def slow_connect(*args, **kwargs):
        await asyncio.sleep(0.01)
        return object()

    monkeypatch.setattr(asyncpg, "connect", slow_connect)
    watch = ConnectWatch()
    await asyncio.gather(*(watch.connect() for _ in range(50)))
    assert watch.pending == {} and not watch.database_away()


@pytest.mark.parametrize("error", [asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
                                   asyncpg.DiskFullError("could not extend file: No space left on device"),
                                   asyncpg.OutOfMemoryError("out of memory"), asyncpg.TooManyConnectionsError("too many clients")])
async def test_a_database_that_cannot_take_the_work_now_is_unavailable_and_keeps_its_connection(error):
    pool = FakePool()
    with pytest.raises(ApiError) as caught:
        await use(Database(pool, 1), error)
    assert (caught.value.status, caught.value.code) == (503, "unavailable")
    assert pool.released == [pool.connection] and not pool.connection.terminated  # the connection itself is fine


async def test_a_connection_found_closed_between_two_statements_is_unavailable():
    """asyncpg raises a bare InterfaceError when the connection went away between two statements of one request."""
    pool = FakePool()
    with pytest.raises(ApiError) as caught:
        await use(Database(pool, 1), asyncpg.InterfaceError("cannot call Connection.fetch(): connection has been released back to the pool"))
    assert caught.value.code == "unavailable" and pool.connection.terminated


async def test_a_misuse_of_the_driver_stays_a_bug():
    with pytest.raises(asyncpg.InterfaceError):
        await use(Database(FakePool(), 1), asyncpg.InterfaceError("cannot perform operation: another operation is in progress"))
