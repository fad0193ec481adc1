"""The queue's SQL: named statements from ``sql/*.sql`` and numbered migrations.

Every statement the queue runs is a named block in one of the ``.sql`` files
beside this module (a line ``-- name --`` starts a block, which runs to the
next such line); no Python file under ``system/queue`` holds SQL of its own
(``tests/unit/test_house_rules.py`` checks it).  A name may appear only once
across the files.

Migrations are ``sql/migrations/NNN_name.sql``, applied in order, each once, in
its own transaction, recorded in ``schema_migrations``.  An advisory lock held
only while migrating lets several processes start against one database at once.
Routines (``sql/routines/*.sql``: functions, each ``CREATE OR REPLACE``) are
applied after the migrations on every start, under the same lock, so their
file is their one source.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import asyncpg

SQL_DIR = Path(__file__).with_name("sql")
_BLOCK = re.compile(r"^-- (\w+) --$", re.MULTILINE)
_MIGRATION_LOCK = 0x7061726173656701  # any constant unique to this application


class DuplicateQuery(ValueError):
    pass


def parse_blocks(text: str) -> dict[str, str]:
    """``{name: statement}`` of one file's named blocks (comments inside a block are kept)."""
    parts = _BLOCK.split(text)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


@cache
def queries() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(SQL_DIR.glob("*.sql")):
        for name, body in parse_blocks(path.read_text()).items():
            if name in found:
                raise DuplicateQuery(f"query {name!r} is defined twice (again in {path.name})")
            found[name] = body
    return found


def q(name: str) -> str:
    """The statement named ``name``; a KeyError names the unknown query."""
    try:
        return queries()[name]
    except KeyError:
        raise KeyError(f"no SQL block named {name!r} in {SQL_DIR}") from None


def routines() -> list[tuple[str, str]]:
    return [(path.name, path.read_text()) for path in sorted((SQL_DIR / "routines").glob("*.sql"))]


def migrations() -> list[tuple[int, str, str]]:
    found = []
    for path in sorted((SQL_DIR / "migrations").glob("*.sql")):
        number = int(path.name.split("_", 1)[0])
        found.append((number, path.name, path.read_text()))
    return found


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply pending migrations, then the routines; returns the migrations applied now."""
    applied_now = []
    await conn.execute(q("migration_lock"), _MIGRATION_LOCK)
    try:
        await conn.execute(q("create_migrations_table"))
        done = {r["version"] for r in await conn.fetch(q("applied_migrations"))}
        for number, name, text in migrations():
            if number in done:
                continue
            async with conn.transaction():
                await conn.execute(text)
                await conn.execute(q("record_migration"), number, name)
            applied_now.append(name)
        async with conn.transaction():
            for _name, text in routines():
                await conn.execute(text)
    finally:
        await conn.execute(q("migration_unlock"), _MIGRATION_LOCK)
    return applied_now
