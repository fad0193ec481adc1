"""Steps about results: masks, outlines, and whose they are."""

from __future__ import annotations

import numpy as np
from behave import then

from harness.actors import everyone
from harness.reporting import attach_json, measured
from system.inference.synthetic import iou

# A mask belongs to its image when it overlaps that image's true spheroids this
# well; a mask of another image overlaps them far less.  The model itself
# reaches IoU >= 0.9 (tests/integration/test_model_quality.py).
MATCHING_IOU = 0.8


async def _check_masks(researcher) -> list[float]:
    scores = []
    for image in researcher.images:
        mask = await researcher.mask_of(image)
        assert mask.shape == (image.height, image.width), f"{image.filename}: mask {mask.shape[::-1]} for an image of {image.width}x{image.height}"
        assert set(np.unique(mask)) <= {0, 255}, f"{image.filename}: mask holds values other than 0 and 255"
        scores.append(iou(mask, image.truth))
    return scores


async def _check_outlines(researcher) -> None:
    for image in researcher.images:
        body = await researcher.api.polygons(image.id)
        external = [p for p in body["polygons"] if p["type"] == "external"]
        assert external, f"{image.filename}: no outline"
        assert all(len(p["points"]) >= 3 for p in body["polygons"]), f"{image.filename}: an outline has fewer than 3 points"


@then("every image gets a mask of its own size")
async def step_masks_of_own_size(context):
    context.ious = {r.name: await _check_masks(r) for r in context.researchers}


@then("every image has at least one outline")
async def step_every_image_has_outline(context):
    for researcher in context.researchers:
        await _check_outlines(researcher)


@then("all {n:d} images are segmented")
async def step_all_segmented(context, n: int):
    statuses = []
    for r in context.researchers:
        statuses += [(img["segmentation"] or {}).get("status") for img in await r.api.images(r.project_id)]
    assert len(statuses) == n, f"{len(statuses)} images, expected {n}"
    assert statuses.count("succeeded") == n, f"segmentation statuses: {sorted(set(statuses), key=str)}"


async def _masks_match_own_images(context) -> None:
    scores = await everyone(_check_masks(r) for r in context.researchers)
    context.ious = {r.name: s for r, s in zip(context.researchers, scores, strict=True)}
    _assert_masks_match(context.ious)


@then("every mask matches the spheroids in its own image")
async def step_masks_match_own_image(context):
    await _masks_match_own_images(context)


@then("every mask matches the spheroids in its image")
def step_masks_match_truth(context):
    _assert_masks_match(context.ious)


def _assert_masks_match(scores: dict[str, list[float]]) -> None:
    attach_json("IoU against ground truth", scores)
    flat = [v for vs in scores.values() for v in vs]
    measured("mask IoU against ground truth", {"images": len(flat), "mean": round(float(np.mean(flat)), 4), "min": round(min(flat), 4)})
    for name, values in scores.items():
        worst = min(values)
        assert worst >= MATCHING_IOU, f"{name}: a mask overlaps its image's spheroids with IoU {worst:.3f} < {MATCHING_IOU}"


@then("every researcher's images all get masks of their own size and at least one outline")
async def step_everyones_results(context):
    await everyone(_check_outlines(r) for r in context.researchers)
    await _masks_match_own_images(context)


@then("each researcher sees only their own projects, images and results")
async def step_only_own_results(context):
    researchers = context.researchers
    for me in researchers:
        projects = await me.api.expect(200, "GET", "/api/projects")
        assert [p["id"] for p in projects] == [me.project_id], f"{me.name} lists projects {projects}"
        mine = me.own_job_ids()
        heard = {e["job_id"] for e in me.events.bodies() if e["job_id"] is not None}
        assert heard == mine, f"{me.name} heard about jobs {sorted(heard - mine)} that are not theirs"
        for other in researchers:
            if other is me:
                continue
            image = other.images[0]
            for path in (f"/api/images/{image.id}", f"/api/images/{image.id}/mask", f"/api/images/{image.id}/polygons",
                         f"/api/projects/{other.project_id}", f"/api/batches/{other.batches[0]['batch_id']}"):
                response = await me.api.request("GET", path)
                assert response.status == 404 and response.error_code == "not_found", f"{me.name} GET {path} of {other.name}: {response.status}"
