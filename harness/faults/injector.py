"""Faults the harness puts into the running system from outside.

``terminate_every_connection`` ends every client's connection at once.
``database_read_only`` makes every transaction read-only for a while.
``database_held_up`` makes every query that reads the images table wait (an
ACCESS EXCLUSIVE lock, held by the harness's own connection) until the block
ends: the connections the API hands out stay busy, as they would behind a slow
disk or a long migration.  Nothing in the system is told or changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

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


# ---------------------------------------------------------------- a full disk
DISK_TABLES = ("images", "results")  # what a researcher's upload and a worker's result are written to


@contextlib.asynccontextmanager
async def small_disk(database_url: str, headroom_mb: int = 16) -> AsyncIterator[Path]:
    """The images and results tables moved onto a tablespace on a tmpfs of their own (as large as they are,
    and half again, plus ``headroom_mb``), and back when the block ends, whatever happened: a disk the harness
    can fill (``fill``) without touching anything else.  Needs root (mount) and a server on this machine whose
    ``postgres`` user can write there (the embedded cluster)."""
    await asyncio.to_thread(sweep_small_disks)
    conn = await asyncpg.connect(database_url)
    folder = Path(tempfile.mkdtemp(prefix=DISK_PREFIX))
    space, created, moved = f"paraseg_small_{uuid.uuid4().hex[:8]}", False, []
    try:
        used = await conn.fetchval("SELECT sum(pg_total_relation_size(c)) FROM unnest($1::regclass[]) AS c", list(DISK_TABLES))
        size_mb = int(float(used) * 1.5 / 2**20) + headroom_mb
        await asyncio.to_thread(subprocess.run, ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(folder)], check=True)
        shutil.chown(folder, "postgres", "postgres")
        await conn.execute(f"CREATE TABLESPACE {space} LOCATION '{folder}'")
        created = True
        for table in DISK_TABLES:
            await conn.execute(f"ALTER TABLE {table} SET TABLESPACE {space}")
            moved.append(table)
        yield folder
    finally:
        for table in moved:
            await conn.execute(f"ALTER TABLE {table} SET TABLESPACE pg_default")
        if created:
            await conn.execute(f"DROP TABLESPACE {space}")
        await conn.close()
        await asyncio.to_thread(subprocess.run, ["umount", str(folder)], check=False, capture_output=True)
        await asyncio.to_thread(folder.rmdir)


DISK_PREFIX = "paraseg-disk-"


@functools.cache
def why_no_small_disk() -> str | None:
    """Why a small disk cannot be mounted here (None when it can): it takes root and the right to mount."""
    if os.geteuid() != 0:
        return f"mounting a small filesystem takes root (uid {os.geteuid()})"
    folder = tempfile.mkdtemp(prefix=DISK_PREFIX)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", folder], capture_output=True, text=True)
        if done.returncode != 0:
            return f"this machine does not let the harness mount a small filesystem: {done.stderr.strip()[:200]}"
        subprocess.run(["umount", folder], check=False)
        return None
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def sweep_small_disks() -> list[str]:
    """Unmount and remove the small disks a run that was killed left mounted; returns their paths."""
    with open("/proc/mounts") as mounts:
        left = [line.split()[1] for line in mounts if line.split()[1].startswith(f"{tempfile.gettempdir()}/{DISK_PREFIX}")]
    for path in left:
        subprocess.run(["umount", path], check=False)
        with contextlib.suppress(OSError):
            Path(path).rmdir()
    return left


def fill(folder: Path) -> Path:
    """Write a file into ``folder`` until its filesystem has no space left; returns it (unlink it to free the space)."""
    ballast = folder / "ballast"
    chunk = b"\0" * (1024 * 1024)
    with open(ballast, "wb") as f:
        with contextlib.suppress(OSError):  # ENOSPC: full, as meant
            while True:
                f.write(chunk)
                f.flush()
    return ballast
