"""Steps of a researcher's day in the page: a reload mid-batch, microscope files, exports, the project overview."""

from __future__ import annotations

import json

from behave import given, then, when

from harness.browser import day, sessions
from harness.browser.files import microscope_files
from harness.report.attach import measured


@given("a researcher in the web page who uploaded a 12-bit TIFF and a 3-page TIFF of spheroids")
async def step_microscope_files(context):
    files = microscope_files(context, "r1")
    researcher, context.state.page = await sessions.researcher_in_browser(context, "r1", len(files), files=files)
    context.state.researchers = [researcher]


@when("the researcher reloads the tab while the batch runs, and the batch then goes on")
async def step_reload_mid_batch(context):
    await sessions.reload_mid_batch(context, context.state.page, context.state.researchers[0], context.state.ui_batch)


@then("a link to an image opened in the viewer opens the same project and image after another reload")
async def step_link_reopens(context):
    measured("the page's address", await day.check_link_reopens(context.state.page, context.state.researchers[0]))


@when("downloads the image's outlines for QuPath using only the keyboard")
async def step_keyboard_geojson(context):
    context.state.answers = [json.loads(await context.state.page.download_by_keyboard("Download outlines (GeoJSON)"))]


@then("the outlines downloaded hold one shape per spheroid of the image")
async def step_keyboard_geojson_holds(context):
    r = context.state.researchers[0]
    image = next(i for i in r.images if i.filename == context.state.viewed)
    spheroids = (await r.api.measurements(image.id))["spheroids"]
    features = context.state.answers[0]["features"]
    assert [f["properties"]["index"] for f in features] == [s["index"] for s in spheroids] != [], (len(features), len(spheroids))


@then("each TIFF is shown in the viewer at its own size, with the outlines the service found drawn over it")
async def step_tiffs_shown(context):
    figures = await day.check_microscope_images(context.state.page, context.state.researchers[0])
    context.state.ious = {name: [f["iou"] for f in [figure]] for name, figure in figures.items()}


@then("the outlines follow the spheroids: each mask has an IoU of at least {bound:g} with the truth")
def step_tiff_iou(context, bound: float):
    low = {name: ious for name, ious in context.state.ious.items() if min(ious) < bound}
    assert context.state.ious and not low, f"masks under IoU {bound:g}: {low}"


@then("the {pages:d}-page TIFF is listed as page 1 of {same:d}, the page that was segmented")
async def step_pages_listed(context, pages: int, same: int):
    assert pages == same, "the scenario names one page count"
    await day.check_pages_listed(context.state.page, context.state.researchers[0], pages)


@then("the masks downloaded from the page are the service's masks, one per image, named after it")
async def step_masks_zip(context):
    await day.check_masks_download(context.state.page, context.state.researchers[0])


@then("the outlines downloaded for QuPath and for ImageJ hold one shape per spheroid, with its measurements")
async def step_outline_downloads(context):
    measured("outline downloads", await day.check_outline_downloads(context.state.page, context.state.researchers[0]))


@then("the project overview draws the spheroids' diameters and counts, and says them in words")
async def step_overview(context):
    measured("project overview", await day.check_overview(context.state.page, context.state.researchers[0]))
