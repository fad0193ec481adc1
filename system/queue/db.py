"""The API's bounded connection pool, and the one place database errors become answers.

A request waits at most ``acquire_timeout`` seconds for a connection; past that
it gets 503 ``busy`` with ``Retry-After`` instead of hanging.  A database that
cannot be reached (refused, reset, shut down, not answering within the
command timeout, the connection lost between two statements) or cannot take
the work now (read-only, disk full, out of memory) gives 503 ``unavailable``
with ``Retry-After``, never a 500.
Connections go back to the pool when the request ends, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from ..common.http import ApiError
from ..contract import RETRY_AFTER_S, STATEMENT_TIMEOUT_S

RELEASE_TIMEOUT_S = 30.0
# A statement that has not answered in this long is talking to a database that
# is not there (a blackholed network sends no error at all); the request gets
# 503 unavailable instead of hanging.
COMMAND_TIMEOUT_S = STATEMENT_TIMEOUT_S  # the contract's promise
CONNECT_TIMEOUT_S = 5.0
# The server probes idle client connections (seconds), so it drops those of a
# client that vanished instead of keeping their locks and slots.
SERVER_KEEPALIVES = {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "3", "tcp_keepalives_count": "3"}


def connect_settings(command_timeout: float = COMMAND_TIMEOUT_S) -> dict:
    """What every connection of the queue's processes is opened with."""
    return {"command_timeout": command_timeout, "server_settings": dict(SERVER_KEEPALIVES)}


async def keep_session(conn: asyncpg.Connection) -> None:
    """The pools' reset, run when a connection goes back: nothing to undo.

    asyncpg's default reset sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` on every release, a round trip and a statement per unit of work.
    The queue's pooled connections change no session state (no SET, no cursor
    outside a transaction, no LISTEN: the listeners have connections of their
    own; the migration lock is released by ``migrate`` itself), and asyncpg still
    rolls back a transaction left open before it calls this.
    """


def pool_settings(command_timeout: float = COMMAND_TIMEOUT_S) -> dict:
    """What every pool of the queue's processes is made with."""
    return connect_settings(command_timeout) | {"reset": keep_session, "init": AWAY.connected}


class DatabaseAway(logging.Filter):
    """One line when the database goes away, one when it is back, instead of a traceback a retry.

    While the database cannot be reached, asyncpg's pool tries to restore its
    floor of connections and logs "Failed to restore the pool connection floor"
    with a whole traceback each time, every few hundred milliseconds at first.
    An operator wants to read that the database is away, and when it is back:
    the first such record becomes one line naming the error, later ones are
    dropped until a pool opens a connection again (``connected``, each pool's
    ``init``), which says so.
    """

    def __init__(self) -> None:
        super().__init__()
        self.away = False
        self.log = logging.getLogger("database")

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Failed to restore the pool connection floor"):
            return True
        if self.away:
            return False
        self.away = True
        error = record.exc_info[1] if record.exc_info else None
        record.name, record.msg, record.args = "database", "the database is away (%r); connecting again in the background", (error,)
        record.exc_info, record.exc_text = None, None
        return True

    async def connected(self, _conn: asyncpg.Connection) -> None:
        if self.away:
            self.away = False
            self.log.warning("the database is back")


AWAY = DatabaseAway()
logging.getLogger("asyncpg.pool").addFilter(AWAY)

# The database is down, restarting or unreachable: not the request's fault, and
# not the server's bug.  (Programming errors - a bad statement, a constraint -
# are not here: they stay 500s, logged, so they get fixed.)
UNREACHABLE = (
    OSError,  # refused, reset, no route
    TimeoutError,  # no answer within the command timeout
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.OperatorInterventionError,  # class 57: admin shutdown, crash shutdown, cannot connect now
    asyncpg.ConnectionDoesNotExistError,  # the connection closed in the middle of a query
    # A connection the server ended while it sat idle in the pool (a restart, pg_terminate_backend):
    # asyncpg finds its protocol state broken on next use (asyncpg issue #1069).
    asyncpg.InternalClientError,
)


# The database answers but cannot take the work now: it is read-only (an operator's
# default_transaction_read_only, a standby being promoted) or out of a resource (class 53: disk
# full, out of memory, too many connections).  Not the request's fault either: 503 unavailable,
# and a worker keeps its result until the database takes it.  The connection itself is fine.
CANNOT_TAKE_IT_NOW = (asyncpg.ReadOnlySQLTransactionError, asyncpg.InsufficientResourcesError)
# asyncpg's words for a connection that went away between two statements of one unit of work
# (it raises a bare InterfaceError then, the same class as a misuse of the API).
_LOST_BETWEEN_STATEMENTS = ("connection is closed", "released back to the pool", "connection was closed")


