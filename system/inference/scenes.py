"""Training scenes: the variety of a lab's spheroid images, for the networks to learn from.

``synthetic.py`` draws one kind of micrograph: one to three bright, star-shaped spheroids, brightest at a
dense core, well inside a dark, tilted field.  Networks trained on it alone leave the middle of a large,
evenly bright spheroid out (a ring of mask), miss what the border cuts, and do not know a phase-contrast body
or a dark necrotic core.  This module draws what those images lack, with models of its own:

- **shape**: harmonic outlines merged with satellite lobes, warped by a smooth displacement field (beans,
  kidneys, lobed clusters), now and then bitten by another outline into a crescent; one spheroid covers 2% to
  60% of the field, several fewer each;
- **placement**: anywhere, the centre possibly beyond the border (a cut spheroid), or pressed against
  another (touching pairs and clusters, their contact inside both);
- **interior** (the truth is always the whole body): a plateau, a dense core, a dark necrotic core, a
  graded body, strong texture, or a phase-contrast rendering - a ring of light around a body near the
  background's level (a difference of blurred copies of the body);
- **polarity and light**: bright bodies on a dark field, dim ones on a bright field, dark bodies on a bright
  field (bright-field optics); tilted, patchy and vignetted illumination;
- **debris** that is never truth: specks, fibres, soft out-of-focus blobs, single cells, dark particles;
- **optics and sensor**: Gaussian or disc blur, signal-dependent and read noise, and 16-bit frames reduced
  to 8 bits by the same stretch an upload gets (``common.images.stretch_to_8bit``).

Seeded: ``generate(seed)`` is the same sample on every machine.  The validation set that judges the trained
networks (``harness/workloads/unseen.py``) is another generator again, sharing no code with this one.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..common.images import stretch_to_8bit
from .synthetic import Sample

INTERIORS = ("plateau", "dense core", "necrotic core", "graded", "textured", "phase contrast")
_INTERIOR_P = (0.2, 0.12, 0.2, 0.14, 0.1, 0.24)


def _smooth(rng: np.random.Generator, h: int, w: int, cells: int, amplitude: float) -> np.ndarray:
    coarse = rng.normal(0.0, amplitude, size=(max(2, cells), max(2, cells))).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def _outline(rng: np.random.Generator, cx: float, cy: float, r: float, points: int = 120) -> np.ndarray:
    """A closed outline around (cx, cy): a circle with random low harmonics, an ellipse's aspect and a tilt."""
    t = np.linspace(0.0, 2.0 * np.pi, points, endpoint=False)
    radius = np.ones_like(t)
    for k in range(2, 7):
        radius += rng.uniform(0.0, 0.22 / k) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    aspect, tilt = rng.uniform(0.6, 1.0), rng.uniform(0, np.pi)
    x, y = r * radius * np.cos(t), r * radius * aspect * np.sin(t)
    return np.stack([x * np.cos(tilt) - y * np.sin(tilt) + cx, x * np.sin(tilt) + y * np.cos(tilt) + cy], axis=1)


def _fill(shape: tuple[int, int], outline: np.ndarray) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [np.round(outline * 16).astype(np.int32)], 255, lineType=cv2.LINE_8, shift=4)
    return out


