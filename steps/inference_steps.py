"""Steps about the inference server: lanes, throughput, out of memory, deadlines, bad input."""

from __future__ import annotations

import asyncio
import base64
import io
import os

import numpy as np
from behave import given, then, when
from PIL import Image

from harness import throughput
from harness.actors import everyone
from harness.analysis import max_overlap
from harness.inference_client import client_for
from harness.metrics import Sampler, scrape, total
from harness.probes import spheroid_png, wide_png, zero_pixel_png
from harness.reporting import attach_png, measured
from system.inference import synthetic

SEGMENT_TIMEOUT_S = 120


def unseen_images(n: int, first: int = synthetic.EVAL_SEED_BASE + 20_000) -> list[synthetic.Sample]:
    return [synthetic.generate(first + i) for i in range(n)]


def use_server(context, **env: str):
    proc = context.system.start_standalone_inference(**env)
    context.server = client_for(proc.address, context.http)
    return context.server


def server(context):
    """The scenario's own inference server if it started one, else the system's."""
    return getattr(context, "server", None) or client_for(context.system.inference[0].address, context.http)


@given("an inference server with {lanes:d} lanes")
def step_server_with_lanes(context, lanes: int):
    use_server(context, LANES=str(lanes), MAX_BATCH="1")


@when("{n:d} researchers' images are segmented at the same moment")
async def step_n_at_once(context, n: int):
    images = [synthetic.to_png(s.image) for s in unseen_images(n)]
    context.answers = await everyone(server(context).segment("unet", png) for png in images)
    assert all(a.status == 200 for a in context.answers), [a.body for a in context.answers if a.status != 200]


@then("they ran on {n:d} different lanes")
def step_different_lanes(context, n: int):
    lanes = sorted(a.body["lane"] for a in context.answers)
    assert lanes == list(range(n)), f"lanes used: {lanes}"


@then("their computations overlapped in time")
def step_overlapped(context):
    intervals = [(a.body["timings"]["compute_started"], a.body["timings"]["compute_finished"]) for a in context.answers]
    peak = max_overlap(intervals)
    measured("compute intervals of simultaneous requests", {"intervals": intervals, "most at once": peak})
    assert peak == len(intervals), f"at most {peak} of {len(intervals)} computations ran at the same time"


# ------------------------------------------------------------------ throughput


@given("the best in-process throughput of {model} on this machine, with every stage a request goes through")
def step_in_process_best(context, model: str):
    context.model = model
    context.images = [synthetic.to_png(s.image) for s in unseen_images(24)]
    context.best = throughput.in_process_best(model, context.images)


@when("{users:d} users send images to the inference server continuously")
async def step_users_continuously(context, users: int):
    context.served = await throughput.through_server(server(context), context.model, context.images, users)


# The load generator (this process) needs cores of its own, or it takes from the
# server the very CPU the comparison is about.
MIN_CORES_FOR_RATIO = 4


@then("they get at least {percent:d}% of that throughput")
def step_at_least_percent(context, percent: int):
    best, served = context.best, context.served
    ratio = served["images_per_s"] / best["images_per_s"]
    cores = os.cpu_count() or 1
    measured("throughput: server with concurrent users vs the best in-process", {
        "in_process_best": best, "server": served, "ratio": round(ratio, 3), "cpu_cores": cores})
    if cores < MIN_CORES_FOR_RATIO:
        context.scenario.skip(
            reason=f"measured {ratio:.1%} of the in-process best, but not asserted: with {cores} cores the clients "
                   f"and the server share the CPU being compared (needs {MIN_CORES_FOR_RATIO}+ cores or a GPU)")
        return
    assert ratio >= percent / 100, f"the server reached {ratio:.1%} of the in-process best"


@given("an NVIDIA GPU")
def step_gpu(context):
    from system.inference.gpu import GpuProbe

    probe = GpuProbe.open()
    if not probe.available:  # before_scenario skips @gpu scenarios first; this guards direct use
        context.scenario.skip(reason=probe.reason)
        return
    context.gpu = probe


@when("{users:d} users send images continuously to the lane server and then to a one-at-a-time server")
async def step_lanes_vs_lock(context, users: int):
    images = [synthetic.to_png(s.image) for s in unseen_images(24)]
    sampler = Sampler(lambda: asyncio.to_thread(context.gpu.sample), interval=0.2)
    sampler.start()
    lanes = use_server(context, LANES="4", DEVICE="cuda")
    context.lanes_rate = await throughput.through_server(lanes, "unet", images, users)
    single = use_server(context, LANES="1", MAX_BATCH="1", DEVICE="cuda")
    context.single_rate = await throughput.through_server(single, "unet", images, users)
    context.gpu_rows = await sampler.stop()


@then("the lane server's throughput is at least {factor:d} times the one-at-a-time server's")
def step_lanes_factor(context, factor: int):
    ratio = context.lanes_rate["images_per_s"] / context.single_rate["images_per_s"]
    measured("GPU: lanes vs one at a time", {"lanes": context.lanes_rate, "single": context.single_rate, "ratio": round(ratio, 2)})
    assert ratio >= factor


@then("the GPU's utilisation over the run is attached to the report")
def step_gpu_plot(context):
    rows = [r for r in context.gpu_rows if r.get("utilization_percent") is not None]
    assert rows, "NVML gave no samples"
    attach_png("GPU utilisation", throughput.series_png(rows, "utilization_percent", "GPU utilisation (%)"))


