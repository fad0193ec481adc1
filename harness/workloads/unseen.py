"""Spheroid micrographs from a generator the models never trained on: the validation set of issue 31.

The training images (``system/inference/synthetic.py``) are star-shaped outlines - a circle perturbed by a
few harmonics - filled with a brightness that rises towards a dense core, on a tilted background.  A model
scored on more of those proves little about a lab's images.  This generator shares none of its code or its
models of shape, light and noise:

- **shape**: the level set of a sum of Gaussian lobes (an implicit surface), so outlines are lobed, flattened
  or bean-like and need not be star-shaped; each spheroid covers 5% to 50% of the field (less each when there
  are several), some are cut by the image's border, and some touch another or sit in a cluster;
- **interior**: evenly bright; a dark necrotic core (part of the spheroid, never a hole); a graded body;
  or phase-contrast-like - a body barely different from the background inside a bright halo;
- **light**: a dark background with bright spheroids, or a bright one with dim spheroids; vignetting;
  multiplicative cell-scale grain;
- **debris** that is never part of the truth: out-of-focus blobs, curved fibres, specks, single cells;
- **optics and sensor**: Gaussian or defocus blur, shot noise that grows with the signal, read noise;
  8-bit or 16-bit (12 bits used) pixels, written as PNG or TIFF.

Seeded: ``specimen(seed)`` is the same image for the same seed on every machine.  The set is committed as
this generator, never as files.  ``VALIDATION_SEEDS`` are the seeds the model-quality benchmark and scenario
use; nothing trains on this module (``system/`` cannot import ``harness/``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

VALIDATION_SEED_BASE = 31_000_000
VALIDATION_IMAGES = 100
VALIDATION_SEEDS = range(VALIDATION_SEED_BASE, VALIDATION_SEED_BASE + VALIDATION_IMAGES)
INTERIORS = ("even", "necrotic core", "graded", "phase halo")


@dataclass(frozen=True)
class Specimen:
    seed: int
    pixels: np.ndarray  # H x W, uint8 or uint16 (12 bits used)
    truth: np.ndarray  # H x W, uint8 0/255: every spheroid, its core included
    file_bytes: bytes  # the pixels as a lab would upload them (PNG or TIFF)
    file_type: str  # "png" or "tiff"
    traits: dict = field(default_factory=dict)  # what was drawn: count, sizes, interiors, border, touching, ...

    @property
    def bits(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8


def _lobed(rng: np.random.Generator, h: int, w: int, cx: float, cy: float, area: float) -> np.ndarray:
    """A filled, lobed spheroid of about ``area`` pixels around (cx, cy): the level set of a sum of Gaussians."""
    radius = np.sqrt(area / np.pi)
    lobes = int(rng.integers(1, 6))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    fieldv = np.zeros((h, w), np.float32)
    for _ in range(lobes):
        offset = rng.uniform(0, 0.45) * radius if lobes > 1 else 0.0
        angle = rng.uniform(0, 2 * np.pi)
        sx, sy = radius * rng.uniform(0.45, 0.75, size=2)
        theta = rng.uniform(0, np.pi)
        dx, dy = xx - (cx + offset * np.cos(angle)), yy - (cy + offset * np.sin(angle))
        u, v = dx * np.cos(theta) + dy * np.sin(theta), -dx * np.sin(theta) + dy * np.cos(theta)
        fieldv += rng.uniform(0.7, 1.0) * np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
    # The level that encloses the wanted area (the field's pixels sorted; capped to what is in the frame).
    values = np.sort(fieldv.ravel())[::-1]
    k = int(np.clip(area, 16, values.size - 1))
    return (fieldv >= max(values[k], 1e-3)).astype(np.uint8) * 255


def _place(rng: np.random.Generator, h: int, w: int, radius: float, placed: list[tuple[float, float, float]],
           cut_by_border: bool, touching: bool) -> tuple[float, float]:
    if touching and placed:
        px, py, pr = placed[int(rng.integers(0, len(placed)))]
        angle = rng.uniform(0, 2 * np.pi)
        distance = (pr + radius) * rng.uniform(0.8, 0.98)
        return px + distance * np.cos(angle), py + distance * np.sin(angle)
    if cut_by_border:  # the centre near (or just past) one edge
        side = int(rng.integers(0, 4))
        along = rng.uniform(0.2, 0.8)
        depth = rng.uniform(-0.3, 0.5) * radius
        return [(depth, along * h), (w - depth, along * h), (along * w, depth), (along * w, h - depth)][side]
    return rng.uniform(radius, max(radius + 1, w - radius)), rng.uniform(radius, max(radius + 1, h - radius))


def _grain(rng: np.random.Generator, h: int, w: int, cell_px: float) -> np.ndarray:
    """Multiplicative cell-scale grain: lognormal values on a grid of about ``cell_px``, smoothed."""
    gh, gw = max(2, int(h / cell_px)), max(2, int(w / cell_px))
    coarse = rng.lognormal(0.0, 0.18, size=(gh, gw)).astype(np.float32)
    return cv2.GaussianBlur(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_NEAREST), (0, 0), cell_px / 3)


def _body(rng: np.random.Generator, blob: np.ndarray, interior: str, contrast: float, h: int, w: int) -> np.ndarray:
    """The light a spheroid adds to the background (may be negative inside a phase-contrast body)."""
    inside = blob > 0
    dist = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 3)
    depth = dist / max(float(dist.max()), 1.0)  # 0 at the edge, 1 at the deepest point
    edge = np.clip(dist / rng.uniform(1.5, 4.0), 0, 1)  # how sharply the body rises at its edge
    if interior == "even":
        light = contrast * edge
    elif interior == "necrotic core":
        core = np.clip((depth - rng.uniform(0.35, 0.6)) / 0.15, 0, 1)  # a dark middle, fading in
        light = contrast * edge * (1 - rng.uniform(0.55, 0.9) * core)
    elif interior == "graded":
        light = contrast * edge * (0.55 + 0.45 * depth ** rng.uniform(0.6, 1.5))
    else:  # phase halo: a bright ring just outside, a dark band just inside, a body near the background's level
        outside = cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 3)
        ring = rng.uniform(2.0, 5.0)
        halo = np.exp(-((outside - ring * 0.6) / ring) ** 2) * (~inside)
        band = np.exp(-(dist / ring) ** 2) * inside
        return contrast * (1.1 * halo - 0.5 * band + 0.25 * inside * edge)
    return light * inside * _grain(rng, h, w, rng.uniform(4, 10))


def _debris(rng: np.random.Generator, h: int, w: int, level: float) -> np.ndarray:
    out = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(0, 10))):
        kind = rng.choice(["blob", "fibre", "speck", "cell"], p=[0.25, 0.2, 0.35, 0.2])
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        strength = level * rng.uniform(0.3, 0.9)
        if kind == "blob":  # out of focus: soft, faint
            spot = np.zeros((h, w), np.float32)
            cv2.circle(spot, (x, y), int(rng.integers(4, 12)), strength * 0.6, -1)
            out += cv2.GaussianBlur(spot, (0, 0), rng.uniform(3, 7))
        elif kind == "fibre":
            points = np.cumsum(rng.normal(0, 6, size=(8, 2)), axis=0) + (x, y)
            cv2.polylines(out, [points.astype(np.int32)], False, strength, 1, cv2.LINE_AA)
        elif kind == "speck":
            cv2.circle(out, (x, y), int(rng.integers(1, 3)), strength, -1)
        else:  # a single cell that left the spheroid
            cv2.circle(out, (x, y), int(rng.integers(3, 6)), strength * 0.8, -1)
    return out


def specimen(seed: int) -> Specimen:
    """One validation image and its truth, drawn from ``seed``."""
    rng = np.random.default_rng([31, seed])
    w = int(rng.integers(200, 641))
    h = int(np.clip(w * rng.uniform(0.7, 1.4), 180, 640))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bright_background = rng.random() < 0.3
    level = rng.uniform(130, 190) if bright_background else rng.uniform(15, 70)
    vignette = 1 - rng.uniform(0, 0.35) * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2) * 2
    background = level * vignette * (1 + rng.uniform(-0.15, 0.15) * (xx / w - 0.5))
    light = background.copy()

    count = int(rng.choice([1, 1, 2, 2, 3]))
    largest = {1: 0.5, 2: 0.25, 3: 0.15}[count]
    truth = np.zeros((h, w), np.uint8)
    placed: list[tuple[float, float, float]] = []
    drawn = []
    for i in range(count):
        fraction = rng.uniform(0.05, largest)
        area = fraction * h * w
        radius = np.sqrt(area / np.pi)
        cut, touching = rng.random() < 0.3, i > 0 and rng.random() < 0.5
        cx, cy = _place(rng, h, w, radius, placed, cut, touching)
        blob = _lobed(rng, h, w, cx, cy, area)
        if not blob.any():
            continue
        interior = str(rng.choice(INTERIORS, p=[0.3, 0.25, 0.25, 0.2]))
        contrast = rng.uniform(18, 40) if bright_background else rng.uniform(40, 150)
        body, inside = _body(rng, blob, interior, contrast, h, w), blob > 0
        light = np.where(inside, background + body, light + body * ~inside)  # it covers what it lies on; a halo adds outside
        truth = np.maximum(truth, blob)
        placed.append((cx, cy, radius))
        drawn.append({"fraction": round(float((blob > 0).mean()), 3), "interior": interior, "cut_by_border": bool(
            blob[0].any() or blob[-1].any() or blob[:, 0].any() or blob[:, -1].any()), "touching": bool(touching)})
    light = light + _debris(rng, h, w, max(level, 60.0) * (0.5 if bright_background else 1.0))

    if rng.random() < 0.5:
        light = cv2.GaussianBlur(light, (0, 0), rng.uniform(0.5, 2.5))
    else:  # defocus: a disc kernel
        r = int(rng.integers(1, 4))
        kernel = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
        cv2.circle(kernel, (r, r), r, 1.0, -1)
        light = cv2.filter2D(light, -1, kernel / kernel.sum())
    sixteen = rng.random() < 0.35
    scale = 4095 / 255 if sixteen else 1.0  # a 12-bit sensor in 16-bit words
    signal = np.clip(light, 0, None) * scale
    gain = rng.uniform(0.2, 1.0) * scale  # shot noise: variance grows with the signal
    noisy = rng.poisson(signal / gain) * gain + rng.normal(0, rng.uniform(1, 5) * scale, size=signal.shape)
    pixels = np.clip(noisy, 0, 4095 if sixteen else 255).astype(np.uint16 if sixteen else np.uint8)
    file_type = str(rng.choice(["png", "tiff"])) if sixteen else "png"
    traits = {"width": w, "height": h, "bits": 16 if sixteen else 8, "bright_background": bool(bright_background), "spheroids": drawn}
    return Specimen(seed, pixels, truth, encode(pixels, file_type), file_type, traits)


def encode(pixels: np.ndarray, file_type: str) -> bytes:
    out = io.BytesIO()
    image = Image.fromarray(pixels)
    image.save(out, format="TIFF" if file_type == "tiff" else "PNG")
    return out.getvalue()


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two masks (nonzero is foreground); 1.0 when both are empty."""
    p, t = pred > 0, truth > 0
    union = np.logical_or(p, t).sum()
    return 1.0 if union == 0 else float(np.logical_and(p, t).sum() / union)


def side_by_side(s: Specimen, mask: np.ndarray) -> np.ndarray:
    """The image (stretched to 8 bits), the truth and a mask side by side, the mask's errors in colour (BGR):
    what a reader of the report or the benchmark's pictures looks at to see what fails."""
    gray = s.pixels.astype(np.float32)
    lo, hi = np.percentile(gray, (0.5, 99.5))
    shown = np.clip((gray - lo) / max(hi - lo, 1.0) * 255, 0, 255).astype(np.uint8)
    errors = np.dstack([mask, mask, mask])
    errors[(mask > 0) & (s.truth == 0)] = (0, 0, 255)  # outlined but not a spheroid: red
    errors[(mask == 0) & (s.truth > 0)] = (255, 128, 0)  # a spheroid left out: blue
    gap = np.full((s.pixels.shape[0], 6, 3), 128, np.uint8)
    return np.hstack([cv2.cvtColor(shown, cv2.COLOR_GRAY2BGR), gap, cv2.cvtColor(s.truth, cv2.COLOR_GRAY2BGR), gap, errors])

