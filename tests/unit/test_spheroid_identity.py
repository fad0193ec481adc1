"""One spheroid, one identity, from the mask to every export (issue 31).

Each shape below once lost a spheroid from the outlines while the measurements kept it (the exports matched
the two by where a centroid fell).  Now every outline names its spheroid, and each export is read back by a
library that did not write it: shapely for the GeoJSON, read-roi for the ImageJ ROI set.
"""

from __future__ import annotations

import asyncio
import io
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import read_roi
from PIL import Image
from shapely.geometry import shape

from system.common.measure import describe
from system.queue import store
from system.queue.exports import geojson, imagej_rois, spheroid_shapes

H, W = 200, 240


def disc(mask: np.ndarray, x: int, y: int, r: int, value: int = 255) -> np.ndarray:
    cv2.circle(mask, (x, y), r, value, -1)
    return mask


def blank() -> np.ndarray:
    return np.zeros((H, W), np.uint8)


SHAPES = {
    # the centroid of a crescent lies outside it
    "a crescent": lambda: disc(disc(blank(), 110, 100, 60), 128, 100, 58, 0),
    # a horseshoe: a ring open on one side (the mask a big, evenly bright spheroid once got), its centroid in the opening
    "a horseshoe": lambda: cv2.rectangle(disc(disc(blank(), 120, 100, 80), 120, 100, 50, 0), (120, 85), (239, 115), 0, -1),
    # two spheroids grown together are one connected shape: one spheroid, one outline, its measurements whole
    "two grown together": lambda: disc(disc(blank(), 80, 100, 40), 150, 100, 40),
    # two spheroids a pixel apart stay two
    "two a pixel apart": lambda: disc(disc(blank(), 70, 100, 40), 152, 100, 40),
    # cut by the image's border
    "cut by the border": lambda: disc(blank(), 10, 100, 70),
    # a large spheroid whose middle is missing (the failure the issue saw): a ring with a hole, its centroid in the hole
    "a ring": lambda: disc(disc(blank(), 120, 100, 80), 120, 100, 45, 0),
    # a spheroid in another's hole: the outer's centroid lies inside the inner one, which the old matching gave the outer's numbers
    "one inside another's hole": lambda: disc(disc(disc(blank(), 120, 100, 90), 120, 100, 60, 0), 120, 100, 25),
    "a crescent beside a disc and a speck": lambda: disc(disc(disc(disc(blank(), 70, 100, 50), 95, 100, 45, 0), 190, 60, 30), 200, 180, 1),
}


def bounds_match(bounds: tuple[float, float, float, float], bbox: list[int]) -> bool:
    """An outline runs through its boundary pixels' centres (simplified to 0.75 px): its bounds are the bbox's last pixels."""
    x, y, w, h = bbox
    return all(abs(a - b) <= 1.5 for a, b in zip(bounds, (x, y, x + w - 1, y + h - 1), strict=True))


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_export_lists_every_spheroid_with_the_same_numbers(name):
    mask = SHAPES[name]()
    polygons, spheroids = describe(mask)
    indices = [s["index"] for s in spheroids]
    assert indices == list(range(1, len(spheroids) + 1)) and spheroids, spheroids
    assert sorted(p["spheroid"] for p in polygons if p["type"] == "external") == indices
    speck = int((disc(blank(), 200, 180, 1) > 0).sum()) if "speck" in name else 0  # smaller than a spheroid can be: noise
    assert sum(s["area_px"] for s in spheroids) == int((mask > 0).sum()) - speck  # every other pixel belongs to a spheroid

    features = json.loads(json.dumps(geojson({"id": 1, "filename": f"{name}.png"}, polygons, spheroids, 0.5)))["features"]
    assert [f["properties"]["index"] for f in features] == indices
    for f, s in zip(features, spheroids, strict=True):
        geometry = shape(f["geometry"])
        assert geometry.is_valid, (name, s["index"])
        assert bounds_match(geometry.bounds, s["bbox"]), (name, s["index"], geometry.bounds, s["bbox"])
        # the polygon runs half a pixel inside the pixels' edge: its area is the pixels' less about half the boundary
        assert s["area_px"] - s["perimeter_px"] <= geometry.area <= s["area_px"], (name, s["index"], geometry.area, s["area_px"])
        assert f["properties"]["measurements"]["area_px"] == s["area_px"]

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "RoiSet.zip"
        path.write_bytes(imagej_rois(polygons, spheroids))
        rois = read_roi.read_roi_zip(str(path))
    assert list(rois) == [f"spheroid-{i}" for i in indices]
    for s in spheroids:
        roi = rois[f"spheroid-{s['index']}"]
        assert roi["type"] == "polygon"
        assert bounds_match((min(roi["x"]), min(roi["y"]), max(roi["x"]), max(roi["y"])), s["bbox"]), (name, s["index"])


def test_a_ring_is_one_spheroid_with_its_hole_and_the_island_in_it_another():
    polygons, spheroids = describe(SHAPES["one inside another's hole"]())
    shapes = spheroid_shapes(polygons, spheroids)
    assert [(s["index"], len(holes)) for s, _, holes in shapes] == [(1, 1), (2, 0)]
    ring, island = spheroids
    assert ring["area_px"] > island["area_px"] and bounds_match((30, 10, 210, 190), ring["bbox"])


def test_outlines_without_their_spheroid_are_refused_not_left_out():
    polygons, spheroids = describe(SHAPES["two a pixel apart"]())
    with pytest.raises(ValueError, match="have no outline"):
        spheroid_shapes([p for p in polygons if p["spheroid"] != 2], spheroids)


class StoredResult:
    """A connection holding one result, as a store made before outlines named their spheroid left it."""

    def __init__(self, mask: np.ndarray) -> None:
        out = io.BytesIO()
        Image.fromarray(mask).save(out, format="PNG")
        self.mask_png, self.written = out.getvalue(), []

    async def fetchval(self, _query: str, _job: int) -> bytes:
        return self.mask_png

    async def execute(self, _query: str, *args) -> None:
        self.written.append(args)


def test_a_result_stored_before_outlines_named_their_spheroid_is_described_again_once():
    mask = SHAPES["a crescent beside a disc and a speck"]()
    polygons, spheroids = describe(mask)
    old = [{"type": p["type"], "points": p["points"]} for p in polygons]  # as stored before
    conn = StoredResult(mask)
    row = {"job_id": 9, "polygons": json.dumps(old), "measurements": json.dumps(spheroids)}
    got_polygons, got_spheroids = asyncio.run(store.described(conn, row))
    assert got_polygons == polygons and got_spheroids == spheroids
    assert [(job, json.loads(p), json.loads(m)) for job, p, m in conn.written] == [(9, polygons, spheroids)]
    conn.written.clear()
    asyncio.run(store.described(conn, {"job_id": 9, "polygons": json.dumps(polygons), "measurements": json.dumps(spheroids)}))
    assert conn.written == []  # a current result is read as it is
