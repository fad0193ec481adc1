"""What the harness measures from outside: Prometheus endpoints, processes (psutil), GPUs (NVML)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp
import psutil
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


def process_sample(pids: dict[str, int]) -> dict[str, dict]:
    """CPU percent and resident memory of each named process (psutil)."""
    out = {}
    for name, pid in pids.items():
        try:
            p = psutil.Process(pid)
            with p.oneshot():
                out[name] = {"cpu_percent": p.cpu_percent(None), "rss_bytes": p.memory_info().rss}
        except psutil.Error:
            out[name] = {"gone": True}
    return out
