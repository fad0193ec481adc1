"""The spheroid shapes that broke masks and exports before (issue 31), drawn as a lab would photograph them.

Each image holds one spheroid whose shape is the point: a **crescent**, **two spheroids grown together** (one
body with a waist), one **cut by the border**, and a **large, evenly bright** one filling much of the field.
The outline is geometry (discs and ellipses, added and taken away), so the truth is exact; the light, grain,
blur and noise come from the validation generator (``unseen.py``), which the models never trained on.  The
same name gives the same picture on every machine.
"""

from __future__ import annotations

import cv2
import numpy as np

from harness.workloads import unseen
from system.inference.synthetic import Sample

SHAPES = ("crescent", "grown together", "cut by the border", "large and evenly bright")
WIDTH, HEIGHT = 384, 320


def outline(shape: str) -> np.ndarray:
    """The truth of ``shape``: a 0/255 mask of one spheroid, HEIGHT x WIDTH."""
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    if shape == "crescent":  # a disc with a bite taken out of one side
        cv2.circle(mask, (200, 160), 110, 255, -1)
        cv2.circle(mask, (262, 150), 88, 0, -1)
    elif shape == "grown together":  # two bodies merged, a waist where they meet
        cv2.ellipse(mask, (130, 165), (80, 70), 15, 0, 360, 255, -1)
        cv2.ellipse(mask, (255, 150), (70, 62), -10, 0, 360, 255, -1)
    elif shape == "cut by the border":  # the left border cuts off about a third of it
        cv2.ellipse(mask, (40, 170), (120, 105), 0, 0, 360, 255, -1)
    elif shape == "large and evenly bright":  # about 45% of the field
        cv2.ellipse(mask, (195, 160), (155, 120), 20, 0, 360, 255, -1)
    else:
        raise ValueError(f"unknown shape {shape!r}; known: {SHAPES}")
    return mask


def picture(shape: str, seed: int = 0) -> Sample:
    """``shape`` on a dark, vignetted field: an evenly bright body with cell-scale grain, a little debris, a
    slight blur and shot noise."""
    rng = np.random.default_rng([31, 5, SHAPES.index(shape), seed])
    truth = outline(shape)
    h, w = truth.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    level = rng.uniform(25, 45)
    background = level * (1 - 0.25 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2) * 2)
    body = unseen._body(rng, truth, "even", rng.uniform(70, 100), h, w)
    light = background + body + unseen._debris(rng, h, w, 60.0) * (truth == 0)
    light = cv2.GaussianBlur(light, (0, 0), 1.0)
    noisy = rng.poisson(np.clip(light, 0, None) / 0.5) * 0.5 + rng.normal(0, 2.0, size=light.shape)
    return Sample(image=np.clip(noisy, 0, 255).astype(np.uint8), mask=truth)
