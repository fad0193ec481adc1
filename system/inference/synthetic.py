"""Synthetic spheroid micrographs with exact ground-truth masks.

Each image shows one to three bright, roundish spheroids of varied size and
outline on an uneven background, with shot noise, blur and small bright debris
that is *not* part of the mask.  Everything is drawn from one seeded
``numpy.random.Generator``, so a seed names an image set exactly: the training
script uses seeds below ``EVAL_SEED_BASE``; evaluation uses seeds at or above it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

EVAL_SEED_BASE = 1_000_000


@dataclass(frozen=True)
class Sample:
    image: np.ndarray  # uint8, H x W (grayscale)
    mask: np.ndarray  # uint8, H x W, 0 or 255


def _blob_outline(rng: np.random.Generator, cx: float, cy: float, radius: float) -> np.ndarray:
    """A closed, star-shaped outline: a circle perturbed by a few low harmonics."""
    angles = np.linspace(0.0, 2.0 * np.pi, 180, endpoint=False)
    r = np.ones_like(angles)
    for k in range(2, 6):
        amp = rng.uniform(0.0, 0.12 / (k - 1))
        r += amp * np.cos(k * angles + rng.uniform(0, 2 * np.pi))
    elong = rng.uniform(0.75, 1.0)  # ellipticity
    tilt = rng.uniform(0, np.pi)
    x = radius * r * np.cos(angles)
    y = radius * r * elong * np.sin(angles)
    xr = x * np.cos(tilt) - y * np.sin(tilt) + cx
    yr = x * np.sin(tilt) + y * np.cos(tilt) + cy
    return np.stack([xr, yr], axis=1)


def _smooth_field(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    coarse = rng.normal(0.0, 1.0, size=(cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def generate(seed: int, size: tuple[int, int] | None = None, spheroids: tuple[int, float, float] | None = None) -> Sample:
    """Draw one image and its mask from ``seed``; ``size`` is (width, height).  ``spheroids`` (count, smallest and
    largest radius in px) draws a field of that many spheroids instead of the usual one to three that fill the frame
    (a plate scan, a stitched well: ``benchmarks/large_images.py``); without it the draws are exactly as ever."""
    rng = np.random.default_rng(seed)
    if size is None:
        w = int(rng.integers(192, 513))
        h = int(np.clip(w * rng.uniform(0.75, 1.33), 192, 512))
    else:
        w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

    # Uneven illumination: a tilted plane plus a low-frequency field.
    base = rng.uniform(40, 90)
    gx, gy = rng.uniform(-30, 30, size=2)
    background = base + gx * (xx / w - 0.5) + gy * (yy / h - 0.5)
    background += 10.0 * _smooth_field(rng, h, w, 4)

    mask = np.zeros((h, w), np.uint8)
    image = background.copy()
    n_blobs = int(rng.choice([1, 1, 1, 2, 2, 3])) if spheroids is None else spheroids[0]
    short = min(w, h)
    for _ in range(n_blobs):
        radius = rng.uniform(0.12, 0.3) * short / np.sqrt(n_blobs) if spheroids is None else rng.uniform(spheroids[1], spheroids[2])
        cx = rng.uniform(radius * 1.1, w - radius * 1.1)
        cy = rng.uniform(radius * 1.1, h - radius * 1.1)
        outline = _blob_outline(rng, cx, cy, radius)
        blob = np.zeros((h, w), np.uint8)
        cv2.fillPoly(blob, [np.round(outline * 16).astype(np.int32)], 255, lineType=cv2.LINE_8, shift=4)
        mask = np.maximum(mask, blob)
        # Spheroids: brighter than the background, brightest at a dense core,
        # with cell-scale texture inside.
        contrast = rng.uniform(45, 110)
        dist = cv2.distanceTransform((blob > 0).astype(np.uint8), cv2.DIST_L2, 5)
        profile = np.clip(dist / max(radius * 0.35, 1.0), 0, 1) ** 0.5
        texture = 1.0 + 0.15 * _smooth_field(rng, h, w, max(8, int(short / 12)))
        image += contrast * profile * texture * (blob > 0)

    # Debris: small bright specks and short fibres outside the truth mask.
    specks = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(0, 12))):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        level = float(rng.uniform(30, 90))
        if rng.random() < 0.7:
            cv2.circle(specks, (x0, y0), int(rng.integers(1, 4)), level, -1)
        else:
            x1 = int(np.clip(x0 + rng.integers(-25, 26), 0, w - 1))
            y1 = int(np.clip(y0 + rng.integers(-25, 26), 0, h - 1))
            cv2.line(specks, (x0, y0), (x1, y1), level, 1)
    image += specks

    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.6, 1.6))
    image += rng.normal(0.0, rng.uniform(3, 12), size=image.shape)
    return Sample(image=np.clip(image, 0, 255).astype(np.uint8), mask=mask)


def to_png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two binary masks (any nonzero value is foreground)."""
    p, t = pred > 0, truth > 0
    union = np.logical_or(p, t).sum()
    return 1.0 if union == 0 else float(np.logical_and(p, t).sum() / union)
