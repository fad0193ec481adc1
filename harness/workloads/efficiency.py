"""How much of the model's throughput researchers get, through the queue and through the server.

Measured on one running system, in the same run, alternating so that drift on a
shared machine hits both sides alike:

- direct: four clients send the images straight to the inference server;
- queue: four researchers each segment a project of a quarter of the images,
  through the API, PostgreSQL, the worker and the same inference server.

CPU seconds come from each process's own accounting (psutil), so the load
generator's CPU does not blur what a process spends: the inference server, the
worker(s), the API(s), PostgreSQL's backends, and this process (the clients).
Used by ``features/efficiency.feature`` and ``benchmarks/pipeline_efficiency.py``.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import aiohttp
import asyncpg
import psutil

from harness.clients.inference import InferenceClient
from harness.measure.throughput import through_server
from harness.researchers.actors import Researcher, everyone
from harness.stack.launcher import SystemUnderTest

QUEUE_PATH = ("workers", "api", "postgres")  # the processes a job passes through besides the inference server
# Below this many cores (and without a GPU) the clients, the queue's processes and the inference
# server share the very CPU a throughput ratio compares, so it is measured but not asserted.
MIN_CORES_FOR_RATIO = 4


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            seconds[pid] = times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return seconds


async def other_databases_backends(database_url: str) -> set[int]:
    """The server's client backends serving other databases than the system's (another stack on the same
    server): their work is not this system's."""
    conn = await asyncpg.connect(database_url)
    try:
        return {r["pid"] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
                                                   "AND datname IS DISTINCT FROM current_database()")}
    finally:
        await conn.close()


def postgres_pids(database_url: str) -> list[int]:
    """The server's processes (postmaster and its backends) listening on the URL's port."""
    port = int(database_url.rsplit(":", 1)[1].split("/")[0])
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmd = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and "-p" in cmd and cmd[cmd.index("-p") + 1] == str(port):
            return [proc.pid, *(c.pid for c in proc.children(recursive=True))]
    return []


class CpuMeter:
    """CPU seconds of named groups of processes between ``start()`` and ``stop()``."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]], database_url: str | None = None) -> None:
        self.groups, self.database_url = groups, database_url
        self._before: dict[str, dict[int, float]] = {}
        self._others: set[int] = set()

    @classmethod
    def of(cls, system: SystemUnderTest) -> CpuMeter:
        return cls({
            "inference": lambda: [p.pid for p in system.inference],
            "workers": lambda: [p.pid for p in system.workers],
            "api": lambda: [p.pid for p in system.apis],
            "postgres": lambda: postgres_pids(system.database_url),
            "clients": lambda: [os.getpid()],
        }, system.direct_database_url)

    async def _pids(self, pids: Callable[[], list[int]]) -> list[int]:
        return [p for p in pids() if p not in self._others]

    async def start(self) -> None:
        """Each process's CPU seconds now (a process that starts later counts from zero; backends of other
        databases on the same server are left out)."""
        self._others = await other_databases_backends(self.database_url) if self.database_url else set()
        self._before = {name: cpu_by_pid(await self._pids(pids)) for name, pids in self.groups.items()}

    async def stop(self) -> dict[str, float]:
        """CPU seconds each group spent since ``start``, process by process."""
        spent = {}
        for name, pids in self.groups.items():
            now, before = cpu_by_pid(await self._pids(pids)), self._before[name]
            spent[name] = sum(seconds - before.get(pid, 0.0) for pid, seconds in now.items())
        return spent


def _per_image(cpu: dict[str, float], n: int) -> dict[str, float]:
    return {k: round(v / n, 5) for k, v in cpu.items()}


async def direct_round(client: InferenceClient, model: str, images: list[bytes], meter: CpuMeter) -> dict:
    await meter.start()
    served = await through_server(client, model, images, users=4, rounds=1)
    cpu = await meter.stop()
    return {"images_per_s": served["images_per_s"], "cpu_s_per_image": _per_image(cpu, served["images"])}


async def queue_round(researchers: list[Researcher], model: str, meter: CpuMeter, timeout_s: float) -> dict:
    for r in researchers:
        r.batches.clear()
    await meter.start()
    started = time.perf_counter()
    await everyone(r.segment(model=model) for r in researchers)
    await everyone(r.wait_for_batches(timeout_s) for r in researchers)
    elapsed = time.perf_counter() - started
    cpu = await meter.stop()
    jobs = sum(len(b["job_ids"]) for r in researchers for b in r.batches)
    return {"jobs_per_s": round(jobs / elapsed, 2), "jobs": jobs, "seconds": round(elapsed, 3), "cpu_s_per_image": _per_image(cpu, jobs)}


async def compare(system: SystemUnderTest, session: aiohttp.ClientSession, researchers: list[Researcher],
                  model: str, images: list[bytes], rounds: int, timeout_s: float = 600) -> dict:
    """Alternating direct and queue rounds after a warm-up of each; ratios per round and their medians."""
    meter = CpuMeter.of(system)
    client = InferenceClient(system.inference[0].address, session)
    await queue_round(researchers, model, meter, timeout_s)  # warm-up: pools, caches, allocators
    await direct_round(client, model, images, meter)
    results = []
    for _ in range(rounds):
        direct = await direct_round(client, model, images, meter)
        queued = await queue_round(researchers, model, meter, timeout_s)
        q_cpu = queued["cpu_s_per_image"]
        results.append({
            "direct": direct, "queue": queued,
            "throughput_ratio": round(queued["jobs_per_s"] / direct["images_per_s"], 3),
            # CPU the queue path (worker, API, PostgreSQL) adds per job, over the inference server's own per job
            "queue_cpu_over_inference": round(sum(q_cpu[k] for k in QUEUE_PATH) / q_cpu["inference"], 3),
        })
    return {
        "rounds": results,
        "throughput_ratio_median": round(statistics.median(r["throughput_ratio"] for r in results), 3),
        "queue_cpu_over_inference_median": round(statistics.median(r["queue_cpu_over_inference"] for r in results), 3),
        "server_cpu_s_per_image_median": statistics.median(r["direct"]["cpu_s_per_image"]["inference"] for r in results),
        "cpu_cores": os.cpu_count(),
    }
