"""Verdicts on a researcher's day in the page: a reload, microscope files, exports, the project overview.

Each compares what the page shows or hands over with what the service says
(its routes) and, where the harness drew the images, with the truth.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import numpy as np
import roifile
from PIL import Image

from harness.browser.pages import ResearcherPage
from harness.report import attach
from harness.researchers.actors import Researcher
from harness.waiting import BATCH_TIMEOUT_S
from system.inference import synthetic


def hash_of(url: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in urlsplit(url).fragment.split("&") if "=" in part)


async def check_link_reopens(page: ResearcherPage, researcher: Researcher) -> dict:
    """Open an image in the viewer: the address names the project and the image, and after a reload the page
    shows the same project with the viewer on the same image and its outlines."""
    image = researcher.images[-1]
    await page.open_viewer(image.filename)
    named = hash_of(page.address())
    assert named == {"project": str(researcher.project_id), "image": str(image.id)}, f"the address names {named}"
    await page.reload()
    await page.outlines(image.filename).wait_for()
    assert await page.project_title() == (await researcher.api.projects())[-1]["name"]
    drawn = await page.outlines_drawn(image.filename)
    found = [p["type"] for p in (await researcher.api.polygons(image.id))["polygons"]]
    assert drawn == found, f"after the reload the viewer draws {drawn}; the service found {found}"
    return named


async def check_microscope_images(page: ResearcherPage, researcher: Researcher) -> dict[str, dict]:
    """Each image, in the viewer: shown at its own size (the browser could show the picture), with the outlines the
    service found drawn over it; and its mask's IoU with the truth.  Returns the figures by file name."""
    await page.wait_all_rows("succeeded", timeout_s=BATCH_TIMEOUT_S)
    figures = {}
    for image in researcher.images:
        await page.open_viewer(image.filename)
        shown = await page.shown_size(image.filename)
        assert shown == (image.width, image.height), f"{image.filename}: the viewer shows {shown[0]} x {shown[1]}, the image is {image.width} x {image.height}"
        drawn = await page.outlines_drawn(image.filename)
        found = [p["type"] for p in (await researcher.api.polygons(image.id))["polygons"]]
        assert found and drawn == found, f"{image.filename}: drawn {drawn}; the service found {found}"
        display = await researcher.api.request("GET", f"/api/images/{image.id}/display")
        figures[image.filename] = {"shown": list(shown), "outlines": len(drawn), "iou": round(synthetic.iou(await researcher.mask_of(image), image.truth), 3),
                                   "display": display.headers.get("Content-Type"), "stretch": display.headers.get("X-Display-Stretch")}
    attach.measured("microscope files in the viewer", figures)
    return figures


async def check_pages_listed(page: ResearcherPage, researcher: Researcher, pages: int) -> None:
    """The image with ``pages`` pages is listed and viewed as page 1 of them, and the service says so too."""
    listed = {i["filename"]: i["pages"] for i in await researcher.api.images(researcher.project_id)}
    paged = [name for name, n in listed.items() if n == pages]
    assert len(paged) == 1, f"pages by image: {listed}"
    row = next(r for r in await page.rows() if r["file"] == paged[0])
    assert f"page 1 of {pages}" in row["size"], f"the row of {paged[0]} reads {row}"
    await page.open_viewer(paged[0])
    assert await page.viewer_note() == f"page 1 of {pages} is segmented and shown", await page.viewer_note()


async def check_masks_download(page: ResearcherPage, researcher: Researcher) -> None:
    """The masks ZIP holds each image's mask as the service serves it, named after the image."""
    files = await page.download_masks()
    for image in researcher.images:
        name = image.filename.rsplit(".", 1)[0] + "_mask.png"
        assert name in files, f"{name} is not in the ZIP: {sorted(files)}"
        got, want = np.asarray(Image.open(io.BytesIO(files[name]))), await researcher.mask_of(image)
        assert got.shape == want.shape and np.array_equal(got, want), f"{name} differs from the service's mask of {image.filename}"
    attach.measured("masks_zip", {"files": sorted(files)})


async def check_outline_downloads(page: ResearcherPage, researcher: Researcher) -> dict:
    """For an image in the viewer: the GeoJSON has one Polygon Feature per spheroid with the service's measurements,
    the ImageJ ROI set one polygon ROI per spheroid, and each ROI's points are those of a GeoJSON outline."""
    image = researcher.images[0]
    await page.open_viewer(image.filename)
    spheroids = (await researcher.api.measurements(image.id))["spheroids"]
    collection, rois = await page.download_geojson(), await page.download_imagej()
    features = collection["features"]
    assert collection["type"] == "FeatureCollection" and len(features) == len(spheroids) > 0, (len(features), len(spheroids))
    for feature, s in zip(features, spheroids, strict=True):
        assert feature["geometry"]["type"] == "Polygon" and feature["properties"]["index"] == s["index"], feature["properties"]
        kept = feature["properties"]["measurements"]
        assert all(kept[k] == s[k] for k in ("area_px", "perimeter_px", "equivalent_diameter_px", "circularity", "area_um2")), (kept, s)
    assert sorted(rois) == sorted(f"spheroid-{s['index']}.roi" for s in spheroids), sorted(rois)
    for feature in features:
        roi = roifile.ImagejRoi.frombytes(rois[f"spheroid-{feature['properties']['index']}.roi"])
        ring = np.asarray(feature["geometry"]["coordinates"][0][:-1])
        assert roi.roitype == roifile.ROI_TYPE.POLYGON and np.allclose(roi.coordinates(), ring), f"ROI {roi.name} and the GeoJSON outline differ"
    return {"features": len(features), "rois": len(rois)}


async def check_overview(page: ResearcherPage, researcher: Researcher) -> dict:
    """The project overview draws a bar per segmented image and a histogram of every spheroid, and its text says how
    many spheroids in how many images, with each image's count - what the service measured."""
    summary = await researcher.api.request("GET", f"/api/projects/{researcher.project_id}/measurements")
    images = summary.body["images"]
    total = sum(len(i["spheroids"]) for i in images)
    shown = await page.overview()
    assert shown["bars"]["Spheroids per image"] == len(images) == len(researcher.images), shown
    assert shown["bars"]["Histogram of equivalent diameters"] > 0, shown
    assert shown["text"].startswith(f"{total} spheroids in {len(images)} segmented images"), shown["text"]
    unit = "µm" if summary.body["pixel_size_um"] else "px"
    assert all(f"{i['filename']}: {len(i['spheroids'])}" in shown["text"] for i in images) and unit in shown["text"], shown["text"]
    return shown
