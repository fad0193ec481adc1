"""Spheroid measurements on shapes whose answers are known (system/common/measure.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from system.common.measure import in_micrometres, measure
from system.inference.preprocess import polygons

SIZE = 400


def ellipse(a: float, b: float, cx: float = 200.0, cy: float = 200.0) -> np.ndarray:
    """A 0/255 mask of the pixels whose centres lie inside the ellipse (semi-axes a along x, b along y)."""
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    return np.where(((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1.0, 255, 0).astype(np.uint8)


def ramanujan_perimeter(a: float, b: float) -> float:
    h = ((a - b) / (a + b)) ** 2
    return math.pi * (a + b) * (1 + 3 * h / (10 + math.sqrt(4 - 3 * h)))


@pytest.mark.parametrize("r", [20, 40, 90])
def test_a_disc(r):
    (disc,) = measure(ellipse(r, r))
    assert disc["area_px"] == pytest.approx(math.pi * r * r, rel=0.01)
    assert disc["equivalent_diameter_px"] == pytest.approx(2 * r, rel=0.01)
    assert disc["perimeter_px"] == pytest.approx(2 * math.pi * r, rel=0.01)
    assert 0.98 <= disc["circularity"] <= 1.0
    assert disc["centroid"] == pytest.approx([200.0, 200.0], abs=0.01)
    assert disc["bbox"] == [200 - r, 200 - r, 2 * r + 1, 2 * r + 1]
    assert disc["index"] == 1


def test_an_ellipse_twice_as_long_as_wide():
    a, b = 120, 60
    (shape,) = measure(ellipse(a, b))
    expected_circularity = 4 * math.pi * (math.pi * a * b) / ramanujan_perimeter(a, b) ** 2  # 0.84
    assert shape["area_px"] == pytest.approx(math.pi * a * b, rel=0.01)
    assert shape["perimeter_px"] == pytest.approx(ramanujan_perimeter(a, b), rel=0.01)
    assert shape["circularity"] == pytest.approx(expected_circularity, abs=0.02)
    assert shape["bbox"][2:] == [2 * a + 1, 2 * b + 1]


def test_a_ring_with_a_hole():
    outer, inner = 100, 40
    ring = ellipse(outer, outer)
    ring[ellipse(inner, inner) > 0] = 0
    (shape,) = measure(ring)  # the hole is not a spheroid of its own
    assert shape["area_px"] == pytest.approx(math.pi * (outer**2 - inner**2), rel=0.01)
    assert shape["perimeter_px"] == pytest.approx(2 * math.pi * outer, rel=0.01), "the hole's edge is not part of the perimeter"
    assert shape["circularity"] == pytest.approx(1 - (inner / outer) ** 2, abs=0.03)
    assert shape["centroid"] == pytest.approx([200.0, 200.0], abs=0.01)
    assert [p["type"] for p in polygons(ring)] == ["external", "internal"]


def test_one_entry_per_outer_outline_largest_first():
    mask = ellipse(30, 30, cx=80, cy=80) | ellipse(60, 40, cx=250, cy=250) | ellipse(1, 1, cx=10, cy=390)  # and a speck
    spheroids = measure(mask)
    externals = [p for p in polygons(mask) if p["type"] == "external"]
    assert len(spheroids) == len(externals) == 2, "the speck is neither drawn nor measured"
    assert [s["index"] for s in spheroids] == [1, 2]
    assert spheroids[0]["area_px"] > spheroids[1]["area_px"]
    assert spheroids[0]["centroid"] == pytest.approx([250.0, 250.0], abs=0.01)


def test_an_empty_mask_has_no_spheroids():
    assert measure(np.zeros((64, 64), np.uint8)) == []


def test_micrometres_from_the_pixel_size():
    (disc,) = measure(ellipse(40, 40))
    scaled = in_micrometres(disc, 0.5)
    assert scaled["area_um2"] == pytest.approx(disc["area_px"] * 0.25, abs=1e-3)
    assert scaled["equivalent_diameter_um"] == pytest.approx(disc["equivalent_diameter_px"] * 0.5, abs=1e-3)
    assert in_micrometres(disc, None) == disc | {"area_um2": None, "equivalent_diameter_um": None}
