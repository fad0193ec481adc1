"""What the harness measures from outside: Prometheus endpoints, sampled over time (GPUs through NVML: system/inference/gpu.py)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp
from prometheus_client.parser import text_string_to_metric_families


async def scrape(session: aiohttp.ClientSession, base_url: str) -> dict[tuple[str, tuple], float]:
    """``/metrics`` as {(sample name, sorted labels): value}."""
    async with session.get(f"{base_url}/metrics") as resp:
        text = await resp.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def total(samples: dict, name: str, **labels: str) -> float:
    """Sum of a metric's samples whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))


async def pool_state(session: aiohttp.ClientSession, api_url: str) -> dict[str, float]:
    """The queue API process's database pool: connections open, idle, and the limit."""
    samples = await scrape(session, api_url)
    return {"connections": total(samples, "queue_db_pool_connections"), "idle": total(samples, "queue_db_pool_idle"),
            "limit": total(samples, "queue_db_pool_max")}


@dataclass
class Sampler:
    """Samples a coroutine's value every ``interval`` seconds until stopped."""

    probe: object  # async callable returning a dict
    interval: float = 0.25
    rows: list[dict] = field(default_factory=list)
    _task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sampler")

    async def _run(self) -> None:
        while True:
            row = await self.probe()
            self.rows.append({"t": time.time()} | row)
            await asyncio.sleep(self.interval)

    async def stop(self) -> list[dict]:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        return self.rows

