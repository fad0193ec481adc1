"""Steps in the browser: the web page researchers work in."""

from __future__ import annotations

from behave import given, then, when

from harness import waiting
from harness.browser import sessions, verdicts
from harness.browser.pages import serious_violations
from harness.faults import halts
from harness.report.attach import measured
from harness.researchers import checks, seeded
from harness.researchers.actors import everyone
from system.contract import SESSION_CHECK_S


# ---------------------------------------------------------------- researchers in browsers
@given("{n:d} researchers, each in a browser of their own, who signed up, made a project and uploaded {count:d} spheroid images in the page")
async def step_researchers_in_browsers(context, n: int, count: int):
    context.state.researchers, context.state.ui_pages = await sessions.researchers_in_browsers(context, n, count)


@given("a researcher in the web page with a project of {count:d} spheroid images and a pixel size of {size:g} µm")
async def step_researcher_in_page_with_pixel_size(context, count: int, size: float):
    researcher, context.state.page = await sessions.researcher_in_browser(context, "r1", count, pixel_size_um=size)
    context.state.researchers = [researcher]


@given("a researcher in the web page with a project of {count:d} spheroid images")
async def step_researcher_in_page(context, count: int):
    researcher, context.state.page = await sessions.researcher_in_browser(context, "r1", count)
    context.state.researchers = [researcher]


@given("a researcher signed in to the web page with a project of {count:d} spheroid images")
async def step_signed_in_page(context, count: int):
    researcher = await seeded.researcher_with_images(context, count)
    context.state.researchers = [researcher]
    context.state.page, context.state.page_proxy = await sessions.page_through_proxy(context, researcher)


@given("another researcher's batch of {count:d} spheroid images is running")
async def step_large_batch_running(context, count: int):
    context.state.large = await seeded.researcher_with_images(context, count)
    context.state.large_batch = (await context.state.large.segment())["batch_id"]
    await seeded.wait_for_started(context.state.large, min(count, context.system.config.worker.max_running))


@given("a researcher with an account and a project, and {count:d} spheroid images on disk")
async def step_account_and_files(context, count: int):
    researcher, context.state.files = await sessions.account_with_files(context, count)
    context.state.researchers = [researcher]
    context.state.page = await sessions.open_page(context, "r1")


@given("a new visitor on the sign-in view of the web page")
async def step_visitor(context):
    context.state.page = await sessions.open_page(context, "visitor")


# ---------------------------------------------------------------- what they do
@when("they all segment their projects in the page at the same moment")
async def step_all_segment_in_pages(context):
    context.state.ui_batches = await everyone(sessions.segment_to_the_end(page) for page in context.state.ui_pages)


@when("the researcher segments the project in the page and it completes")
async def step_segment_to_the_end(context):
    context.state.ui_batch = await sessions.segment_to_the_end(context.state.page)


@when("the researcher starts segmenting the project in the page")
async def step_segment_in_page(context):
    context.state.ui_batch = await context.state.page.segment()


@when("the researcher segments the project in the page at a threshold of {low:g}, and again at {high:g}")
async def step_two_thresholds(context, low: float, high: float):
    context.state.masks = {}
    for threshold in (low, high):
        await sessions.segment_to_the_end(context.state.page, threshold=threshold)
        context.state.masks[threshold] = await sessions.masks(context.state.researchers[0])


@when("the tab loses its connection while the batch finishes, then reconnects")
async def step_tab_offline(context):
    page, researcher = context.state.page, context.state.researchers[0]
    await seeded.wait_for_started(researcher, context.system.config.worker.max_running)
    await sessions.cut(page, context.state.page_proxy)
    context.state.frames_before_drop = len(page.frames)
    halts.resume_inference(context)
    await researcher.wait_for_batch(context.state.ui_batch, waiting.BATCH_TIMEOUT_S)  # it finishes while the tab is cut off
    await sessions.restore(page, context.state.page_proxy, researcher)
    await page.wait_for_progress("batch completed")


@when("the researcher signs in using only the keyboard")
async def step_keyboard_sign_in(context):
    await context.state.page.sign_in_by_keyboard(context.state.researchers[0].name)


@when("uploads the images using only the keyboard")
async def step_keyboard_upload(context):
    await sessions.upload_by_keyboard(context.state.page, context.state.researchers[0], context.state.files)


@when("segments them using only the keyboard")
async def step_keyboard_segment(context):
    await sessions.segment_by_keyboard(context.state.page)


@when("opens the viewer on the first image using only the keyboard")
async def step_keyboard_viewer_open(context):
    context.state.viewed = await sessions.open_first_image_by_keyboard(context.state.page, context.state.researchers[0])


@when("axe-core scans the sign-in view, the workspace while a batch of {count:d} images runs, and the viewer")
async def step_axe_scans(context, count: int):
    context.state.scans = await sessions.scan_three_views(context, context.state.page, count)


# ---------------------------------------------------------------- what they see
@then("every page shows its batch completed, its progress bar at its maximum")
async def step_pages_completed(context):
    for page, researcher in zip(context.state.ui_pages, context.state.researchers, strict=True):
        n = len(researcher.images)
        assert await page.progress() == (n, n), f"{page.label}'s progress bar reads {await page.progress()}, not ({n}, {n})"
        assert await page.progress_text() == f"batch completed: {n} of {n} finished", await page.progress_text()


@then("every page lists only its own project and its own {count:d} images, each succeeded")
async def step_pages_own_work(context, count: int):
    for page, researcher in zip(context.state.ui_pages, context.state.researchers, strict=True):
        await verdicts.check_own_work(page, researcher, count)


