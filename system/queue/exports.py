"""A project's results in the forms the lab's tools read (docs/api.md, Exports).

- masks: a ZIP of one PNG mask per segmented image (0 or 255, the image's size), named after the image;
- outlines as GeoJSON (QuPath: File > Import objects): a FeatureCollection in the image's pixel coordinates,
  one Polygon Feature per spheroid - its outer outline, then its holes - with its measurements as properties;
- outlines as an ImageJ ROI set (Fiji: ROI Manager > Open...): a ZIP of one polygon ROI per spheroid, written
  by ``roifile``, named ``spheroid-<index>``.

Each outline names the spheroid whose measurements it goes with (``spheroid``, the measurement's ``index``):
both were made from the same contour (``system/common/measure.py``), so every export lists the same spheroids
whatever their shape - a crescent, two grown together, one cut by the border.  Pure functions of stored
results: the routes (``lab.py``) read them and answer.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import PurePosixPath

import numpy as np
import roifile

from ..common.measure import in_micrometres


def spheroid_shapes(polygons: list[dict], spheroids: list[dict]) -> list[tuple[dict, list, list[list]]]:
    """``(measurements, outer ring, holes)`` per spheroid, in the measurements' order (largest first).

    Each outline names the spheroid it belongs to (``measure.describe`` made both from the same contour), so
    every spheroid measured is here, whatever its shape; one without an outline is an error, never left out.
    """
    outer = {p["spheroid"]: p["points"] for p in polygons if p["type"] == "external"}
    holes: dict[int, list[list]] = {}
    for p in polygons:
        if p["type"] == "internal":
            holes.setdefault(p["spheroid"], []).append(p["points"])
    missing = [s["index"] for s in spheroids if s["index"] not in outer]
    if missing or len(outer) != len(spheroids):
        raise ValueError(f"outlines and measurements disagree: spheroids {missing} have no outline, "
                         f"{len(outer)} outlines for {len(spheroids)} spheroids")
    return [(s, outer[s["index"]], holes.get(s["index"], [])) for s in spheroids]


def _closed(points: list) -> list[list[float]]:
    ring = [[float(x), float(y)] for x, y in points]
    return ring + [ring[0]] if ring and ring[0] != ring[-1] else ring


def geojson(image: dict, polygons: list[dict], spheroids: list[dict], pixel_size_um: float | None) -> dict:
    """One image's spheroids as a GeoJSON FeatureCollection (pixel coordinates, y down, as QuPath reads them)."""
    features = []
    for s, outer, holes in spheroid_shapes(polygons, spheroids):
        figures = in_micrometres(s, pixel_size_um)
        measurements = {k: v for k, v in figures.items() if isinstance(v, int | float) and not isinstance(v, bool) and k != "index"}
        features.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [_closed(outer)] + [_closed(h) for h in holes]},
            "properties": {"objectType": "detection", "name": f"spheroid {s['index']}", "classification": {"name": "Spheroid"},
                           "index": s["index"], "image_id": image["id"], "filename": image["filename"], "measurements": measurements},
        })
    return {"type": "FeatureCollection", "features": features}


def imagej_rois(polygons: list[dict], spheroids: list[dict]) -> bytes:
    """One image's spheroids as an ImageJ ROI set (a ZIP of .roi files): each outer outline a polygon ROI."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for s, outer, _holes in spheroid_shapes(polygons, spheroids):
            roi = roifile.ImagejRoi.frompoints(np.asarray(outer, dtype=np.float32))
            roi.roitype = roifile.ROI_TYPE.POLYGON
            roi.name = f"spheroid-{s['index']}"
            archive.writestr(f"spheroid-{s['index']}.roi", roi.tobytes())
    return out.getvalue()


def mask_names(images: list[dict]) -> dict[int, str]:
    """``<file name without its extension>_mask.png`` per image id; a name two images would share gets the id."""
    names, seen = {}, set()
    for image in images:
        name = f"{PurePosixPath(image['filename']).stem or 'image'}_mask.png"
        if name in seen:
            name = f"{PurePosixPath(image['filename']).stem or 'image'}_{image['id']}_mask.png"
        seen.add(name)
        names[image["id"]] = name
    return names


def masks_zip(results: list[dict]) -> bytes:
    """A ZIP of every segmented image's mask PNG (already compressed: stored as is)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        names = mask_names(results)
        for r in results:
            archive.writestr(names[r["id"]], r["mask_png"])
        archive.writestr("README.txt", "One mask per segmented image: 255 where a spheroid is, 0 elsewhere, the image's size.\n"
                                       "Made by paraseg from each image's latest successful segmentation.\n")
    return out.getvalue()


def geojson_bytes(collection: dict) -> bytes:
    return json.dumps(collection, separators=(",", ":")).encode()
