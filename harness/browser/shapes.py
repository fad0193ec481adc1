"""Verdicts on spheroids of difficult shapes: found whole, and the same in every place a researcher takes them.

Each image of the scenario holds one spheroid whose truth the harness drew (``harness/workloads/shapes.py``).
The mask the service made must cover it in one piece, without holes; then the measurements (JSON), the CSV
the page downloads, the viewer's table and outlines, the GeoJSON for QuPath and the ImageJ ROI set must list
the same spheroids with the same numbers.  The exports are read back with libraries that did not write them:
shapely for the GeoJSON, read-roi for the ROI set.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
import read_roi
from shapely.geometry import shape as geometry_of

from harness.browser.files import scenario_folder
from harness.browser.pages import ResearcherPage
from harness.browser.verdicts import same_number
from harness.report import attach
from harness.researchers.actors import Researcher, UploadedImage
from harness.waiting import BATCH_TIMEOUT_S
from harness.workloads import shapes
from system.contract import CSV_COLUMNS
from system.inference import synthetic

NUMBERS = ("area_px", "perimeter_px", "equivalent_diameter_px", "circularity", "area_um2", "equivalent_diameter_um")


def shape_files(context, label: str, names: list[str]) -> dict[Path, synthetic.Sample]:
    """One PNG per named shape (``harness/workloads/shapes.py``), named after it, in the scenario's folder."""
    folder = scenario_folder(context) / label
    folder.mkdir()
    files = {}
    for name in names:
        sample = shapes.picture(name)
        path = folder / f"{name.replace(' ', '-')}.png"
        path.write_bytes(synthetic.to_png(sample.image))
        files[path] = sample
    return files


def pieces(mask: np.ndarray) -> int:
    """Connected regions of a 0/255 mask (8-connected, as outlines are traced)."""
    return cv2.connectedComponents((mask > 0).astype(np.uint8), connectivity=8)[0] - 1


async def check_found_whole(researcher: Researcher, min_iou: float, area_within: float) -> dict[str, dict]:
    """Each image's spheroid is one outline without holes, its mask within ``min_iou`` of the truth, its measured
    area within ``area_within`` (a fraction) of the truth's."""
    figures, failures = {}, []
    for image in researcher.images:
        mask = await researcher.mask_of(image)
        polygons = (await researcher.api.polygons(image.id))["polygons"]
        spheroids = (await researcher.api.measurements(image.id))["spheroids"]
        truth_area = int((image.truth > 0).sum())
        iou = synthetic.iou(mask, image.truth)
        kinds = [p["type"] for p in polygons]
        area = spheroids[0]["area_px"] if spheroids else 0
        figures[image.filename] = {"iou": round(iou, 4), "outlines": kinds, "spheroids": len(spheroids), "area_px": area,
                                   "truth_area_px": truth_area, "truth_pieces": pieces(image.truth)}
        if pieces(image.truth) != 1 or len(spheroids) != 1 or kinds != ["external"]:
            failures.append(f"{image.filename}: one spheroid drawn; the service found {len(spheroids)} spheroid(s), outlines {kinds}")
        if iou < min_iou:
            failures.append(f"{image.filename}: the mask's IoU with the spheroid is {iou:.3f} < {min_iou}")
        if abs(area - truth_area) > area_within * truth_area:
            failures.append(f"{image.filename}: measured {area} px, the spheroid has {truth_area} px")
    attach.measured("difficult shapes found whole", figures)
    assert not failures, "; ".join(failures)
    return figures


def _rois(data: bytes) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "RoiSet.zip"
        path.write_bytes(data)
        return read_roi.read_roi_zip(str(path))


