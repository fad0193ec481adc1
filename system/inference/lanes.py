"""Lanes, not a lock: N forward passes in flight at once.

Each lane is an asyncio task with its own single-thread executor and, on CUDA,
its own ``torch.cuda.Stream``.  A lane takes a micro-batch from the shared
:class:`~system.inference.batcher.MicroBatcher`, runs the forward pass in its
thread (the event loop never blocks on compute), and settles every request of
the batch.  Nothing on a request's path synchronises the whole device: a lane
waits only for its own stream.

Out of memory: a forward pass that raises ``torch.cuda.OutOfMemoryError`` (a
real one, or one from the fault injector) frees the allocator's cache, lowers
the lanes allowed (4 -> 2) and the batch limit (halved), and is retried - split
in halves when it was a batch - so the requests succeed.  After
``recover_after_s`` without another out-of-memory error the lanes and batch
limit step back up.  Lanes above ``allowed`` park before taking new work.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

from .batcher import MicroBatcher, Request, settle
from .faults import FaultInjector

log = logging.getLogger(__name__)
MAX_OOM_RETRIES = 4


@dataclass(frozen=True)
class LaneResult:
    logits: torch.Tensor  # 1 x S x S, on the CPU
    lane: int
    batch_size: int
    queue_ms: float
    compute_ms: float
    started: float  # time.time() when the forward pass began
    finished: float


def cpu_threads_per_lane(lanes: int) -> int:
    """Threads each lane's forward pass may use so the lanes together fit the cores."""
    return max(1, (os.cpu_count() or 1) // lanes)


class LanePool:
    def __init__(self, batcher: MicroBatcher, lanes: int, device: torch.device, faults: FaultInjector | None = None,
                 degraded_lanes: int = 2, recover_after_s: float = 10.0, on_oom=None) -> None:
        self.batcher, self.device, self.faults = batcher, device, faults or FaultInjector()
        self.size = lanes
        self.allowed = lanes
        self.batch_limit = batcher.max_batch
        self.degraded_lanes = max(1, min(degraded_lanes, lanes))
        self.recover_after_s = recover_after_s
        self.on_oom = on_oom or (lambda: None)
        self.busy = 0
        self.last_oom = 0.0
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
        self._tasks.append(asyncio.create_task(self._recover(), name="lane-recovery"))

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
            batch = await self.batcher.next_batch(self.batch_limit)
            self.busy += 1
            try:
                for group in _by_module(batch):
                    await self._compute(loop, index, group)
            finally:
                self.busy -= 1

    async def _compute(self, loop: asyncio.AbstractEventLoop, index: int, group: list[Request], retries: int = 0) -> None:
        module = group[0].module
        try:
            pass_ = await loop.run_in_executor(
                self._executors[index], forward, module, [r.tensor for r in group], self.device, self._streams[index], self.faults
            )
        except torch.cuda.OutOfMemoryError as exc:
            await self._out_of_memory(index, len(group), exc)
            if retries >= MAX_OOM_RETRIES:
                for request in group:
                    settle(request, error=exc)
                return
            halves = [group] if len(group) == 1 else [group[: len(group) // 2], group[len(group) // 2:]]
            for part in halves:
                await self._compute(loop, index, part, retries + 1)
            return
        except Exception as exc:
            log.warning("lane %d: forward pass of %d failed: %r", index, len(group), exc)
            for request in group:
                settle(request, error=exc)
            return
        for i, request in enumerate(group):
            settle(request, LaneResult(
                logits=pass_.logits[i], lane=index, batch_size=len(group),
                queue_ms=(pass_.started_mono - request.enqueued) * 1000, compute_ms=(pass_.finished_mono - pass_.started_mono) * 1000,
                started=pass_.started, finished=pass_.finished,
            ))

    async def _out_of_memory(self, index: int, size: int, exc: BaseException) -> None:
        self.last_oom = time.monotonic()
        self.on_oom()
        free_memory(self.device)
        self.batch_limit = max(1, self.batch_limit // 2)
        if self.allowed > self.degraded_lanes:
            log.warning("lane %d: out of memory on a batch of %d (%s); lanes %d -> %d, batch limit %d",
                        index, size, exc, self.allowed, self.degraded_lanes, self.batch_limit)
            await self.set_allowed(self.degraded_lanes)

    async def _recover(self) -> None:
        """Step back up once no out-of-memory error was seen for ``recover_after_s``."""
        while True:
            await asyncio.sleep(min(1.0, self.recover_after_s / 4))
            degraded = self.allowed < self.size or self.batch_limit < self.batcher.max_batch
            if degraded and time.monotonic() - self.last_oom >= self.recover_after_s:
                log.info("no out-of-memory error for %.0f s: lanes %d -> %d", self.recover_after_s, self.allowed, self.size)
                self.batch_limit = self.batcher.max_batch
                await self.set_allowed(self.size)


def free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _by_module(batch: list[Request]) -> list[list[Request]]:
    """Requests grouped by the module they were resolved to (a reload may sit between them)."""
    groups: dict[int, list[Request]] = {}
    for request in batch:
        groups.setdefault(id(request.module), []).append(request)
    return list(groups.values())


@dataclass(frozen=True)
class ForwardPass:
    logits: torch.Tensor  # N x 1 x S x S, on the CPU
    started: float  # time.time(), stamped in the lane's thread when the pass began computing
    finished: float
    started_mono: float
    finished_mono: float


def forward(module: torch.nn.Module, inputs: list[torch.Tensor], device: torch.device,
            stream: torch.cuda.Stream | None, faults: FaultInjector) -> ForwardPass:
    """One forward pass of a micro-batch; returns CPU logits.  Runs in a lane's thread.

    The pass is timed here, in the thread that computes it: a lane that waits
    (for a lock, for a thread it shares) shows as not computing, so overlap of
    these intervals is evidence that lanes really compute at the same time.
    """
    faults.before_forward()
    with torch.inference_mode():
        x = torch.stack(inputs)
        started_mono, started = time.monotonic(), time.time()
        if stream is None:
            out = module(x)
        else:
            with torch.cuda.stream(stream):
                y = module(x.to(device, non_blocking=False))
                out = y.to("cpu")  # waits on this lane's stream only
        return ForwardPass(out, started, time.time(), started_mono, time.monotonic())
