"""A large field of small spheroids, segmented at the scale the networks learnt.

Every network sees ``INPUT_SIZE`` x ``INPUT_SIZE`` pixels and was trained on
micrographs of 192-512 px, whose spheroids span a fifth to a half of the frame.
Shrinking a whole image to the input works as long as its spheroids grow with
it (a finer camera on the same field: ``benchmarks/large_images.py`` measures
IoU 0.98 at 4096 x 3072).  A large field of many small spheroids (a plate scan,
a stitched well) does not: shrunk 16-fold, each spheroid is a few input
pixels, and the outlines come back blocky and merged (IoU 0.46 at 2048 x 1536,
0.18 at 4096 x 3072).

So the server first segments the whole image (one pass).  When the image is
at least ``2 * WORK_SIDE`` on its short side and that pass finds no spheroid,
or finds them narrower than ``SMALL_IN_INPUT`` input pixels, it segments the
image again in overlapping windows of ``WORK_SIDE`` px (the training images'
scale), each shrunk to the input like a training image and standardised with
the whole image's statistics (a window of bare background is not stretched
into one full of spheroids), and blends the windows' logits (weights ramping
over the overlap, so no seam shows) into one map at the image's resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

WORK_SIDE = 384  # px of the image one window covers
OVERLAP = 128  # px two neighbouring windows share
SMALL_IN_INPUT = 16.0  # a spheroid narrower than this, in input pixels of the whole-image pass, is drawn too coarsely


@dataclass(frozen=True)
class Window:
    x: int
    y: int
    side: int


def logit_cut(threshold: float) -> float:
    return float(np.log(threshold / (1.0 - threshold)))  # sigmoid(x) > t  <=>  x > logit(t)


def needs_windows(coarse_logits: torch.Tensor, height: int, width: int, threshold: float) -> bool:
    """Whether the whole-image pass (1 x S x S logits) drew this image's spheroids too coarsely to trust."""
    if min(height, width) < 2 * WORK_SIDE:
        return False
    small = (coarse_logits.detach().float().cpu().numpy()[0] > logit_cut(threshold)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(small, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if count <= 1:
        return True  # nothing at this scale: look closer
    return math.sqrt(4 * float(np.median(areas)) / math.pi) < SMALL_IN_INPUT


def _starts(length: int) -> list[int]:
    if length <= WORK_SIDE:
        return [0]
    stride = WORK_SIDE - OVERLAP
    starts = list(range(0, length - WORK_SIDE, stride))
    return starts + [length - WORK_SIDE]


def windows(height: int, width: int) -> list[Window]:
    """Overlapping windows of ``WORK_SIDE`` covering the image, the last of each row and column flush with its edge."""
    side = min(WORK_SIDE, height, width)
    return [Window(x, y, side) for y in _starts(height) for x in _starts(width)]


def inputs(gray: np.ndarray, wins: list[Window], size: int) -> list[torch.Tensor]:
    """Each window shrunk to ``size`` x ``size``, standardised with the whole image's mean and spread."""
    mean, std = float(gray.mean()), max(float(gray.std()), 1.0)
    out = []
    for w in wins:
        crop = gray[w.y:w.y + w.side, w.x:w.x + w.side].astype(np.float32)
        small = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
        out.append(torch.from_numpy((small - mean) / std)[None])
    return out


def _ramp(side: int) -> np.ndarray:
    """1 in the middle, falling linearly to near 0 over the overlap at both ends."""
    edge = np.minimum(np.arange(side) + 1, np.arange(side)[::-1] + 1).astype(np.float32)
    return np.minimum(1.0, edge / OVERLAP)


def blend(logits: list[torch.Tensor], wins: list[Window], height: int, width: int) -> np.ndarray:
    """The windows' logits (each 1 x S x S) as one H x W map: each resized to its window, weighted, averaged.

    The windows form a grid and each one's weight is a product of a ramp down the rows and one across the
    columns, so the sum of the weights is a product too: it is divided out one axis at a time, never held as
    a map of its own (a 4096 x 3072 image's working memory is its one float map)."""
    total = np.zeros((height, width), np.float32)
    for out, w in zip(logits, wins, strict=True):
        big = cv2.resize(out.detach().float().cpu().numpy()[0], (w.side, w.side), interpolation=cv2.INTER_LINEAR)
        ramp = _ramp(w.side)
        big *= ramp[:, None]
        big *= ramp[None, :]
        total[w.y:w.y + w.side, w.x:w.x + w.side] += big
    side = wins[0].side
    rows, cols = np.zeros(height, np.float32), np.zeros(width, np.float32)
    for y in sorted({w.y for w in wins}):
        rows[y:y + side] += _ramp(side)
    for x in sorted({w.x for w in wins}):
        cols[x:x + side] += _ramp(side)
    total /= np.maximum(rows, 1e-6)[:, None]
    total /= np.maximum(cols, 1e-6)[None, :]
    return total


def mask_of(full_logits: np.ndarray, threshold: float) -> np.ndarray:
    """0/255, one byte a pixel (no wider array on the way)."""
    mask = (full_logits > logit_cut(threshold)).view(np.uint8)
    mask *= 255
    return mask
