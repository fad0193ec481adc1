"""Steps about the inference server: lanes, throughput, out of memory, deadlines, bad input."""

from __future__ import annotations

import os

from behave import given, then, when

from harness.measure import throughput
from harness.measure.analysis import max_overlap
from harness.report.attach import attach_png, measured
from harness.researchers import checks, misuse, serving
from system.contract import INFERENCE_ERRORS
from system.inference.gpu import GpuProbe

# The load generator (this process) needs cores of its own, or it takes from the
# server the very CPU the comparison is about.
MIN_CORES_FOR_RATIO = 4


@given("an inference server with {lanes:d} lanes")
def step_server_with_lanes(context, lanes: int):
    serving.own_inference_server(context, LANES=str(lanes), MAX_BATCH="1", ENABLE_FAULT_INJECTION="1")


@when("{n:d} researchers' images are segmented at the same moment")
async def step_n_at_once(context, n: int):
    context.state.answers = await serving.segment_together(context.http, serving.inference_server(context), serving.unseen_pngs(n))
    assert not serving.failed(context.state.answers), serving.failed(context.state.answers)


@then("they ran on {n:d} different lanes")
def step_different_lanes(context, n: int):
    lanes = sorted(a.body["lane"] for a in context.state.answers)
    assert lanes == list(range(n)), f"lanes used: {lanes}"


@then("their computations overlapped in time")
def step_overlapped(context):
    intervals = [(a.body["timings"]["compute_started"], a.body["timings"]["compute_finished"]) for a in context.state.answers]
    peak = max_overlap(intervals)
    measured("compute intervals of simultaneous requests", {"intervals": intervals, "most at once": peak})
    assert peak == len(intervals), f"at most {peak} of {len(intervals)} computations ran at the same time"


# ------------------------------------------------------------------ throughput


@given("the best in-process throughput of {model} on this machine, with every stage a request goes through")
def step_in_process_best(context, model: str):
    context.state.model, context.state.images = model, serving.unseen_pngs(24)
    context.state.best = throughput.in_process_best(model, context.state.images)


@when("{users:d} users send images to the inference server continuously")
async def step_users_continuously(context, users: int):
    context.state.served = await throughput.through_server(serving.inference_server(context), context.state.model, context.state.images, users)


@then("they get at least {percent:d}% of that throughput")
def step_at_least_percent(context, percent: int):
    ratio, cores = context.state.served["images_per_s"] / context.state.best["images_per_s"], os.cpu_count() or 1
    measured("throughput: server with concurrent users vs the best in-process",
             {"in_process_best": context.state.best, "server": context.state.served, "ratio": round(ratio, 3), "cpu_cores": cores})
    if cores < MIN_CORES_FOR_RATIO:
        context.scenario.skip(reason=f"measured {ratio:.1%} of the in-process best, but not asserted: with {cores} cores the clients "
                                     f"and the server share the CPU being compared (needs {MIN_CORES_FOR_RATIO}+ cores or a GPU)")
        return
    assert ratio >= percent / 100, f"the server reached {ratio:.1%} of the in-process best"


@given("an NVIDIA GPU")
def step_gpu(context):
    context.gpu = GpuProbe.open()
    if not context.gpu.available:  # before_scenario skips @gpu scenarios first; this guards direct use
        context.scenario.skip(reason=context.gpu.reason)


@when("{users:d} users send images continuously to the lane server and then to a one-at-a-time server")
async def step_lanes_vs_lock(context, users: int):
    def own_server(**env):
        return serving.own_inference_server(context, **env)

    context.state.lanes_rate, context.state.single_rate, context.state.gpu_rows = await serving.gpu_lanes_vs_lock(own_server, context.gpu, users)


@then("the lane server's throughput is at least {factor:d} times the one-at-a-time server's")
def step_lanes_factor(context, factor: int):
    ratio = context.state.lanes_rate["images_per_s"] / context.state.single_rate["images_per_s"]
    measured("GPU: lanes vs one at a time", {"lanes": context.state.lanes_rate, "single": context.state.single_rate, "ratio": round(ratio, 2)})
    assert ratio >= factor, f"the lane server reached {ratio:.2f} times the one-at-a-time server's throughput"


@then("the GPU's utilisation over the run is attached to the report")
def step_gpu_plot(context):
    rows = [r for r in context.state.gpu_rows if r.get("utilization_percent") is not None]
    assert rows, "NVML gave no samples"
    attach_png("GPU utilisation", throughput.series_png(rows, "utilization_percent", "GPU utilisation (%)"))


# ------------------------------------------------------------------ out of memory


@given("an inference server that will run out of memory on the next {n:d} images it computes")
async def step_oom_server(context, n: int):
    server = serving.own_inference_server(context, ENABLE_FAULT_INJECTION="1", RECOVER_AFTER=str(serving.OOM_RECOVER_AFTER_S), MAX_BATCH="2")
    await server.arm_faults(oom=n)


@when("{users:d} users send {count:d} images at the same moment")
async def step_users_send(context, users: int, count: int):
    server = serving.inference_server(context)
    context.state.lane_sampler = serving.lanes_sampler(context.http, server)
    context.state.answers = await serving.users_send(server, serving.unseen_pngs(count), users)


