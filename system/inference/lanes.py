"""Lanes, not a lock: N forward passes in flight at once.

Each lane is an asyncio task with its own single-thread executor and, on CUDA,
its own ``torch.cuda.Stream``.  A lane takes a micro-batch from the shared
:class:`~system.inference.batcher.MicroBatcher`, runs the forward pass in its
thread (the event loop never blocks on compute), and settles every request of
the batch.  Nothing on a request's path synchronises the whole device: a lane
waits only for its own stream.

``allowed`` caps how many lanes may take work; lanes above it park until it
rises again, which is how the server steps down under memory pressure.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

from .batcher import MicroBatcher, Request, settle
from .registry import ModelRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LaneResult:
    logits: torch.Tensor  # 1 x S x S, on the CPU
    lane: int
    batch_size: int
    queue_ms: float
    compute_ms: float
    started: float  # time.monotonic() when the forward pass began
    finished: float


def cpu_threads_per_lane(lanes: int) -> int:
    """Threads each lane's forward pass may use so the lanes together fit the cores."""
    return max(1, (os.cpu_count() or 1) // lanes)


class LanePool:
    def __init__(self, registry: ModelRegistry, batcher: MicroBatcher, lanes: int, device: torch.device) -> None:
        self.registry, self.batcher, self.device = registry, batcher, device
        self.size = lanes
        self.allowed = lanes
        self.busy = 0
        self._gate = asyncio.Condition()
        self._tasks: list[asyncio.Task] = []
        threads = cpu_threads_per_lane(lanes)
        self._executors = [
            ThreadPoolExecutor(1, thread_name_prefix=f"lane{i}", initializer=torch.set_num_threads, initargs=(threads,))
            for i in range(lanes)
        ]
        self._streams = [torch.cuda.Stream(device) for _ in range(lanes)] if device.type == "cuda" else [None] * lanes

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(i), name=f"lane-{i}") for i in range(self.size)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for executor in self._executors:
            executor.shutdown(wait=True)

    async def set_allowed(self, n: int) -> None:
        async with self._gate:
            self.allowed = max(1, min(self.size, n))
            self._gate.notify_all()

    async def _run(self, index: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            async with self._gate:
                await self._gate.wait_for(lambda: index < self.allowed)
            batch = await self.batcher.next_batch()
            self.busy += 1
            try:
                for model, group in _by_model(batch).items():
                    await self._compute(loop, index, model, group)
            finally:
                self.busy -= 1

    async def _compute(self, loop: asyncio.AbstractEventLoop, index: int, model: str, group: list[Request]) -> None:
        started = time.monotonic()
        try:
            module = self.registry.entries[model].module
            if module is None:
                raise RuntimeError(f"model {model} was unloaded")
            logits = await loop.run_in_executor(
                self._executors[index], forward, module, [r.payload for r in group], self.device, self._streams[index]
            )
        except Exception as exc:
            log.warning("lane %d: forward pass of %d on %s failed: %r", index, len(group), model, exc)
            for request in group:
                settle(request, error=exc)
            return
        finished = time.monotonic()
        for i, request in enumerate(group):
            settle(
                request,
                LaneResult(
                    logits=logits[i],
                    lane=index,
                    batch_size=len(group),
                    queue_ms=(started - request.enqueued) * 1000,
                    compute_ms=(finished - started) * 1000,
                    started=started,
                    finished=finished,
                ),
            )


def _by_model(batch: list[Request]) -> dict[str, list[Request]]:
    groups: dict[str, list[Request]] = {}
    for request in batch:
        groups.setdefault(request.model, []).append(request)
    return groups


def forward(module: torch.nn.Module, inputs: list[torch.Tensor], device: torch.device, stream: torch.cuda.Stream | None) -> torch.Tensor:
    """One forward pass of a micro-batch; returns CPU logits.  Runs in a lane's thread."""
    with torch.inference_mode():
        x = torch.stack(inputs)
        if stream is None:
            return module(x)
        with torch.cuda.stream(stream):
            y = module(x.to(device, non_blocking=False))
            out = y.to("cpu")  # waits on this lane's stream only
        return out
