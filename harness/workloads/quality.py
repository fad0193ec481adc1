"""Verdicts on masks against the truth of images no model trained on (issue 31's validation set)."""

from __future__ import annotations

import cv2
import numpy as np

from harness.clients.api import ApiResponse
from harness.report.attach import attach_png, measured
from harness.researchers import serving
from harness.workloads import unseen

WORST_PICTURES = 3


def png_of(picture: np.ndarray) -> bytes:
    return cv2.imencode(".png", picture)[1].tobytes()


def check_validation_bar(model: str, specimens: list[unseen.Specimen], answers: list[ApiResponse], at_most: int, bound: float,
                         floor: float) -> dict:
    """Each answer served by ``model`` itself; at most ``at_most`` masks below IoU ``bound`` with the truth and none
    below ``floor``.  The worst masks are attached as pictures (the image, the truth, the mask: red where it outlined
    too much, blue where it left a spheroid out), whatever the verdict, so a reader sees what fails."""
    served = {(a.body["model_used"], a.body["fallback_used"]) for a in answers}
    assert served == {(model, False)}, f"the answers were served by {served}"
    masks = [serving.mask_of(a) for a in answers]
    scores = [unseen.iou(m, s.truth) for m, s in zip(masks, specimens, strict=True)]
    order = [int(i) for i in np.argsort(scores)]
    for i in order[:WORST_PICTURES]:
        attach_png(f"{model}: seed {specimens[i].seed}, IoU {scores[i]:.3f}", png_of(unseen.side_by_side(specimens[i], masks[i])))
    below, worst = [i for i in order if scores[i] < bound], float(min(scores))
    figures = {"images": len(scores), "mean": round(float(np.mean(scores)), 4), "p5": round(float(np.percentile(scores, 5)), 4),
               "min": round(worst, 4), f"below_{bound:g}": len(below), "worst": {specimens[i].seed: round(scores[i], 4) for i in order[:5]}}
    measured(f"IoU of {model} on the validation set", figures)
    assert len(below) <= at_most and worst >= floor, (
        f"{len(below)} of {len(scores)} masks below IoU {bound:g} (seeds {[specimens[i].seed for i in below]}), the worst {worst:.3f}")
    return figures
