"""The queue's SQL: named statements from ``sql/queries.sql`` and numbered migrations.

Migrations are ``sql/migrations/NNN_name.sql``, applied in order, each once, in
its own transaction, recorded in ``schema_migrations``.  An advisory lock held
only while migrating lets several processes start against one database at once.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import asyncpg

SQL_DIR = Path(__file__).with_name("sql")
_BLOCK = re.compile(r"^-- (\w+) --$", re.MULTILINE)
_MIGRATION_LOCK = 0x7061726173656701  # any constant unique to this application


@cache
def queries() -> dict[str, str]:
    text = (SQL_DIR / "queries.sql").read_text()
    parts = _BLOCK.split(text)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=False)}


def q(name: str) -> str:
    return queries()[name]


def migrations() -> list[tuple[int, str, str]]:
    found = []
    for path in sorted((SQL_DIR / "migrations").glob("*.sql")):
        number = int(path.name.split("_", 1)[0])
        found.append((number, path.name, path.read_text()))
    return found


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply pending migrations; returns the names applied now."""
    applied_now = []
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for number, name, text in migrations():
            if number in done:
                continue
            async with conn.transaction():
                await conn.execute(text)
                await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", number, name)
            applied_now.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied_now
