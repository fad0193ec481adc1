"""Steps in the browser: the web page researchers work in."""

from __future__ import annotations

from behave import given, then, when

from harness import checks, scenario, ui
from harness.actors import everyone
from harness.pages import serious_violations


# ---------------------------------------------------------------- researchers in browsers
@given("{n:d} researchers, each in a browser of their own, who signed up, made a project and uploaded {count:d} spheroid images in the page")
async def step_researchers_in_browsers(context, n: int, count: int):
    context.researchers, context.ui_pages = await ui.researchers_in_browsers(context, n, count)


@given("a researcher in the web page with a project of {count:d} spheroid images and a pixel size of {size:g} µm")
async def step_researcher_in_page_with_pixel_size(context, count: int, size: float):
    researcher, context.page = await ui.researcher_in_browser(context, "r1", count, pixel_size_um=size)
    context.researchers = [researcher]


@given("a researcher in the web page with a project of {count:d} spheroid images")
async def step_researcher_in_page(context, count: int):
    researcher, context.page = await ui.researcher_in_browser(context, "r1", count)
    context.researchers = [researcher]


@given("a researcher signed in to the web page with a project of {count:d} spheroid images")
async def step_signed_in_page(context, count: int):
    researcher = await scenario.researcher_with_images(context, count)
    context.researchers = [researcher]
    context.page, context.page_proxy = await ui.page_through_proxy(context, researcher)


@given("another researcher's batch of {count:d} spheroid images is running")
async def step_large_batch_running(context, count: int):
    context.large = await scenario.researcher_with_images(context, count)
    context.large_batch = (await context.large.segment())["batch_id"]
    await scenario.wait_for_started(context.large, min(count, context.system.config.max_running))


@given("a researcher with an account and a project, and {count:d} spheroid images on disk")
async def step_account_and_files(context, count: int):
    researcher, context.files = await ui.account_with_files(context, count)
    context.researchers = [researcher]
    context.page = await ui.open_page(context, "r1")


@given("a new visitor on the sign-in view of the web page")
async def step_visitor(context):
    context.page = await ui.open_page(context, "visitor")


# ---------------------------------------------------------------- what they do
@when("they all segment their projects in the page at the same moment")
async def step_all_segment_in_pages(context):
    context.ui_batches = await everyone(ui.segment_to_the_end(page) for page in context.ui_pages)


@when("the researcher segments the project in the page and it completes")
async def step_segment_to_the_end(context):
    context.ui_batch = await ui.segment_to_the_end(context.page)


@when("the researcher starts segmenting the project in the page")
async def step_segment_in_page(context):
    context.ui_batch = await context.page.segment()


@when("the researcher segments the project in the page at a threshold of {low:g}, and again at {high:g}")
async def step_two_thresholds(context, low: float, high: float):
    context.masks = {}
    for threshold in (low, high):
        await ui.segment_to_the_end(context.page, threshold=threshold)
        context.masks[threshold] = await ui.masks(context.researchers[0])


@when("the tab loses its connection while the batch finishes, then reconnects")
async def step_tab_offline(context):
    page, researcher = context.page, context.researchers[0]
    await scenario.wait_for_started(researcher, context.system.config.max_running)
    await ui.cut(page, context.page_proxy)
    context.frames_before_drop = len(page.frames)
    scenario.resume_inference(context)
    await researcher.wait_for_batch(context.ui_batch, scenario.BATCH_TIMEOUT_S)  # it finishes while the tab is cut off
    await ui.restore(page, context.page_proxy, researcher)
    await page.wait_for_progress("batch completed")


@when("the researcher signs in, uploads the images, segments them and opens the viewer using only the keyboard")
async def step_keyboard_only(context):
    context.viewed = await ui.keyboard_session(context, context.page, context.researchers[0], context.files)


@when("axe-core scans the sign-in view, the workspace while a batch of {count:d} images runs, and the viewer")
async def step_axe_scans(context, count: int):
    context.scans = await ui.scan_three_views(context, context.page, count)


