"""The display rendition of microscope files, and the exports' shapes (system/common/display.py, system/queue/exports.py)."""

from __future__ import annotations

import io
import json
import zipfile

import cv2
import numpy as np
import roifile
from PIL import Image

from system.common.display import STRETCH_PERCENTILES, render
from system.common.images import inspect_pages
from system.common.measure import describe
from system.queue.exports import geojson, imagej_rois, mask_names, masks_zip, spheroid_shapes


def tiff(pages: list[np.ndarray]) -> bytes:
    frames = [Image.fromarray(p) for p in pages]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=len(frames) > 1, append_images=frames[1:])
    return out.getvalue()


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_an_8_bit_png_is_shown_as_it_was_uploaded():
    data = png(np.arange(64, dtype=np.uint8).reshape(8, 8))
    shown = render(data)
    assert (shown.data, shown.content_type, shown.header()) == (data, "image/png", "none")


def test_a_12_bit_tiff_is_stretched_between_its_percentiles_and_keeps_its_size():
    values = np.tile(np.linspace(0, 4095, 200), (50, 1)).astype(np.uint16)  # 200 x 50, a ramp to 4095
    shown = render(tiff([values]))
    pixels = decoded(shown.data)
    lo, hi = np.percentile(values, STRETCH_PERCENTILES)
    assert shown.content_type == "image/png" and pixels.shape == values.shape and pixels.dtype == np.uint8
    assert pixels.min() == 0 and pixels.max() == 255 and np.all(np.diff(pixels[0].astype(int)) >= 0)  # order kept
    assert shown.stretch == (float(lo), float(hi)) and shown.header() == f"linear; p0.5={lo:g}; p99.5={hi:g}"


def test_a_few_hot_pixels_do_not_wash_the_picture_out():
    values = np.full((100, 100), 1000, np.uint16)
    values[:, 50:] = 2000
    values[0, :5] = 65535  # five hot pixels of ten thousand
    pixels = decoded(render(tiff([values])).data)
    assert pixels[50, 10] == 0 and pixels[50, 90] == 255  # the two halves span the range, not the hot pixels


def test_a_multi_page_tiff_shows_and_measures_its_first_page():
    first, second = np.zeros((40, 60), np.uint16), np.full((40, 60), 4095, np.uint16)
    first[10:30, 20:40] = 4095
    data = tiff([first, second, second])
    assert inspect_pages(data) == ("TIFF", 60, 40, 3)
    pixels = decoded(render(data).data)
    assert pixels[20, 30] == 255 and pixels[0, 0] == 0  # the first page's square, not the white second page


def test_an_8_bit_tiff_is_converted_without_a_stretch():
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    shown = render(tiff([values]))
    assert shown.stretch is None and np.array_equal(decoded(shown.data), values)


def two_spheroids() -> tuple[list[dict], list[dict]]:
    mask = np.zeros((100, 120), np.uint8)
    cv2.circle(mask, (30, 30), 20, 255, -1)
    cv2.circle(mask, (30, 30), 6, 0, -1)  # a hole at its centre: its centroid lies in the hole
    cv2.circle(mask, (90, 60), 15, 255, -1)
    return describe(mask)


def test_each_spheroid_gets_its_own_outline_and_holes():
    polygons, spheroids = two_spheroids()
    shapes = spheroid_shapes(polygons, spheroids)
    assert [(s["index"], len(holes)) for s, _, holes in shapes] == [(1, 1), (2, 0)]
    for s, outer, _ in shapes:
        xs, ys = [p[0] for p in outer], [p[1] for p in outer]
        x, y, w, h = s["bbox"]
        assert abs(min(xs) - x) <= 1 and abs(max(xs) - (x + w - 1)) <= 1 and abs(min(ys) - y) <= 1 and abs(max(ys) - (y + h - 1)) <= 1


def test_the_geojson_has_one_closed_polygon_per_spheroid_with_its_measurements():
    polygons, spheroids = two_spheroids()
    collection = json.loads(json.dumps(geojson({"id": 7, "filename": "a.tif"}, polygons, spheroids, 0.5)))
    assert [f["properties"]["name"] for f in collection["features"]] == ["spheroid 1", "spheroid 2"]
    first = collection["features"][0]
    assert len(first["geometry"]["coordinates"]) == 2  # the outline and its hole
    assert all(ring[0] == ring[-1] for ring in first["geometry"]["coordinates"])
    assert first["properties"]["measurements"]["area_um2"] == round(spheroids[0]["area_px"] * 0.25, 3)


def test_the_imagej_set_holds_one_polygon_roi_per_spheroid():
    polygons, spheroids = two_spheroids()
    with zipfile.ZipFile(io.BytesIO(imagej_rois(polygons, spheroids))) as archive:
        rois = [roifile.ImagejRoi.frombytes(archive.read(n)) for n in archive.namelist()]
    assert [r.name for r in rois] == ["spheroid-1", "spheroid-2"] and all(r.roitype == roifile.ROI_TYPE.POLYGON for r in rois)


def test_mask_names_follow_the_images_and_never_collide():
    images = [{"id": 1, "filename": "well A1.tif"}, {"id": 2, "filename": "well A1.png"}, {"id": 3, "filename": "b"}]
    assert mask_names(images) == {1: "well A1_mask.png", 2: "well A1_2_mask.png", 3: "b_mask.png"}
    with zipfile.ZipFile(io.BytesIO(masks_zip([dict(i, mask_png=b"png") for i in images]))) as archive:
        assert sorted(archive.namelist()) == ["README.txt", "b_mask.png", "well A1_2_mask.png", "well A1_mask.png"]