async def check_image_exports(page: ResearcherPage, researcher: Researcher, image: UploadedImage) -> dict:
    """In the viewer of ``image``: the table, the outlines drawn, the GeoJSON and the ROI set list the spheroids of
    the service's measurements, in its order, with its numbers."""
    body = await researcher.api.measurements(image.id)
    spheroids = body["spheroids"]
    indices = [s["index"] for s in spheroids]
    await page.open_viewer(image.filename)
    rows = await page.spheroid_rows()
    assert [int(r[0]) for r in rows] == indices, f"{image.filename}: the viewer's table lists {[r[0] for r in rows]}, the service {indices}"
    for row, s in zip(rows, spheroids, strict=True):
        shown = dict(zip(("area_px", "perimeter_px", "equivalent_diameter_px", "circularity"), row[1:5], strict=True))
        shown |= dict(zip(("area_um2", "equivalent_diameter_um"), row[7:9], strict=True))
        wrong = {k: (v, s[k]) for k, v in shown.items() if not same_number(v, s[k])}
        assert not wrong, f"{image.filename} spheroid {s['index']} in the viewer: {wrong}"
    drawn = sorted(await page.spheroids_outlined(image.filename))
    assert drawn == sorted(indices), f"{image.filename}: the viewer outlines spheroids {drawn}, the service measured {indices}"

    features = (await page.download_geojson())["features"]
    assert [f["properties"]["index"] for f in features] == indices, f"{image.filename}: the GeoJSON lists {[f['properties']['index'] for f in features]}"
    for feature, s in zip(features, spheroids, strict=True):
        kept = feature["properties"]["measurements"]
        wrong = {k: (kept.get(k), s[k]) for k in NUMBERS if kept.get(k) != s[k]}
        assert not wrong, f"{image.filename} spheroid {s['index']} in the GeoJSON: {wrong}"
        polygon = geometry_of(feature["geometry"])
        # The outline runs through the centres of the spheroid's edge pixels: its area is the pixels' less
        # about half a pixel of its perimeter.
        assert polygon.is_valid and s["area_px"] - s["perimeter_px"] <= polygon.area <= s["area_px"], (
            f"{image.filename} spheroid {s['index']}: the GeoJSON outline encloses {polygon.area:.0f} px², the service measured {s['area_px']}")

    rois = _rois(await page.download_imagej_zip())
    assert list(rois) == [f"spheroid-{i}" for i in indices], f"{image.filename}: the ROI set holds {list(rois)}"
    for feature, s in zip(features, spheroids, strict=True):
        roi = rois[f"spheroid-{s['index']}"]
        ring = np.asarray(feature["geometry"]["coordinates"][0][:-1], dtype=float)
        points = np.stack([roi["x"], roi["y"]], axis=1).astype(float)
        assert roi["type"] == "polygon" and points.shape == ring.shape and np.allclose(points, ring), (
            f"{image.filename} spheroid {s['index']}: the ImageJ ROI and the GeoJSON outline differ")
    return {"spheroids": len(indices), "viewer_rows": len(rows), "features": len(features), "rois": len(rois)}


async def check_every_export(page: ResearcherPage, researcher: Researcher) -> dict:
    """Every image through the viewer, the GeoJSON and the ROI set (above), and the project's CSV from the page:
    one row per spheroid of the service's measurements, with its numbers."""
    await page.wait_all_rows("succeeded", timeout_s=BATCH_TIMEOUT_S)
    figures = {image.filename: await check_image_exports(page, researcher, image) for image in researcher.images}
    expected = []
    for image in researcher.images:
        body = await researcher.api.measurements(image.id)
        expected += [{"image_id": image.id, "filename": image.filename, "model_used": body["model_used"]} | s for s in body["spheroids"]]
    rows = await page.download_measurements()
    assert len(rows) == len(expected), f"the CSV has {len(rows)} rows; the service measured {len(expected)} spheroids"
    for row, want in zip(rows, expected, strict=True):
        for column in CSV_COLUMNS:
            same = row[column] == str(want[column]) if column in ("filename", "model_used") else same_number(row[column], want[column])
            assert same, f"CSV {column} of {want['filename']} spheroid {want['index']}: {row[column]!r}, the service says {want[column]!r}"
    figures["csv_rows"] = len(rows)
    attach.measured("every export lists every spheroid", figures)
    return figures

