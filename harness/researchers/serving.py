"""Load on an inference server, and the model files it serves: what the inference and model steps share.

Users are coroutines sending images; what the server says about itself comes
from its ``/metrics`` (lanes allowed and busy, out-of-memory events), sampled
while the load runs.  Every wait is bounded and says what it waited for.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import shutil
import tempfile
from pathlib import Path

import aiohttp
import numpy as np
import psutil
import torch
from PIL import Image

from harness.clients.api import ApiResponse
from harness.clients.inference import InferenceClient
from harness.lifetime import keep_for_scenario
from harness.measure import throughput
from harness.measure.metrics import Sampler, scrape, total
from harness.researchers.actors import everyone
from harness.waiting import async_wait_until
from system.inference import synthetic
from system.inference.registry import DEFAULT_WEIGHTS_DIR

# A server that takes longer than this to settle or answer is stuck, not slow.
SETTLE_S = 60
# The quiet period after which an out-of-memory server steps its lanes back up (its RECOVER_AFTER), in the scenario that provokes it.
OOM_RECOVER_AFTER_S = 2.0


def unseen_pngs(n: int, first: int = synthetic.EVAL_SEED_BASE + 20_000, size: tuple[int, int] | None = None) -> list[bytes]:
    """``n`` micrographs from seeds no model was trained on, as PNG; ``size`` (width, height) or each its own."""
    return [synthetic.to_png(s.image) for s in unseen_samples(n, first, size)]


def unseen_samples(n: int, first: int = synthetic.EVAL_SEED_BASE + 20_000, size: tuple[int, int] | None = None) -> list[synthetic.Sample]:
    return [synthetic.generate(first + i, size=size) for i in range(n)]


def mask_of(answer: ApiResponse) -> np.ndarray:
    """The mask a segment answer carries (base64 PNG), as an array."""
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(answer.body["mask_png"]))))


def failed(answers: list[ApiResponse]) -> list:
    return [(a.status, a.body) for a in answers if a.status != 200]


async def segment_all(server: InferenceClient, pngs: list[bytes], model: str = "unet") -> list[ApiResponse]:
    """Every image sent at the same moment, one request each."""
    return await everyone(server.segment(model, png) for png in pngs)


async def segment_together(session: aiohttp.ClientSession, server: InferenceClient, pngs: list[bytes], model: str = "unet") -> list[ApiResponse]:
    """Every image sent at once, each forward pass held at its start until as many lanes as images are computing,
    then all released together: requests that reach the server a few milliseconds apart (HTTP, decoding) still
    meet in the lanes, so what is measured is whether the lanes compute side by side, not the arrival order."""
    await server.arm_faults(hold=True)
    try:
        answers = asyncio.ensure_future(segment_all(server, pngs, model))

        async def lanes_in_use() -> float:
            return total(await scrape(session, server.base_url), "inference_lanes_in_use")

        await async_wait_until(lanes_in_use, until=lambda n: n == len(pngs) or answers.done(), timeout=SETTLE_S, interval=0.02,
                               describe=f"{len(pngs)} lanes computing at once")
    finally:
        await server.clear_faults()
    return await answers


# A large micrograph: as many pixels a side as the server takes in comfortably (it allows 4096), of noise, so
# that its PNG is as large as such an image gets.
LARGE_SIDE = 2048


def large_pngs(n: int, seed: int = 7) -> list[bytes]:
    rng = np.random.default_rng(seed)
    pngs = []
    for _ in range(n):
        buf = io.BytesIO()
        Image.fromarray((rng.random((LARGE_SIDE, LARGE_SIDE)) * 255).astype(np.uint8)).save(buf, format="PNG")
        pngs.append(buf.getvalue())
    return pngs


def resident_memory(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


async def held_burst(session: aiohttp.ClientSession, server: InferenceClient, pid: int, pngs: list[bytes]) -> tuple[list[ApiResponse], int]:
    """Every image sent at once while each forward pass is held at its start; once each request is either
    taken in (its bytes in flight) or refused unread, the passes are released.  Returns the answers and the
    server's peak resident memory (psutil, sampled every 20 ms) while the burst lasted."""
    process, size = psutil.Process(pid), sum(map(len, pngs)) / len(pngs)
    peak = process.memory_info().rss

    async def accounted() -> tuple[float, float]:
        samples = await scrape(session, server.base_url)
        return total(samples, "inference_refused_unread_total"), round(total(samples, "inference_bytes_in_flight") / size)

    refused_before, _ = await accounted()
    await server.arm_faults(hold=True)
    try:
        answers = asyncio.ensure_future(segment_all(server, pngs))

        async def seen() -> tuple[float, float]:
            nonlocal peak
            peak = max(peak, process.memory_info().rss)
            refused, admitted = await accounted()
            return refused - refused_before, admitted

        await async_wait_until(seen, until=lambda s: s[0] + s[1] >= len(pngs) or answers.done(), timeout=SETTLE_S, interval=0.02,
                               describe=f"each of {len(pngs)} images taken in or refused (seen: refused, taken in)")
    finally:
        await server.clear_faults()
    done = await answers
    return done, max(peak, process.memory_info().rss)


