"""Steps about model quality and availability."""

from __future__ import annotations

import numpy as np
from behave import given, then, when

from harness.measure.metrics import scrape, total
from harness.report.attach import measured
from harness.researchers import serving
from harness.workloads import quality, unseen
from system.inference import synthetic


@when("{n:d} unseen spheroid images are segmented with {model}")
async def step_segment_unseen(context, n: int, model: str):
    context.state.samples, context.state.model = serving.unseen_samples(n, first=synthetic.EVAL_SEED_BASE + 30_000), model
    context.state.answers = await serving.segment_all(serving.inference_server(context), [synthetic.to_png(s.image) for s in context.state.samples], model)
    assert not serving.failed(context.state.answers), serving.failed(context.state.answers)


@then("the masks reach a mean IoU of at least {bound:f} against the ground truth")
def step_mean_iou(context, bound: float):
    scores = [synthetic.iou(serving.mask_of(a), s.mask) for a, s in zip(context.state.answers, context.state.samples, strict=True)]
    mean = float(np.mean(scores))
    measured(f"IoU of {context.state.model}", {"images": len(scores), "mean": round(mean, 4), "min": round(min(scores), 4)})
    assert mean >= bound, f"mean IoU {mean:.4f} < {bound}"


@when("{n:d} images of the validation set are segmented with {model}")
async def step_segment_validation(context, n: int, model: str):
    context.state.specimens, context.state.model = [unseen.specimen(seed) for seed in unseen.VALIDATION_SEEDS[:n]], model
    context.state.answers = await serving.segment_all(serving.inference_server(context), [s.file_bytes for s in context.state.specimens], model)
    assert not serving.failed(context.state.answers), serving.failed(context.state.answers)


@then("at most {k:d} of the {n:d} masks have an IoU below {bound:g} with the truth, and none below {floor:g}")
def step_validation_bar(context, k: int, n: int, bound: float, floor: float):
    assert len(context.state.specimens) == n, f"{len(context.state.specimens)} images were segmented, the bar speaks of {n}"
    quality.check_validation_bar(context.state.model, context.state.specimens, context.state.answers, k, bound, floor)


@then("the answers say {model} served them, without a fallback")
def step_no_fallback(context, model: str):
    used = {(a.body["model_used"], a.body["fallback_used"]) for a in context.state.answers}
    assert used == {(model, False)}, used


@given("an inference server whose hrnet weights are {damage}")
def step_damaged_weights(context, damage: str):
    folder = serving.own_weights(context)
    serving.damage_weights(folder, "hrnet", damage)
    serving.own_inference_server(context, WEIGHTS_DIR=str(folder))


@when("an image is segmented with {model}")
async def step_segment_one(context, model: str):
    png = synthetic.to_png(synthetic.generate(synthetic.EVAL_SEED_BASE + 31_000).image)
    context.state.answer = await serving.inference_server(context).segment(model, png)
    assert context.state.answer.status == 200, context.state.answer.body


@then("the server lists {model} as {state}")
async def step_listed_as(context, model: str, state: str):
    models = await serving.inference_server(context).models()
    assert models[model]["status"] == state, models[model]


@then("the image was segmented by {fallback}, and the answer says a fallback was used")
def step_served_by_fallback(context, fallback: str):
    body = context.state.answer.body
    assert body["model_used"] == fallback and body["fallback_used"] is True, body


@then("the server counts the fallback for {model}")
async def step_fallback_counted(context, model: str):
    samples = await scrape(context.http, serving.inference_server(context).base_url)
    assert total(samples, "inference_fallbacks_total", model=model) == 1
    assert total(samples, "inference_requests_total", model=model, outcome="fallback") == 1


@given("an inference server with its own copy of the weights")
def step_own_copy(context):
    serving.own_inference_server(context, WEIGHTS_DIR=str(serving.own_weights(context)))


@when("new {model} weights are put in place and {model2} is reloaded while {users:d} users keep sending images")
async def step_reload_under_load(context, model: str, model2: str, users: int):
    assert model == model2, "the scenario reloads the model whose weights it replaced"
    server = serving.inference_server(context)
    context.state.answers, before, context.state.new_sha, context.state.reloaded = await serving.reload_under_load(server, context.state.weights, model, users)
    context.state.after_reload = context.state.answers[before:]


@then("no request failed")
def step_no_request_failed(context):
    failed = serving.failed(context.state.answers)
    measured("requests during the reload", {"requests": len(context.state.answers), "failed": len(failed)})
    assert not failed, failed[:3]
    assert all(a.body["model_used"] == "hrnet" and not a.body["fallback_used"] for a in context.state.answers)


@then("the server lists the new weights for {model}, and serves with them")
async def step_new_weights(context, model: str):
    listed = (await serving.inference_server(context).models())[model]
    assert context.state.reloaded["status"] == "available", context.state.reloaded
    assert listed["sha256"] == context.state.new_sha and listed["status"] == "available", listed
    assert context.state.after_reload, "no request was served after the reload"
