"""Outlines of a mask, and the measurements of each spheroid in it.

``describe`` finds a mask's outlines once and gives both what is drawn (the
simplified outlines) and what is measured (each spheroid), so there is exactly
one measurement per outer outline, and each outline names the spheroid it
belongs to (``docs/api.md``, Measurements).  The
inference server describes each mask it makes; the worker stores the numbers
with the result, and nothing measures them again.

Per spheroid (an outer outline and the holes inside it):

- ``area_px``: the spheroid's pixels (its holes excluded).  Counting pixels is
  exact for the mask; a digital disc of radius r holds pi r^2 pixels to
  within a fraction of a percent once r is ten pixels or more.
- ``perimeter_px``: the length of the outer outline (``outline_length``).  The
  outline runs through the centres of the boundary pixels, half a pixel inside
  the spheroid's edge; moving a closed outline outward by d adds 2 pi d to its
  length, so the perimeter is the outline's length plus pi.  Holes do not count.
- ``equivalent_diameter_px``: the diameter of the disc of the same area.
- ``circularity``: 4 pi area / perimeter^2, 1.0 for a disc (capped at 1.0:
  digitisation can push a small disc a hair above it).
- ``centroid`` ``[x, y]`` and ``bbox`` ``[x, y, w, h]`` of the spheroid's pixels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MIN_OUTLINE_AREA = 4.0  # px^2 of the outline polygon: smaller specks are noise, neither drawn nor measured
SIMPLIFY_EPSILON = 0.75  # px: an outline's points stay within this of the pixel boundary
SMOOTHING = 5  # boundary points averaged to measure an outline's length
DIGITS = 3  # decimals kept of every measurement


def _contours(mask: np.ndarray) -> list[tuple[np.ndarray, bool, int]]:
    """``(every boundary point, external, owner)`` of each outline big enough to count, in OpenCV's order.

    ``owner`` is the position, in OpenCV's list, of the outer outline the contour belongs to: its own for an
    outer outline, its parent's for a hole (``RETR_CCOMP``: two levels, spheroids and the holes in them).
    """
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if hierarchy is None:
        return []
    return [(contour, parent < 0, i if parent < 0 else int(parent))
            for i, (contour, (_next, _prev, _child, parent)) in enumerate(zip(contours, hierarchy[0], strict=True))
            if len(contour) >= 3 and cv2.contourArea(contour) >= MIN_OUTLINE_AREA]


def _drawn(contours: list[tuple[np.ndarray, bool, int]], index_of: dict[int, int]) -> list[dict]:
    """The outlines as the contract gives them: simplified, external (a spheroid) or internal (a hole in one),
    each with the ``index`` of the spheroid it outlines (a hole, the spheroid it is in)."""
    found = []
    for contour, external, owner in contours:
        if owner not in index_of:  # a hole in a speck too small to count
            continue
        simplified = cv2.approxPolyDP(contour, SIMPLIFY_EPSILON, True)
        points = simplified if len(simplified) >= 3 else contour
        found.append({"type": "external" if external else "internal", "spheroid": index_of[owner], "points": points.reshape(-1, 2).tolist()})
    return found


def describe(mask: np.ndarray) -> tuple[list[dict], list[dict]]:
    """``(outlines, spheroids)`` of a 0/255 mask, from one pass over its contours.

    A spheroid has one identity from here on: its measurements and its outlines come from the same contour,
    and each outline names its spheroid's ``index``, so no export has to match them again (by where a
    centroid falls, which a crescent's or two grown-together spheroids' does not).
    """
    contours = _contours(mask)
    spheroids, owners = _measured(mask, contours)
    index_of = {owner: s["index"] for owner, s in zip(owners, spheroids, strict=True)}
    return _drawn(contours, index_of), spheroids


def outline_length(contour: np.ndarray) -> float:
    """The length of a closed pixel outline, its staircase smoothed away.

    Each point is averaged with its neighbours (a window of ``SMOOTHING``
    points): a digital circle's chain of unit and diagonal steps is longer than
    the circle; smoothed, its length is within 1% of the true one from a
    radius of ten pixels up (``tests/unit/test_measure.py``).
    """
    points = contour.reshape(-1, 2).astype(np.float64)
    window = np.arange(SMOOTHING) - SMOOTHING // 2
    smooth = points[(np.arange(len(points))[:, None] + window[None, :]) % len(points)].mean(axis=1)
    return float(np.linalg.norm(np.roll(smooth, -1, axis=0) - smooth, axis=1).sum())


def measure(mask: np.ndarray) -> list[dict]:
    """The measurements of every spheroid of a 0/255 mask, largest first, ``index`` from 1."""
    return _measured(mask, _contours(mask))[0]


def _measured(mask: np.ndarray, contours: list[tuple[np.ndarray, bool, int]]) -> tuple[list[dict], list[int]]:
    """Each spheroid's measurements, largest first, ``index`` from 1; and the outer contour each was made from."""
    labels_count, labels, stats, centroids = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), connectivity=8)
    spheroids = []
    for points, external, owner in contours:
        if not external:
            continue
        x0, y0 = (int(v) for v in points[0][0])
        label = int(labels[y0, x0])  # an outer outline's points lie on its spheroid's pixels
        if not 0 < label < labels_count:  # pragma: no cover - cannot happen for a contour of this mask
            continue
        area = int(stats[label, cv2.CC_STAT_AREA])
        perimeter = outline_length(points) + math.pi
        x, y, w, h = (int(stats[label, k]) for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
        spheroids.append((owner, {
            "area_px": area,
            "perimeter_px": round(perimeter, DIGITS),
            "equivalent_diameter_px": round(math.sqrt(4.0 * area / math.pi), DIGITS),
            "circularity": round(min(1.0, 4.0 * math.pi * area / perimeter**2), DIGITS),
            "centroid": [round(float(c), DIGITS) for c in centroids[label]],
            "bbox": [x, y, w, h],
        }))
    spheroids.sort(key=lambda s: s[1]["area_px"], reverse=True)
    return [{"index": i, **s} for i, (_, s) in enumerate(spheroids, start=1)], [owner for owner, _ in spheroids]


def in_micrometres(spheroid: dict, pixel_size_um: float | None) -> dict:
    """A stored measurement with its ``_um`` fields (null when the project has no pixel size)."""
    if pixel_size_um is None:
        return spheroid | {"area_um2": None, "equivalent_diameter_um": None}
    return spheroid | {
        "area_um2": round(spheroid["area_px"] * pixel_size_um**2, DIGITS),
        "equivalent_diameter_um": round(spheroid["equivalent_diameter_px"] * pixel_size_um, DIGITS),
    }


def decode_mask(png: bytes) -> np.ndarray:
    mask = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise ValueError("the mask is not a PNG")
    return mask