async def users_send(server: InferenceClient, pngs: list[bytes], users: int, model: str = "unet") -> list[ApiResponse]:
    """``users`` concurrent users, each sending their share of ``pngs`` one after another."""
    async def user(share: list[bytes]) -> list[ApiResponse]:
        return [await server.segment(model, png) for png in share]

    return [a for answers in await everyone(user(pngs[i::users]) for i in range(users)) for a in answers]


def lanes_sampler(session: aiohttp.ClientSession, server: InferenceClient, interval: float = 0.1) -> Sampler:
    """Samples the server's lanes allowed and out-of-memory count, started."""
    async def lanes_now() -> dict:
        samples = await scrape(session, server.base_url)
        return {"allowed": total(samples, "inference_lanes_allowed"), "oom": total(samples, "inference_oom_events_total")}

    sampler = Sampler(lanes_now, interval=interval)
    sampler.start()
    return sampler


async def lanes_dropped_and_back(sampler: Sampler, low: int, high: int, timeout: float, recover_s: float = OOM_RECOVER_AFTER_S) -> list[dict]:
    """Until the samples show the lanes allowed at ``low`` and then back at ``high``; returns them, sampling stopped.
    Fails at once when the server ran out of memory and the lanes allowed did not drop within ``recover_s`` (the
    server's quiet period: by then they would be stepping back up), instead of waiting out ``timeout``."""
    def dropped_and_back(rows: list[dict]) -> bool:
        first_oom = next((r for r in rows if r["oom"] >= 1), None)
        dropped = any(r["allowed"] == low for r in rows)
        if first_oom is not None and not dropped and rows[-1]["t"] - first_oom["t"] > recover_s:
            raise AssertionError(f"the server ran out of memory {rows[-1]['oom']:g} times, yet its lanes allowed stayed at "
                                 f"{sorted({r['allowed'] for r in rows})} for {rows[-1]['t'] - first_oom['t']:.1f} s, never {low}")
        return bool(rows) and rows[-1]["allowed"] == high and dropped

    await async_wait_until(lambda: list(sampler.rows), until=dropped_and_back, timeout=timeout, interval=0.2,
                           describe=f"the lanes allowed to drop to {low} and come back to {high}")
    return await sampler.stop()


async def lanes_idle(session: aiohttp.ClientSession, server: InferenceClient) -> None:
    """Until no lane runs a forward pass (a timed-out request's pass, say, has ended)."""
    async def busy() -> float:
        return total(await scrape(session, server.base_url), "inference_lanes_in_use")

    await async_wait_until(busy, until=lambda n: n == 0, timeout=SETTLE_S, interval=0.1, describe="every lane of the server to be idle")


