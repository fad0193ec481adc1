"""Steps about spheroids of difficult shapes and the exports that carry them."""

from __future__ import annotations

from behave import given, then

from harness.browser import sessions, shapes


@given("a researcher in the web page with a project at a pixel size of {size:g} µm and an image of each of these spheroids:")
async def step_shapes_project(context, size: float):
    names = [row["shape"] for row in context.table]
    files = shapes.shape_files(context, "r1", names)
    researcher, context.state.page = await sessions.researcher_in_browser(context, "r1", len(files), pixel_size_um=size, files=files)
    context.state.researchers = [researcher]


@then("each spheroid is found whole: one outline without holes, covering it with an IoU of at least {iou:g}, its area within {pct:d}%")
async def step_found_whole(context, iou: float, pct: int):
    await shapes.check_found_whole(context.state.researchers[0], iou, pct / 100)


@then("the viewer, the measurements, the spreadsheet and the outlines for QuPath and for ImageJ list the same spheroids with the same numbers")
async def step_every_export(context):
    await shapes.check_every_export(context.state.page, context.state.researchers[0])