# ------------------------------------------------------------------ out of memory


@given("an inference server that will run out of memory on its next {n:d} forward passes")
async def step_oom_server(context, n: int):
    s = use_server(context, ENABLE_FAULT_INJECTION="1", RECOVER_AFTER="2", MAX_BATCH="2")
    await s.arm_faults(oom=n)


@when("{users:d} users send {count:d} images at the same moment")
async def step_users_send(context, users: int, count: int):
    s = server(context)
    pngs = [synthetic.to_png(x.image) for x in unseen_images(count)]

    async def lanes_now():
        samples = await scrape(context.http, s.base_url)
        return {"allowed": total(samples, "inference_lanes_allowed"), "oom": total(samples, "inference_oom_events_total")}

    sampler = Sampler(lanes_now, interval=0.1)
    sampler.start()
    queues = [pngs[i::users] for i in range(users)]

    async def user(images):
        return [await s.segment("unet", png) for png in images]

    context.answers = [a for answers in await everyone(user(q) for q in queues) for a in answers]
    context.lane_sampler = sampler


@then("every image is segmented")
def step_every_image_segmented(context):
    bad = [(a.status, a.body) for a in context.answers if a.status != 200]
    assert not bad, f"{len(bad)} requests failed: {bad[:3]}"


@then("the lanes allowed dropped to {low:d} and came back to {high:d} after a quiet period")
async def step_lanes_dropped_and_back(context, low: int, high: int):
    sampler = context.lane_sampler
    deadline = asyncio.get_running_loop().time() + 60
    while not (sampler.rows and sampler.rows[-1]["allowed"] == high and any(r["allowed"] == low for r in sampler.rows)):
        assert asyncio.get_running_loop().time() < deadline, f"lanes allowed over time: {[r['allowed'] for r in sampler.rows][-20:]}"
        await asyncio.sleep(0.2)
    rows = await sampler.stop()
    attach_png("lanes allowed over time", throughput.series_png(rows, "allowed", "lanes allowed"))
    ooms = rows[-1]["oom"]
    measured("out of memory", {"oom events": ooms, "lanes allowed, lowest": min(r["allowed"] for r in rows), "requests": len(context.answers)})
    assert ooms >= 1 and min(r["allowed"] for r in rows) == low


# ------------------------------------------------------------------ deadlines


@given("an inference server that answers within {seconds:d} second or not at all")
def step_deadline_server(context, seconds: int):
    use_server(context, ENABLE_FAULT_INJECTION="1", REQUEST_TIMEOUT=str(seconds), LANES="4", MAX_BATCH="1")


@given("its next forward pass will take {seconds:d} seconds")
async def step_slow_pass(context, seconds: int):
    await server(context).arm_faults(delay_ms=seconds * 1000, count=1)


@when("an image is sent to it, and {n:d} more together once the slow pass is over")
async def step_one_then_more(context, n: int):
    s = server(context)
    context.first = await s.segment("unet", spheroid_png())

    async def lanes_busy() -> float:
        return total(await scrape(context.http, s.base_url), "inference_lanes_in_use")

    deadline = asyncio.get_running_loop().time() + 30
    while await lanes_busy() > 0:  # the timed-out request's pass is still running
        assert asyncio.get_running_loop().time() < deadline, "a lane stayed busy"
        await asyncio.sleep(0.1)
    context.answers = await everyone(s.segment("unet", spheroid_png(synthetic.EVAL_SEED_BASE + 900 + i)) for i in range(n))


@then("the next {n:d} are segmented, on all {lanes:d} lanes")
def step_next_segmented(context, n: int, lanes: int):
    assert [a.status for a in context.answers] == [200] * n, [a.body for a in context.answers]
    assert sorted(a.body["lane"] for a in context.answers) == list(range(lanes)), [a.body["lane"] for a in context.answers]


# ------------------------------------------------------------------ bad input

BAD_INPUT = {
    "bytes that are not an image": ("unet", b"definitely not an image", 0.5),
    "a truncated PNG": ("unet", spheroid_png()[:-300], 0.5),
    "an empty body": ("unet", b"", 0.5),
    "an image of 4097 by 8 pixels": ("unet", wide_png(4097, 8), 0.5),
    "an image of 8 by 8 pixels": ("unet", synthetic.to_png(np.zeros((8, 8), np.uint8)), 0.5),
    "an image for a model that does not exist": ("segment-anything", spheroid_png(), 0.5),
    "a threshold of 7": ("unet", spheroid_png(), 7),
    "a threshold that is not a number": ("unet", spheroid_png(), "high"),
    "a body of 65 MiB": ("unet", b"\x89PNG" + b"\x00" * (65 * 1024 * 1024), 0.5),
    "a zero-pixel image": ("unet", zero_pixel_png(), 0.5),
}


@when("{bad} is sent to the inference server")
async def step_send_bad_input(context, bad: str):
    model, body, threshold = BAD_INPUT[bad]
    context.response = await server(context).segment(model, body, threshold)


@then("the inference server still segments a good image")
async def step_still_serves(context):
    answer = await server(context).segment("unet", spheroid_png())
    assert answer.status == 200, answer.body
    mask = np.asarray(Image.open(io.BytesIO(base64.b64decode(answer.body["mask_png"]))))
    assert mask.shape == (64, 64)


@then('the first answer is {status:d} with the error "{code}"')
def step_first_answer(context, status: int, code: str):
    first = context.first
    assert first.status == status and first.error_code == code, (first.status, first.body)