@then("every image is segmented")
def step_every_image_segmented(context):
    bad = serving.failed(context.state.answers)
    assert not bad, f"{len(bad)} requests failed: {bad[:3]}"


@then("the lanes allowed dropped to {low:d} and came back to {high:d} after a quiet period")
async def step_lanes_dropped_and_back(context, low: int, high: int):
    rows = await serving.lanes_dropped_and_back(context.state.lane_sampler, low, high, timeout=serving.SETTLE_S)
    attach_png("lanes allowed over time", throughput.series_png(rows, "allowed", "lanes allowed"))
    measured("out of memory", {"oom events": rows[-1]["oom"], "lanes allowed, lowest": min(r["allowed"] for r in rows), "requests": len(context.state.answers)})
    assert rows[-1]["oom"] >= 1 and min(r["allowed"] for r in rows) == low, rows[-5:]


# ------------------------------------------------------------------ deadlines


@given("an inference server that answers within {seconds:d} seconds or not at all")
def step_deadline_server(context, seconds: int):
    serving.own_inference_server(context, ENABLE_FAULT_INJECTION="1", REQUEST_TIMEOUT=str(seconds), LANES="4", MAX_BATCH="1")


@given("the next image it computes will take {seconds:d} seconds")
async def step_slow_pass(context, seconds: int):
    await serving.inference_server(context).arm_faults(delay_ms=seconds * 1000, count=1)


@when("an image is sent to it, and {n:d} more together once the slow one is done")
async def step_one_then_more(context, n: int):
    server = serving.inference_server(context)
    context.state.first = await server.segment("unet", misuse.spheroid_png())
    await serving.lanes_idle(context.http, server)  # the timed-out request's pass has ended
    # held until all of them compute at once, so each is on a lane of its own (they arrive milliseconds apart)
    context.state.answers = await serving.segment_together(context.http, server, serving.unseen_pngs(n, first=misuse.SPHEROID_SEED + 100))


@then("the next {n:d} are segmented, on all {lanes:d} lanes")
def step_next_segmented(context, n: int, lanes: int):
    assert [a.status for a in context.state.answers] == [200] * n, [a.body for a in context.state.answers]
    assert sorted(a.body["lane"] for a in context.state.answers) == list(range(lanes)), [a.body["lane"] for a in context.state.answers]


@then('the first request ends with the error "{code}"')
def step_first_request_ends_with(context, code: str):
    checks.refused_with(context.state.first, code, INFERENCE_ERRORS)


@then('the inference server refuses it with the error "{code}"')
def step_inference_refuses(context, code: str):
    checks.refused_with(context.state.response, code, INFERENCE_ERRORS)


# ------------------------------------------------------------------ bad input


@when("{bad} is sent to the inference server")
async def step_send_bad_input(context, bad: str):
    model, body, threshold = misuse.BAD_INFERENCE_INPUT[bad]()
    context.state.response = await serving.inference_server(context).segment(model, body, threshold)


@then("the inference server still segments a good image")
async def step_still_serves(context):
    answer = await serving.inference_server(context).segment("unet", misuse.spheroid_png())
    assert answer.status == 200, answer.body
    assert serving.mask_of(answer).shape == (64, 64)


@given("an inference server that takes in at most {n:d} large images at a time")
def step_server_taking_in(context, n: int):
    context.state.images = serving.large_pngs(40)
    budget = n * max(map(len, context.state.images))  # each image as large as the largest: n of them fit, not n + 1
    serving.own_inference_server(context, LANES="1", MAX_BYTES_IN_FLIGHT=str(budget), ENABLE_FAULT_INJECTION="1")


@when("{first:d} large images are sent to it at the same moment, then {second:d}")
async def step_large_bursts(context, first: int, second: int):
    s = context.state
    s.memory_before = serving.resident_memory(s.server_process.pid)
    for n in (first, second):
        s.bursts[n] = await serving.held_burst(context.http, s.server, s.server_process.pid, s.images[:n])


@then('of the {n:d}, {taken:d} were taken in and the other {refused:d} refused with the error "overloaded" before being read')
def step_burst_refused(context, n: int, taken: int, refused: int):
    answers, _ = context.state.bursts[n]
    served = [a for a in answers if a.status == 200]
    assert len(served) == taken, f"{len(served)} of {n} were segmented, not {taken}: {[checks.described(a) for a in answers if a.status != 200][:3]}"
    for answer in (a for a in answers if a.status != 200):
        checks.refused_with(answer, "overloaded", INFERENCE_ERRORS)


@then("its memory grew less than three times as much with {second:d} sent as with {first:d}, eight times as many")
def step_memory_bounded(context, second: int, first: int):
    s = context.state
    grew = {n: s.bursts[n][1] - s.memory_before for n in (first, second)}
    measured("a burst of large images", {"sent_mb": {n: round(sum(map(len, s.images[:n])) / 1e6, 1) for n in grew},
                                         "memory_growth_mb": {n: round(g / 1e6, 1) for n, g in grew.items()}})
    assert grew[second] < 3 * max(grew[first], 1), f"memory grew {grew[second] / 1e6:.0f} MB with {second} sent, {grew[first] / 1e6:.0f} MB with {first}"
