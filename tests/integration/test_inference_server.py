"""The inference server as a process: back-pressure, refused admin calls, clean shutdown."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys

import aiohttp
import pytest

from harness.inference_client import InferenceClient
from harness.probes import spheroid_png
from system.common.measure import decode_mask, measure


async def test_a_full_queue_answers_overloaded_with_retry_after(system):
    proc = system.start_standalone_inference(LANES="1", MAX_BATCH="1", MAX_QUEUE="2", ENABLE_FAULT_INJECTION="1")
    try:
        async with aiohttp.ClientSession() as session:
            client = InferenceClient(proc.address, session)
            await client.arm_faults(delay_ms=1500, count=1)  # the lane is busy for a while
            answers = await asyncio.gather(*(client.segment("unet", spheroid_png()) for _ in range(8)))
            statuses = sorted(a.status for a in answers)
            overloaded = [a for a in answers if a.status == 503]
            assert overloaded and all(a.error_code == "overloaded" and a.headers.get("Retry-After") == "1" for a in overloaded)
            assert statuses.count(200) >= 3, statuses  # the one computing and the two queued
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
    out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "usage:" in out.stdout
    assert "(PORT)" in out.stdout or "(DATABASE_URL)" in out.stdout


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
