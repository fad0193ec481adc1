"""Faults the harness puts into the running system from outside.

``terminate_every_connection`` ends every client's connection at once.
``database_read_only`` makes every transaction read-only for a while.
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


@contextlib.asynccontextmanager
async def database_read_only(database_url: str) -> AsyncIterator[None]:
    """Every transaction of every session read-only until the block ends, as an operator's
    ``ALTER SYSTEM SET default_transaction_read_only`` and a reload make it (sessions keep their
    connections; their next transaction cannot write).  Needs a superuser."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET default_transaction_read_only = off")  # this session must still be able to undo it
        await conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        await conn.execute("SELECT pg_reload_conf()")
        try:
            yield
        finally:
            await conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
            await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


async def terminate_every_connection(database_url: str) -> int:
    """End every other client connection to the server, as an administrator's pg_terminate_backend would; returns how many."""
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
    finally:
        await conn.close()