# ---------------------------------------------------------------- what they see
@then("every page shows its batch completed, its progress bar at its maximum")
async def step_pages_completed(context):
    for page, researcher in zip(context.ui_pages, context.researchers, strict=True):
        n = len(researcher.images)
        assert await page.progress() == (n, n), f"{page.label}'s progress bar reads {await page.progress()}, not ({n}, {n})"
        assert await page.progress_text() == f"batch completed: {n} of {n} finished", await page.progress_text()


@then("every page lists only its own project and its own {count:d} images, each succeeded")
async def step_pages_own_work(context, count: int):
    for page, researcher in zip(context.ui_pages, context.researchers, strict=True):
        await ui.check_own_work(page, researcher, count)


@then("each page received every event of its researcher's batch exactly once, in order, and none of anyone else's")
async def step_pages_events(context):
    for page, researcher in zip(context.ui_pages, context.researchers, strict=True):
        await ui.check_page_events(page, researcher)
    ui.record_frames(context.ui_pages, context.researchers)


@then("each researcher opens an image and sees as many outlines drawn over it as the service found")
async def step_pages_outlines(context):
    await everyone(ui.check_outlines(page, researcher, researcher.images[0]) for page, researcher in zip(context.ui_pages, context.researchers, strict=True))


@then("the viewer shows each spheroid of an image with the measurements the service gives")
async def step_viewer_measurements(context):
    await ui.check_viewer_measurements(context.page, context.researchers[0])


@then("the measurements downloaded from the page hold one row per spheroid, with the numbers the service gives")
async def step_csv_from_page(context):
    await ui.check_downloaded_measurements(context.page, context.researchers[0])


@then("the page shows the batch completed before the large batch's last image started")
async def step_small_before_large(context):
    await context.page.wait_for_progress("batch completed", timeout_s=scenario.BATCH_TIMEOUT_S)
    await context.large.wait_for_batch(context.large_batch, scenario.BATCH_TIMEOUT_S)
    ui.check_small_batch_first(context.page, context.ui_batch, context.large, context.large_batch)


@then("every mask at {high:g} lies inside the mask at {low:g} of the same image, and they differ")
def step_masks_nested(context, high: float, low: float):
    checks.masks_nested(context.masks[high], context.masks[low])


@then("the viewer shows the image with its outlines drawn, and the keyboard focus is in the viewer")
async def step_keyboard_viewer(context):
    await ui.check_outlines(context.page, context.researchers[0], context.researchers[0].images[0])
    assert await context.page.focus_is_in_viewer(), "after opening the viewer the keyboard focus is elsewhere"


@then("it finds no serious or critical violation in any of the three")
def step_no_serious_violations(context):
    found = {view: [f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements)" for v in serious_violations(scan)] for view, scan in context.scans.items()}
    assert len(found) == 3 and not any(found.values()), f"axe-core found serious or critical violations: {found}"


@then("the page received every event of the batch exactly once, in order")
def step_page_every_event_once(context):
    page, researcher = context.page, context.researchers[0]
    truth = [e["seq"] for e in researcher.events.bodies() if e["batch_id"] == context.ui_batch]
    received = [f["seq"] for f in page.frames if f["batch_id"] == context.ui_batch]
    assert page.sockets >= 2, f"the page never reconnected ({page.sockets} socket)"
    assert context.frames_before_drop < len(page.frames), "no event arrived after the reconnection"
    assert received == truth, f"the page got seqs {received}, the stream holds {truth}"


@then("the page shows the batch as completed")
async def step_page_completed(context):
    total = sum(1 for e in context.researchers[0].events.bodies() if e["type"] == "job.queued" and e["batch_id"] == context.ui_batch)
    assert await context.page.progress_text() == f"batch completed: {total} of {total} finished"
    assert await context.page.progress() == (total, total)


@then("the web page shows the project's name as text, not markup")
async def step_name_as_text(context):
    page = await ui.page_signed_in(context, context.researchers[0])
    assert await page.project_title() == context.odd_name
    assert await page.markup_inside_title() == 0, "the project name was rendered as markup"