@then("each page received every event of its researcher's batch exactly once, in order, and none of anyone else's")
async def step_pages_events(context):
    for page, researcher in zip(context.state.ui_pages, context.state.researchers, strict=True):
        await verdicts.check_page_events(page, researcher)
    verdicts.record_frames(context.state.ui_pages, context.state.researchers)


@then("each researcher opens an image and sees as many outlines drawn over it as the service found")
async def step_pages_outlines(context):
    s = context.state
    await everyone(verdicts.check_outlines(page, r, r.images[0]) for page, r in zip(s.ui_pages, s.researchers, strict=True))


@then("the viewer shows each spheroid of an image with the measurements the service gives")
async def step_viewer_measurements(context):
    await verdicts.check_viewer_measurements(context.state.page, context.state.researchers[0])


@then("the measurements downloaded from the page hold one row per spheroid, with the numbers the service gives")
async def step_csv_from_page(context):
    await verdicts.check_downloaded_measurements(context.state.page, context.state.researchers[0])


@then("the page shows the batch completed before the large batch's last image started")
async def step_small_before_large(context):
    await context.state.page.wait_for_progress("batch completed", timeout_s=waiting.BATCH_TIMEOUT_S)
    await context.state.large.wait_for_batch(context.state.large_batch, waiting.BATCH_TIMEOUT_S)
    verdicts.check_small_batch_first(context.state.page, context.state.ui_batch, context.state.large, context.state.large_batch)


@then("every mask at {high:g} lies inside the mask at {low:g} of the same image, and they differ")
def step_masks_nested(context, high: float, low: float):
    checks.masks_nested(context.state.masks[high], context.state.masks[low])


@then("the viewer shows the image with its outlines drawn, and the keyboard focus is in the viewer")
async def step_keyboard_viewer(context):
    await verdicts.check_outlines(context.state.page, context.state.researchers[0], context.state.researchers[0].images[0])
    assert await context.state.page.focus_is_in_viewer(), "after opening the viewer the keyboard focus is elsewhere"


@then("it finds no serious or critical violation in any of the three")
def step_no_serious_violations(context):
    found = {view: [f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements)" for v in serious_violations(scan)] for view, scan in context.state.scans.items()}
    assert len(found) == 3 and not any(found.values()), f"axe-core found serious or critical violations: {found}"


@then("the page received every event of the batch exactly once, in order")
def step_page_every_event_once(context):
    page, researcher = context.state.page, context.state.researchers[0]
    truth = [e["seq"] for e in researcher.events.bodies() if e["batch_id"] == context.state.ui_batch]
    received = [f["seq"] for f in page.frames if f["batch_id"] == context.state.ui_batch]
    assert page.sockets >= 2, f"the page never reconnected ({page.sockets} socket)"
    assert context.state.frames_before_drop < len(page.frames), "no event arrived after the reconnection"
    assert received == truth, f"the page got seqs {received}, the stream holds {truth}"


@then("the page shows the batch as completed")
async def step_page_completed(context):
    total = sum(1 for e in context.state.researchers[0].events.bodies() if e["type"] == "job.queued" and e["batch_id"] == context.state.ui_batch)
    assert await context.state.page.progress_text() == f"batch completed: {total} of {total} finished"
    assert await context.state.page.progress() == (total, total)


@then("the web page shows the project's name as text, not markup")
async def step_name_as_text(context):
    page = await sessions.page_signed_in(context, context.state.researchers[0])
    assert await page.project_title() == context.state.odd_name
    assert await page.markup_inside_title() == 0, "the project name was rendered as markup"


@then("the page forbids code it did not ship, being framed, type sniffing and sending referrers")
async def step_page_policy(context):
    measured("the page's policy", await verdicts.check_page_policy(context.http, context.state.researchers[0].api.base_url))


@then("the browser refused nothing the page did, the viewer and the download included")
async def step_nothing_refused(context):
    page, r = context.state.page, context.state.researchers[0]
    await verdicts.check_viewer_measurements(page, r)
    await verdicts.check_downloaded_measurements(page, r)
    verdicts.check_nothing_refused(page)


@given('the researcher has typed "{name}" as a new project\'s name, without creating it')
async def step_typed_project_name(context, name: str):
    await context.state.page.type_project_name(name)


@when("the researcher's session is ended from another window")
async def step_session_ended_elsewhere(context):
    context.state.response = await sessions.end_page_session(context, context.state.page)


@then("the page asks the researcher to sign in again, within the time the service promises")
async def step_asked_to_sign_in(context):
    assert context.state.response.status == 204, checks.described(context.state.response)
    await context.state.page.wait_asked_to_sign_in(2 * SESSION_CHECK_S)


@then('once signed in again, the new project\'s name still reads "{name}"')
async def step_typed_kept(context, name: str):
    page = context.state.page
    await page.sign_in(context.state.researchers[0].name)
    assert await page.typed_project_name() == name, f"the new project's name reads {await page.typed_project_name()!r}"


@when("the researcher cancels the batch in the page once its first images are running")
async def step_cancel_in_page(context):
    s = context.state
    s.before = await sessions.cancel_while_running(context, s.page, s.researchers[0], s.ui_batch)


@then("the page shows the batch cancelled: the images that were running finished, the others cancelled")
async def step_cancelled_in_page(context):
    await verdicts.check_cancelled(context.state.page, context.state.researchers[0], context.state.ui_batch, context.state.before)
