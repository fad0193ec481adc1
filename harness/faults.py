"""Faults the harness puts into the running system from outside.

``database_held_up`` makes every query that reads the images table wait (an
ACCESS EXCLUSIVE lock, held by the harness's own connection) until the block
ends: the connections the API hands out stay busy, as they would behind a slow
disk or a long migration.  Nothing in the system is told or changed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg

HELD_TABLE = "images"


@contextlib.asynccontextmanager
async def database_held_up(database_url: str, table: str = HELD_TABLE) -> AsyncIterator[None]:
    conn = await asyncpg.connect(database_url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            await transaction.rollback()  # the lock goes with it; the waiting queries run
    finally:
        await conn.close()
