"""A minute of four researchers keeping the service busy, and what it does to the processes.

After a warm-up (``WARM_UP_S`` of the same load, so pools, caches and the
allocators are at their working size), the harness samples each service process's
resident memory and open file descriptors (psutil) and the database's client
connections, once a second, for ``SOAK_S`` seconds of load, then until the
load has drained.  A leak shows as growth from the warm-up's level to the
end's; connections and descriptors must come back to the warm-up's level.
Where NVML sees a GPU, its memory is sampled too.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import asyncpg
import psutil

from harness.measure.analysis import figure_png
from harness.researchers.actors import Researcher, everyone
from harness.stack.processes import ManagedProcess
from harness.waiting import BATCH_TIMEOUT_S, async_wait_until
from system.inference.gpu import GpuProbe

SOAK_S = 60.0  # the seeds' stress duration
# The same load before the baseline: the inference server's allocator grows until it has seen every
# batch shape (measured standalone: flat from ~300 requests on, ~380 MiB), which is not a leak.
WARM_UP_S = 15.0
LEAK_LIMIT_BYTES = 100 * 1024 * 1024  # the seeds' leak threshold, per process
SAMPLE_EVERY_S = 1.0


@dataclass
class Soak:
    processes: list[ManagedProcess]
    database_url: str
    gpu: GpuProbe | None = None
    rows: list[dict] = field(default_factory=list)  # {"t", "phase", "db_connections", "<name>.rss", "<name>.fds", "gpu_memory"}
    batches: int = 0

    async def sample(self, phase: str) -> dict:
        row: dict = {"t": time.time(), "phase": phase, "db_connections": await self._db_connections()}
        for proc in self.processes:
            try:
                p = psutil.Process(proc.pid)
                row[f"{proc.name}.rss"], row[f"{proc.name}.fds"] = p.memory_info().rss, p.num_fds()
            except psutil.NoSuchProcess:
                row[f"{proc.name}.rss"] = row[f"{proc.name}.fds"] = None
        if self.gpu is not None and self.gpu.available:
            row["gpu_memory"] = self.gpu.sample()["memory_used_bytes"]
        self.rows.append(row)
        return row

    async def _db_connections(self) -> int:
        conn = await asyncpg.connect(self.database_url)
        try:  # every client connection but this one
            return await conn.fetchval("SELECT count(*) - 1 FROM pg_stat_activity WHERE backend_type = 'client backend'")
        finally:
            await conn.close()

    def baseline(self) -> dict:
        return next(r for r in self.rows if r["phase"] == "baseline")

    def last(self) -> dict:
        return self.rows[-1]

    def growth(self) -> dict[str, int]:
        """Resident memory at the end minus at the baseline, per process (bytes)."""
        first, last = self.baseline(), self.last()
        return {p.name: last[f"{p.name}.rss"] - first[f"{p.name}.rss"] for p in self.processes}

    def peak_growth(self) -> dict[str, int]:
        first = self.baseline()
        return {p.name: max(r[f"{p.name}.rss"] for r in self.rows) - first[f"{p.name}.rss"] for p in self.processes}

    def back_to_baseline(self, row: dict) -> list[str]:
        """What is still above its baseline level in ``row`` (connections, each process's descriptors)."""
        first = self.baseline()
        above = [f"database connections {row['db_connections']} > {first['db_connections']}"] if row["db_connections"] > first["db_connections"] else []
        return above + [f"{p.name} descriptors {row[f'{p.name}.fds']} > {first[f'{p.name}.fds']}" for p in self.processes
                        if row[f"{p.name}.fds"] > first[f"{p.name}.fds"]]


async def _keep_busy(researcher: Researcher, until: float, soak: Soak) -> None:
    """Segment the project again and again until ``until`` (time.time()), each batch to its end."""
    while time.time() < until:
        await researcher.segment()
        await researcher.wait_for_batches(BATCH_TIMEOUT_S)
        soak.batches += 1


async def _sample_until(soak: Soak, phase: str, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await soak.sample(phase)
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY_S)
        except TimeoutError:
            pass


async def soak_run(context) -> Soak:
    researchers = context.state.researchers
    soak = Soak(context.system.processes(), context.database.url, context.gpu)
    warm_up = time.time() + WARM_UP_S
    await everyone(_keep_busy(r, warm_up, soak) for r in researchers)
    await soak.sample("baseline")
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_until(soak, "load", stop))
    until = time.time() + SOAK_S
    try:
        await everyone(_keep_busy(r, until, soak) for r in researchers)
    finally:
        stop.set()
        await sampler
    # Drained: connections unused for the pool's idle time close, and with them their descriptors.
    bound = context.system.config.worker.pool_idle_s + context.system.config.worker.lease_s
    try:
        await async_wait_until(lambda: soak.sample("after"), until=lambda row: not soak.back_to_baseline(row), timeout=bound,
                               interval=SAMPLE_EVERY_S, describe="connections and descriptors to come back to their level before the run")
    except AssertionError:
        pass  # the step that checks it says what stayed up; the samples are reported either way
    return soak


def soak_png(soak: Soak) -> bytes:
    """Memory and descriptors per process, and database connections, over the soak."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = soak.baseline()["t"]
    fig, (mem, fds, db) = plt.subplots(3, 1, figsize=(9, 8), dpi=100, sharex=True)
    for proc in soak.processes:
        ts = [r["t"] - t0 for r in soak.rows]
        mem.plot(ts, [(r[f"{proc.name}.rss"] or 0) / 2**20 for r in soak.rows], label=proc.name)
        fds.plot(ts, [r[f"{proc.name}.fds"] or 0 for r in soak.rows], label=proc.name)
    db.plot([r["t"] - t0 for r in soak.rows], [r["db_connections"] for r in soak.rows], color="black")
    mem.set_ylabel("resident memory (MiB)")
    fds.set_ylabel("open descriptors")
    db.set_ylabel("database connections")
    db.set_xlabel(f"seconds since the baseline ({soak.batches} batches in {SOAK_S:g} s of load)")
    mem.legend(fontsize="small", ncol=3)
    for ax in (mem, fds, db):
        ax.grid(alpha=0.3)
    return figure_png(fig)
