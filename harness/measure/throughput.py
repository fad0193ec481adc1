"""Throughput measured in the same run: the model in-process at its best, and the server under load.

The in-process figure runs every stage a request goes through (decode,
normalise, forward, threshold, outlines, PNG) in this process, at the batch
size and thread count that do best here; it is the limit the server is
compared with.
"""

from __future__ import annotations

import asyncio
import time

import torch

from harness.clients.inference import InferenceClient
from harness.measure.analysis import figure_png
from system.contract import DEFAULT_THRESHOLD
from system.inference import preprocess
from system.inference.models import INPUT_SIZE
from system.inference.registry import ModelRegistry


def _pipeline(module: torch.nn.Module, images: list[bytes], batch: int) -> int:
    done = 0
    with torch.inference_mode():
        for start in range(0, len(images), batch):
            chunk = [preprocess.prepare(data, INPUT_SIZE) for data in images[start:start + batch]]
            logits = module(torch.stack([tensor for _, tensor in chunk]))
            for (gray, _), lg in zip(chunk, logits, strict=True):
                preprocess.postprocess(lg, *gray.shape, DEFAULT_THRESHOLD)
                done += 1
    return done


def in_process_best(model: str, images: list[bytes], batches=(1, 2, 4, 8), threads=None, rounds: int = 2) -> dict:
    """The best images/s over batch sizes and thread counts, in this process."""
    import os

    threads = threads or sorted({1, os.cpu_count() or 1})
    entry = ModelRegistry().load(model)
    if entry.module is None:
        raise RuntimeError(f"{model} is {entry.status}: {entry.detail}")
    before = torch.get_num_threads()
    results = []
    try:
        for t in threads:
            torch.set_num_threads(t)
            for b in batches:
                _pipeline(entry.module, images[: max(b, 2)], b)  # warm up
                started = time.perf_counter()
                n = sum(_pipeline(entry.module, images, b) for _ in range(rounds))
                results.append({"batch": b, "threads": t, "images_per_s": n / (time.perf_counter() - started)})
    finally:
        torch.set_num_threads(before)
    best = max(results, key=lambda r: r["images_per_s"])
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in best.items()} | {"tried": len(results)}


def in_process_cpu_per_image(model: str, images: list[bytes], batch: int, threads: int, rounds: int = 2) -> float:
    """CPU seconds (all of this process's threads) per image of every stage, in-process, at one setting."""
    entry = ModelRegistry().load(model)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        _pipeline(entry.module, images[: max(batch, 2)], batch)  # warm up
        cpu = time.process_time()
        n = sum(_pipeline(entry.module, images, batch) for _ in range(rounds))
        return (time.process_time() - cpu) / n
    finally:
        torch.set_num_threads(before)


async def through_server(client: InferenceClient, model: str, images: list[bytes], users: int, rounds: int = 2) -> dict:
    """Images/s that ``users`` concurrent clients get, each sending its share of ``images`` ``rounds`` times."""
    await asyncio.gather(*(client.segment(model, images[i % len(images)]) for i in range(users)))  # warm up
    failures = 0

    async def user(share: list[bytes]) -> int:
        nonlocal failures
        n = 0
        for _ in range(rounds):
            for data in share:
                answer = await client.segment(model, data)
                failures += answer.status != 200
                n += 1
        return n

    started = time.perf_counter()
    done = sum(await asyncio.gather(*(user(images[i::users]) for i in range(users))))
    elapsed = time.perf_counter() - started
    if failures:
        raise AssertionError(f"{failures} of {done} requests failed while measuring throughput")
    return {"users": users, "images": done, "seconds": round(elapsed, 3), "images_per_s": round(done / elapsed, 2)}


def series_png(rows: list[dict], key: str, label: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = rows[0]["t"]
    fig, ax = plt.subplots(figsize=(8, 3.5), dpi=100)
    ax.step([r["t"] - t0 for r in rows], [r[key] for r in rows], where="post")
    ax.set_xlabel("seconds")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
    return figure_png(fig)