def _body(rng: np.random.Generator, h: int, w: int, cx: float, cy: float, r: float) -> np.ndarray:
    """A filled spheroid of radius about ``r``: lobes merged, warped, sometimes bitten into a crescent."""
    body = _fill((h, w), _outline(rng, cx, cy, r))
    for _ in range(int(rng.choice([0, 0, 1, 2, 3]))):
        a, d = rng.uniform(0, 2 * np.pi), r * rng.uniform(0.3, 0.7)
        body |= _fill((h, w), _outline(rng, cx + d * np.cos(a), cy + d * np.sin(a), r * rng.uniform(0.35, 0.7)))
    if rng.random() < 0.6:  # a smooth warp: the outline need not be star-shaped any more
        strength = r * rng.uniform(0.1, 0.3)
        cells = int(rng.integers(3, 6))
        dx, dy = _smooth(rng, h, w, cells, strength), _smooth(rng, h, w, cells, strength)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        body = cv2.remap(body, xx + dx, yy + dy, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if rng.random() < 0.1:  # a crescent or a horseshoe: another outline bites into it
        a = rng.uniform(0, 2 * np.pi)
        d = r * rng.uniform(0.5, 0.9)
        bite = _fill((h, w), _outline(rng, cx + d * np.cos(a), cy + d * np.sin(a), r * rng.uniform(0.5, 0.8)))
        bitten = body & ~bite
        if (bitten > 0).sum() > 0.35 * (body > 0).sum():
            body = bitten
    return body


def _grain(rng: np.random.Generator, h: int, w: int, cell: float, spread: float) -> np.ndarray:
    gh, gw = max(2, int(h / cell)), max(2, int(w / cell))
    return cv2.resize(rng.gamma(1 / spread**2, spread**2, size=(gh, gw)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)


def _light(rng: np.random.Generator, inside: np.ndarray, interior: str, contrast: float, h: int, w: int) -> np.ndarray:
    """The light one spheroid adds to the field, inside and (for phase contrast) around it."""
    dist = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 5)
    deepest = max(float(dist.max()), 1.0)
    rise = np.clip(dist / rng.uniform(0.8, 5.0), 0, 1)  # how sharply the body rises at its edge
    depth = dist / deepest
    if interior == "phase contrast":
        m = inside.astype(np.float32)
        s1, s2 = rng.uniform(1.0, 3.0), rng.uniform(3.0, 8.0)
        ring = cv2.GaussianBlur(m, (0, 0), s1) - cv2.GaussianBlur(m, (0, 0), s2)  # + just inside, - just outside
        halo = -ring * (1 - m) * rng.uniform(1.5, 3.0)  # bright outside the edge
        rim = ring * m * rng.uniform(-2.0, 1.0)  # inside the edge: dark or bright
        level = rng.uniform(-0.15, 0.3) * m * rise  # the body: near the background
        return abs(contrast) * (halo + rim + level)
    if interior == "plateau":
        shape = rise
    elif interior == "dense core":
        shape = rise * (0.45 + 0.55 * np.clip(depth / rng.uniform(0.3, 0.8), 0, 1) ** 0.7)
    elif interior == "necrotic core":
        core = np.clip((depth - rng.uniform(0.25, 0.65)) / rng.uniform(0.05, 0.25), 0, 1)
        shape = rise * (1 - rng.uniform(0.5, 1.0) * core)
    elif interior == "graded":
        shape = rise * (rng.uniform(0.3, 0.7) + rng.uniform(0.3, 0.7) * depth)
    else:  # textured: strong cell-scale structure
        shape = rise * _grain(rng, h, w, rng.uniform(3, 8), 0.35)
    return contrast * shape * inside * _grain(rng, h, w, rng.uniform(2, 12), rng.uniform(0.03, 0.2))


def _debris(rng: np.random.Generator, h: int, w: int, level: float, truth: np.ndarray) -> np.ndarray:
    """Things in the field that are not spheroids, mostly outside them."""
    out = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(0, 14))):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if truth[y, x] and rng.random() < 0.7:
            continue
        amp = level * rng.uniform(0.2, 1.0) * (-1 if rng.random() < 0.25 else 1)
        kind = rng.integers(0, 5)
        if kind == 0:  # speck
            cv2.circle(out, (x, y), int(rng.integers(1, 4)), amp, -1)
        elif kind == 1:  # fibre: a smooth random walk
            steps = np.cumsum(rng.normal(0, 5, size=(int(rng.integers(4, 14)), 2)), axis=0) + (x, y)
            cv2.polylines(out, [steps.astype(np.int32)], False, amp, int(rng.integers(1, 3)), cv2.LINE_AA)
        elif kind == 2:  # out of focus
            spot = np.zeros((h, w), np.float32)
            cv2.circle(spot, (x, y), int(rng.integers(3, 14)), amp * 0.5, -1)
            out += cv2.GaussianBlur(spot, (0, 0), rng.uniform(2, 8))
        elif kind == 3:  # a single cell with a rim
            rr = int(rng.integers(2, 7))
            cv2.circle(out, (x, y), rr, amp * 0.6, -1)
            cv2.circle(out, (x, y), rr, amp, 1)
        else:  # a clump of a few cells
            for _ in range(int(rng.integers(2, 6))):
                cv2.circle(out, (x + int(rng.integers(-6, 7)), y + int(rng.integers(-6, 7))), int(rng.integers(2, 4)), amp * 0.7, -1)
    return out


