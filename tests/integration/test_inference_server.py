"""The inference server as a process: back-pressure, refused admin calls, clean shutdown."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys

import aiohttp
import pytest

from harness.clients.inference import InferenceClient
from harness.measure.metrics import scrape, total
from harness.researchers.misuse import spheroid_png
from harness.waiting import async_wait_until
from system.common.measure import decode_mask, measure


async def test_a_full_queue_answers_overloaded_with_retry_after(system):
    """While its one lane is busy the server admits what its queue holds and refuses the rest at once,
    each refusal 503 ``overloaded`` with ``Retry-After``; once the lane is free it serves them all.

    The lane is held busy by the test (a held forward pass), not by a delay it hopes is long enough:
    which requests of a burst get in is the server's choice, how many is its promise."""
    max_queue = 2
    proc = system.start_standalone_inference(LANES="1", MAX_BATCH="1", MAX_QUEUE=str(max_queue), ENABLE_FAULT_INJECTION="1")
    try:
        async with aiohttp.ClientSession() as session:
            client = InferenceClient(proc.address, session)
            await client.arm_faults(hold=True)
            first = asyncio.create_task(client.segment("unet", spheroid_png()))
            await async_wait_until(lambda: scrape(session, proc.address), until=lambda m: total(m, "inference_lanes_in_use") == 1,
                                   timeout=60, interval=0.05, describe="the lane to start computing the first request")
            burst = [asyncio.create_task(client.segment("unet", spheroid_png())) for _ in range(8)]

            async def decided() -> tuple[int, int]:  # (answered, waiting in the queue)
                return sum(t.done() for t in burst), total(await scrape(session, proc.address), "inference_queue_depth")

            answered, queued = await async_wait_until(decided, until=lambda d: d[0] + d[1] == len(burst), timeout=60, interval=0.05,
                                                      describe="every request of the burst to be refused or queued")
            busy = total(await scrape(session, proc.address), "inference_lanes_in_use")
            assert busy == 1, f"the held lane stopped computing ({busy} lanes in use)"
            refused = [t.result() for t in burst if t.done()]
            admitted = [t for t in burst if not t.done()]
            assert queued == max_queue and answered == len(burst) - max_queue, f"{queued} queued and {answered} answered of {len(burst)}"
            wrong = [(a.status, a.error_code, a.headers.get("Retry-After")) for a in refused
                     if not (a.status == 503 and a.error_code == "overloaded" and a.headers.get("Retry-After") == "1")]
            assert not wrong, f"refusals other than 503 overloaded with Retry-After 1: {wrong}"
            await client.clear_faults()  # the lane is free: what was admitted is served
            served = [await first] + [await t for t in admitted]
            assert [a.status for a in served] == [200] * (1 + max_queue), [(a.status, a.error_code) for a in served]
            assert (await client.segment("unet", spheroid_png())).status == 200  # and it serves on
    finally:
        proc.stop()
        system.extras.remove(proc)


async def test_fault_injection_is_refused_unless_enabled(system):
    async with aiohttp.ClientSession() as session:
        client = InferenceClient(system.inference[0].address, session)
        answer = await client.request("POST", "/v1/admin/faults", json={"oom": 1})
        assert answer.status == 403 and answer.error_code == "fault_injection_disabled"


@pytest.mark.parametrize("module", ["system.queue", "system.queue.worker", "system.inference"])
def test_every_entry_point_has_help(module):
    from system.common.settings import fields
    from system.settings import processes

    out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "usage:" in out.stdout
    helped = " ".join(out.stdout.split())  # argparse wraps lines
    missing = [meta.env for _, meta in fields(processes()[module]) if not meta.internal and f"({meta.env};" not in helped]
    assert not missing, f"{module} --help does not name {missing}"


def test_services_stop_cleanly_on_sigterm(system):
    inference = system.start_standalone_inference()
    api = system.start_api()
    worker = system.start_worker()
    assert [worker.stop(), api.stop(), inference.stop()] == [0, 0, 0]
    system.extras.remove(inference)
    system.apis.remove(api)
    system.workers.remove(worker)


async def test_an_answer_measures_the_spheroids_it_outlines(system):
    """One measurement per outer outline, the same numbers the mask it returns gives."""
    async with aiohttp.ClientSession() as session:
        answer = await InferenceClient(system.inference[0].address, session).segment("unet", spheroid_png())
    assert answer.status == 200, answer.body
    externals = [p for p in answer.body["polygons"] if p["type"] == "external"]
    assert len(answer.body["spheroids"]) == len(externals) > 0
    assert answer.body["spheroids"] == measure(decode_mask(base64.b64decode(answer.body["mask_png"])))