def connection_lost(exc: BaseException) -> bool:
    """The connection is gone (refused, reset, ended by the server, or found closed between two statements)."""
    return isinstance(exc, UNREACHABLE) or (isinstance(exc, asyncpg.InterfaceError)
                                            and any(words in str(exc) for words in _LOST_BETWEEN_STATEMENTS))


def database_away(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot take the work now (503 unavailable), not that the work is wrong."""
    return connection_lost(exc) or isinstance(exc, CANNOT_TAKE_IT_NOW)


def busy() -> ApiError:
    return ApiError(503, "busy", "every database connection is in use; try again shortly", {"Retry-After": str(RETRY_AFTER_S)})


def unavailable() -> ApiError:
    return ApiError(503, "unavailable", "the database cannot be reached; try again shortly", {"Retry-After": str(RETRY_AFTER_S)})


class ConnectWatch:
    """Remembers how opening connections goes, so a request that waited in vain can be told why:
    every connection busy, or the database not answering (an attempt failed lately, or has hung)."""

    HUNG_S = 1.0  # a local connection opens in milliseconds; one pending this long is not coming soon
    RECENT_S = 5.0

    def __init__(self) -> None:
        self.pending: dict[int, float] = {}  # attempt number -> when it began
        self.failed_at = float("-inf")
        self._attempts = itertools.count()

    async def connect(self, *args, **kwargs) -> asyncpg.Connection:
        token = next(self._attempts)
        self.pending[token] = time.monotonic()
        try:
            return await asyncpg.connect(*args, **kwargs)
        except Exception:  # refused, reset, timed out; a cancelled attempt (its request gave up) is no failure
            self.failed_at = time.monotonic()
            raise
        finally:
            del self.pending[token]

    def database_away(self) -> bool:
        now = time.monotonic()
        return now - self.failed_at < self.RECENT_S or any(now - since >= self.HUNG_S for since in self.pending.values())


class Database:
    def __init__(self, pool: asyncpg.Pool, acquire_timeout: float, watch: ConnectWatch | None = None) -> None:
        self.pool, self.acquire_timeout = pool, acquire_timeout
        self.watch = watch or ConnectWatch()

    @classmethod
    async def connect(cls, url: str, max_size: int, acquire_timeout: float, idle_s: float = 10.0) -> Database:
        # A connection that cannot be opened in a few seconds is not coming (a request gives up sooner
        # anyway, after acquire_timeout); one unused for idle_s is closed, so a burst's connections
        # do not stay open for the day.
        watch = ConnectWatch()
        pool = await asyncpg.create_pool(url, min_size=1, max_size=max_size, timeout=CONNECT_TIMEOUT_S, connect=watch.connect,
                                         max_inactive_connection_lifetime=idle_s, **pool_settings())
        return cls(pool, acquire_timeout, watch)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection for one unit of work; errors leave as the contract's 503s."""
        try:
            conn = await self.pool.acquire(timeout=self.acquire_timeout)
        except TimeoutError:
            raise (unavailable() if self.watch.database_away() else busy()) from None
        except UNREACHABLE:
            raise unavailable() from None
        try:
            yield conn
        except Exception as exc:
            if not database_away(exc):
                raise  # a bug stays a 500, logged, so it gets fixed
            if connection_lost(exc):
                with contextlib.suppress(asyncpg.InterfaceError):  # the pool may have let go of it already
                    conn.terminate()  # broken: the pool must open a new one, never hand this out again
            raise unavailable() from None
        finally:
            # Without an explicit timeout asyncpg would reuse the (short) acquire
            # timeout for the connection's reset, and drop healthy connections.
            # A connection that broke is terminated by the pool itself (asyncpg
            # closes it when its reset fails) and never handed out again.
            with contextlib.suppress(*UNREACHABLE):
                await self.pool.release(conn, timeout=RELEASE_TIMEOUT_S)

    def stats(self) -> dict[str, int]:
        return {"size": self.pool.get_size(), "idle": self.pool.get_idle_size(), "max": self.pool.get_max_size()}

    async def close(self) -> None:
        await asyncio.wait_for(self.pool.close(), 10)
