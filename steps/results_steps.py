"""Steps about results: masks, outlines, and whose they are."""

from __future__ import annotations

import numpy as np
from behave import then

from harness.report.attach import attach_json, measured
from harness.researchers import checks
from harness.researchers.actors import everyone


def report_ious(scores: dict[str, list[float]]) -> None:
    attach_json("IoU against ground truth", scores)
    flat = [v for vs in scores.values() for v in vs]
    measured("mask IoU against ground truth", {"images": len(flat), "mean": round(float(np.mean(flat)), 4), "min": round(min(flat), 4)})


@then("every image gets a mask of its own size")
async def step_masks_of_own_size(context):
    context.state.ious = await checks.everyones_masks(context.state.researchers)


@then("every image has at least one outline")
async def step_every_image_has_outline(context):
    await everyone(checks.outlines(r) for r in context.state.researchers)


@then("all {n:d} images are segmented")
async def step_all_segmented(context, n: int):
    statuses = await checks.segmentation_statuses(context.state.researchers)
    assert statuses == ["succeeded"] * n, f"{len(statuses)} images (expected {n}), statuses {sorted(set(statuses), key=str)}"


@then("every batch reads as completed, with its finish time")
async def step_batches_completed(context):
    await checks.batches_completed(context.state.researchers)


@then("every mask matches the spheroids in its own image")
async def step_masks_match_own_image(context):
    context.state.ious = await checks.everyones_masks(context.state.researchers)
    report_ious(context.state.ious)
    checks.masks_match(context.state.ious)


@then("every mask matches the spheroids in its image")
def step_masks_match_truth(context):
    report_ious(context.state.ious)
    checks.masks_match(context.state.ious)


@then("every researcher's images all get masks of their own size and at least one outline")
async def step_everyones_results(context):
    await everyone(checks.outlines(r) for r in context.state.researchers)
    context.state.ious = await checks.everyones_masks(context.state.researchers)
    report_ious(context.state.ious)
    checks.masks_match(context.state.ious)


@then("each researcher sees only their own projects, images and results")
async def step_only_own_results(context):
    for me in context.state.researchers:
        assert [p["id"] for p in await me.api.projects()] == [me.project_id], f"{me.name} lists projects not their own"
        assert me.heard_job_ids() == me.own_job_ids(), f"{me.name} heard about jobs {sorted(me.heard_job_ids() - me.own_job_ids())}"
        for other in (o for o in context.state.researchers if o is not me):
            answers = await me.look_at_work_of(other)
            assert all(a.status == 404 and a.error_code == "not_found" for a in answers.values()), {k: a.status for k, a in answers.items()}