def _place(rng: np.random.Generator, h: int, w: int, r: float, placed: list[tuple[float, float, float]]) -> tuple[float, float]:
    roll = rng.random()
    if placed and roll < 0.45:  # pressed against one already there
        px, py, pr = placed[int(rng.integers(0, len(placed)))]
        a = rng.uniform(0, 2 * np.pi)
        d = (pr + r) * rng.uniform(0.75, 1.0)
        return px + d * np.cos(a), py + d * np.sin(a)
    if roll < 0.75:  # at the border, possibly mostly beyond it
        depth, along = rng.uniform(-0.5, 0.8) * r, rng.uniform(0.1, 0.9)
        return [(depth, along * h), (w - depth, along * h), (along * w, depth), (along * w, h - depth)][int(rng.integers(0, 4))]
    return rng.uniform(r * 0.9, max(r, w - r * 0.9)), rng.uniform(r * 0.9, max(r, h - r * 0.9))


def generate(seed: int) -> Sample:
    """One training scene and its truth (every spheroid's whole body), drawn from ``seed``."""
    rng = np.random.default_rng([7, seed])
    w = int(rng.integers(160, 704))
    h = int(np.clip(w * rng.uniform(0.65, 1.5), 160, 704))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

    polarity = rng.choice(["bright on dark", "dim on bright", "dark on bright"], p=[0.55, 0.25, 0.2])
    level = rng.uniform(8, 90) if polarity == "bright on dark" else rng.uniform(110, 220)
    tilt = rng.uniform(-0.3, 0.3, size=2)
    vignette = 1 - rng.uniform(0, 0.4) * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2) * 2
    background = level * vignette * (1 + tilt[0] * (xx / w - 0.5) + tilt[1] * (yy / h - 0.5))
    background *= 1 + _smooth(rng, h, w, int(rng.integers(2, 6)), rng.uniform(0, 0.08))
    field = background.copy()

    count = int(rng.choice([1, 1, 1, 2, 2, 3, 4]))
    largest = {1: 0.6, 2: 0.3, 3: 0.18, 4: 0.14}[count]
    truth = np.zeros((h, w), np.uint8)
    placed: list[tuple[float, float, float]] = []
    for _ in range(count):
        r = float(np.sqrt(rng.uniform(0.02, largest) * h * w / np.pi))
        cx, cy = _place(rng, h, w, r, placed)
        body = _body(rng, h, w, cx, cy, r)
        if (body > 0).sum() < 30:
            continue
        inside = body > 0
        interior = str(rng.choice(INTERIORS, p=_INTERIOR_P))
        if polarity == "bright on dark":
            contrast = rng.uniform(25, 160)
        elif polarity == "dim on bright":
            contrast = rng.uniform(14, 60)
        else:
            contrast = -rng.uniform(20, min(level * 0.8, 130))
        light = _light(rng, inside, interior, contrast, h, w)
        if rng.random() < 0.7:  # it covers what lies beneath (a touching neighbour's edge), else the light adds up
            field = np.where(inside, background + light, field + light * ~inside)
        else:
            field = field + light
        truth |= body
        placed.append((cx, cy, r))
    field += _debris(rng, h, w, max(level, 50.0) * (0.5 if polarity != "bright on dark" else 1.0), truth)

    if rng.random() < 0.6:
        field = cv2.GaussianBlur(field, (0, 0), rng.uniform(0.3, 3.0))
    else:
        k = int(rng.integers(1, 5))
        disc = np.zeros((2 * k + 1, 2 * k + 1), np.float32)
        cv2.circle(disc, (k, k), k, 1.0, -1)
        field = cv2.filter2D(field, -1, disc / disc.sum())
    field = np.clip(field, 0, None)
    gain = rng.uniform(0.05, 1.2)
    noisy = rng.poisson(field / gain).astype(np.float32) * gain + rng.normal(0, rng.uniform(0.5, 6), size=field.shape)
    if rng.random() < 0.35:  # a 12-bit camera: 16-bit words, reduced to 8 bits as an upload is
        pixels = stretch_to_8bit(np.clip(noisy * (4095 / 255), 0, 4095).astype(np.uint16).astype(np.float32))
    else:
        pixels = np.clip(noisy, 0, 255).astype(np.uint8)
    return Sample(image=pixels, mask=truth)