async def gpu_lanes_vs_lock(own_server, gpu, users: int) -> tuple[dict, dict, list[dict]]:
    """Throughput of a 4-lane CUDA server and of a one-at-a-time one, with GPU samples over both runs."""
    images = unseen_pngs(24)
    sampler = Sampler(lambda: asyncio.to_thread(gpu.sample), interval=0.2)
    sampler.start()
    lanes = await throughput.through_server(own_server(LANES="4", DEVICE="cuda"), "unet", images, users)
    single = await throughput.through_server(own_server(LANES="1", MAX_BATCH="1", DEVICE="cuda"), "unet", images, users)
    return lanes, single, await sampler.stop()


# ---------------------------------------------------------------- model files
def damage_weights(folder: Path, model: str, damage: str) -> None:
    """``corrupted``: one byte flipped; ``missing``: the file deleted."""
    path = folder / f"{model}.pt"
    if damage == "corrupted":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "missing":
        path.unlink()
    else:
        raise ValueError(f"unknown damage {damage!r}: corrupted or missing")


def write_new_weights(folder: Path, model: str) -> str:
    """Slightly different weights for ``model`` and the manifest entry a deployment would write; returns their sha256."""
    path = folder / f"{model}.pt"
    state = torch.load(path, map_location="cpu", weights_only=True)
    head_bias = [k for k in state if k.endswith("bias")][-1]
    state[head_bias] = state[head_bias] + 1e-3
    staging = folder / f".{model}.pt.new"
    torch.save(state, staging)
    digest = hashlib.sha256(staging.read_bytes()).hexdigest()
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest[model]["sha256"] = digest
    staging.replace(path)  # atomic: a reader sees the old file or the new one
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return digest


async def reload_under_load(server: InferenceClient, folder: Path, model: str, users: int) -> tuple[list[ApiResponse], int, str, dict]:
    """New weights put in place and ``model`` reloaded while ``users`` keep sending images.

    Returns every answer, how many came before the reload, the new sha256 and
    what the reload answered.  The load runs before the reload until each user
    had a few answers, and after it until as many more came.
    """
    png = synthetic.to_png(synthetic.generate(synthetic.EVAL_SEED_BASE + 32_000).image)
    stop, answers = asyncio.Event(), []

    async def user():
        while not stop.is_set():
            answers.append(await server.segment(model, png))

    tasks = [asyncio.create_task(user()) for _ in range(users)]
    try:
        await async_wait_until(lambda: len(answers), until=lambda n: n >= 4 * users, timeout=SETTLE_S, describe="answers before the reload")
        digest = write_new_weights(folder, model)
        reloaded = await server.reload(model)
        before = len(answers)
        await async_wait_until(lambda: len(answers), until=lambda n: n >= before + 4 * users, timeout=SETTLE_S, describe="answers after the reload")
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return answers, before, digest, reloaded


def own_inference_server(context, **env: str) -> InferenceClient:
    """An inference server of the scenario's own (its lanes, weights, faults); stopped when the scenario ends."""
    proc = context.system.start_standalone_inference(**env)
    keep_for_scenario(context, proc, lambda: context.system.stop_standalone(proc))
    context.state.server_process = proc
    context.state.server = InferenceClient(proc.address, context.http)
    return context.state.server


def inference_server(context) -> InferenceClient:
    """The scenario's own inference server if it started one, else the system's."""
    return context.state.server or InferenceClient(context.system.inference[0].address, context.http)


def own_weights(context) -> Path:
    """A copy of the model weights the scenario may damage or replace; deleted when it ends."""
    folder = Path(tempfile.mkdtemp(prefix="paraseg-weights-"))
    for f in DEFAULT_WEIGHTS_DIR.iterdir():
        shutil.copy(f, folder / f.name)
    keep_for_scenario(context, folder, lambda: shutil.rmtree(folder, ignore_errors=True))
    context.state.weights = folder
    return folder
