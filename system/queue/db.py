"""The API's bounded connection pool.

A request waits at most ``acquire_timeout`` seconds for a connection; past that
it gets 503 ``busy`` with ``Retry-After`` instead of hanging.  Connections go
back to the pool when the request ends, whatever happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from ..common.http import ApiError

RELEASE_TIMEOUT_S = 30.0


class Database:
    def __init__(self, pool: asyncpg.Pool, acquire_timeout: float) -> None:
        self.pool, self.acquire_timeout = pool, acquire_timeout

    @classmethod
    async def connect(cls, url: str, max_size: int, acquire_timeout: float) -> Database:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=max_size, command_timeout=60)
        return cls(pool, acquire_timeout)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        try:
            conn = await self.pool.acquire(timeout=self.acquire_timeout)
        except TimeoutError:
            raise ApiError(503, "busy", "every database connection is in use; try again shortly", {"Retry-After": "1"}) from None
        try:
            yield conn
        finally:
            # Without an explicit timeout asyncpg would reuse the (short) acquire
            # timeout for the connection's reset, and drop healthy connections.
            await self.pool.release(conn, timeout=RELEASE_TIMEOUT_S)

    def stats(self) -> dict[str, int]:
        return {"size": self.pool.get_size(), "idle": self.pool.get_idle_size(), "max": self.pool.get_max_size()}

    async def close(self) -> None:
        await asyncio.wait_for(self.pool.close(), 10)
