"""Steps in the browser: the web page a researcher works in."""

from __future__ import annotations

from behave import given, then, when

from harness import scenario


@given("a researcher signed in to the web page with a project of {count:d} spheroid images")
async def step_signed_in_page(context, count: int):
    researcher = await scenario.researcher_with_images(context, count)
    context.researchers = [researcher]
    context.page = await scenario.page_signed_in(context, researcher)


@when("the researcher starts segmenting the project in the page")
async def step_segment_in_page(context):
    context.ui_batch = await context.page.segment()


@when("the tab loses its connection while the batch finishes, then reconnects")
async def step_tab_offline(context):
    page, researcher = context.page, context.researchers[0]
    await scenario.wait_for_started(researcher, context.system.config.max_running)
    await page.go_offline()
    context.frames_before_drop = len(page.frames)
    scenario.resume_inference(context)
    await researcher.wait_for_batch(context.ui_batch, scenario.BATCH_TIMEOUT_S)  # it finishes while the tab is offline
    await page.go_online()
    await page.wait_for_progress("batch completed")


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


@then("the web page shows the project's name as text, not markup")
async def step_name_as_text(context):
    page = await scenario.page_signed_in(context, context.researchers[0])
    assert await page.project_title() == context.odd_name
    assert await page.markup_inside_title() == 0, "the project name was rendered as markup"
