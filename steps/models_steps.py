"""Steps about model quality and availability."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from behave import given, then, when
from PIL import Image

from harness.actors import everyone
from harness.metrics import scrape, total
from harness.reporting import measured
from steps.inference_steps import server, unseen_images, use_server
from system.inference import synthetic
from system.inference.registry import DEFAULT_WEIGHTS_DIR


def mask_of(answer) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(answer.body["mask_png"]))))


@when("{n:d} unseen spheroid images are segmented with {model}")
async def step_segment_unseen(context, n: int, model: str):
    samples = unseen_images(n, first=synthetic.EVAL_SEED_BASE + 30_000)
    answers = await everyone(server(context).segment(model, synthetic.to_png(s.image)) for s in samples)
    assert all(a.status == 200 for a in answers), [a.body for a in answers if a.status != 200]
    context.answers, context.samples, context.model = answers, samples, model


@then("the masks reach a mean IoU of at least {bound:f} against the ground truth")
def step_mean_iou(context, bound: float):
    scores = [synthetic.iou(mask_of(a), s.mask) for a, s in zip(context.answers, context.samples, strict=True)]
    mean = float(np.mean(scores))
    measured(f"IoU of {context.model}", {"images": len(scores), "mean": round(mean, 4), "min": round(min(scores), 4)})
    assert mean >= bound, f"mean IoU {mean:.4f} < {bound}"


@then("the answers say {model} served them, without a fallback")
def step_no_fallback(context, model: str):
    used = {(a.body["model_used"], a.body["fallback_used"]) for a in context.answers}
    assert used == {(model, False)}, used


def own_weights(context) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="paraseg-weights-"))
    for f in DEFAULT_WEIGHTS_DIR.iterdir():
        shutil.copy(f, folder / f.name)
    context.add_cleanup(shutil.rmtree, folder, ignore_errors=True)
    context.weights = folder
    return folder


@given("an inference server whose hrnet weights are {damage}")
def step_damaged_weights(context, damage: str):
    folder = own_weights(context)
    path = folder / "hrnet.pt"
    if damage == "corrupted":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF  # one flipped byte
        path.write_bytes(bytes(data))
    elif damage == "missing":
        path.unlink()
    else:
        raise ValueError(damage)
    use_server(context, WEIGHTS_DIR=str(folder))


@when("an image is segmented with {model}")
async def step_segment_one(context, model: str):
    context.answer = await server(context).segment(model, synthetic.to_png(synthetic.generate(synthetic.EVAL_SEED_BASE + 31_000).image))
    assert context.answer.status == 200, context.answer.body


@then("the server lists {model} as {state}")
async def step_listed_as(context, model: str, state: str):
    models = await server(context).models()
    assert models[model]["status"] == state, models[model]


@then("the image was segmented by {fallback}, and the answer says a fallback was used")
def step_served_by_fallback(context, fallback: str):
    body = context.answer.body
    assert body["model_used"] == fallback and body["fallback_used"] is True, body


@then("the server counts the fallback for {model}")
async def step_fallback_counted(context, model: str):
    samples = await scrape(context.http, server(context).base_url)
    assert total(samples, "inference_fallbacks_total", model=model) == 1
    assert total(samples, "inference_requests_total", model=model, outcome="fallback") == 1


@given("an inference server with its own copy of the weights")
def step_own_copy(context):
    use_server(context, WEIGHTS_DIR=str(own_weights(context)))


def write_new_weights(folder: Path, model: str) -> str:
    """Slightly different weights for ``model``, and the manifest entry a deployment would write."""
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


@when("new {model} weights are put in place and {model2} is reloaded while {users:d} users keep sending images")
async def step_reload_under_load(context, model: str, model2: str, users: int):
    s = server(context)
    png = synthetic.to_png(synthetic.generate(synthetic.EVAL_SEED_BASE + 32_000).image)
    stop = asyncio.Event()
    answers = []

    async def user():
        while not stop.is_set():
            answers.append(await s.segment(model, png))

    async def answered(n: int) -> None:
        while len(answers) < n:
            await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(user()) for _ in range(users)]
    await asyncio.wait_for(answered(4 * users), 60)  # under load before the reload
    context.new_sha = write_new_weights(context.weights, model)
    context.reloaded = await s.reload(model2)
    after = len(answers)
    await asyncio.wait_for(answered(after + 4 * users), 60)  # and after it
    stop.set()
    await asyncio.gather(*tasks)
    context.answers, context.after_reload = answers, answers[after:]


@then("no request failed")
def step_no_request_failed(context):
    failed = [a.body for a in context.answers if a.status != 200]
    measured("requests during the reload", {"requests": len(context.answers), "failed": len(failed)})
    assert not failed, failed[:3]
    assert all(a.body["model_used"] == "hrnet" and not a.body["fallback_used"] for a in context.answers)


@then("the server lists the new weights for {model}, and serves with them")
async def step_new_weights(context, model: str):
    listed = (await server(context).models())[model]
    assert context.reloaded["status"] == "available", context.reloaded
    assert listed["sha256"] == context.new_sha and listed["status"] == "available", listed
    assert context.after_reload, "no request was served after the reload"
