"""A PostgreSQL server the run uses: what every strategy yields, and what the harness does on one."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg


class ProvisioningError(RuntimeError):
    pass


# What a server that is still starting answers instead of a query result.
NOT_YET = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


@dataclass(frozen=True)
class ProvisionedDatabase:
    url: str
    strategy: str
    version: str
    # restart(mode): stop the server ("fast" shutdown or "immediate", a crash) and start it again
    # where clients find it; None where the harness does not own the server (external).
    restart: Callable[[str], None] | None = None


async def query_version(url: str, timeout: float = 3.0) -> str:
    conn = await asyncpg.connect(url, timeout=timeout)
    try:
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


def server_version(url: str) -> str:
    # Not asyncio.run(): that would unset the caller's current event loop.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(query_version(url))
    finally:
        loop.close()


async def create_database(admin_url: str, name: str) -> None:
    """A new, empty database on the server ``admin_url`` reaches (the queue migrates it when it starts)."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
