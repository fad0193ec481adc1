"""Steps about live events: order, exactness, isolation, latency."""

from __future__ import annotations

from behave import given, then, when

from harness.researchers import checks, history
from system.contract import EVENTS_EXPIRED_CLOSE_CODE


@then("each researcher saw, live, every event of their own jobs in order and none of anyone else's")
def step_events_in_order_and_own(context):
    checks.researchers_streams(context.state.researchers)


@then("the events reached the researchers within a second of the change they report")
def step_event_latency(context):
    checks.events_delivered_within(context.state.researchers, bound_s=1.0)


@given("an API process that keeps events for {seconds:g} seconds")
def step_short_retention(context, seconds: float):
    context.state.server_process = context.system.start_api(EVENT_RETENTION_DAYS=history.retention_days(seconds))
    context.state.retention_s = seconds


@given("a researcher signed in there whose project of {count:d} spheroid images has been segmented")
async def step_researcher_there_segmented(context, count: int):
    context.state.researchers = [await history.researcher_with_a_finished_batch(context, context.state.server_process.address, count)]


@when("their events are past the retention")
async def step_events_swept(context):
    await history.wait_until_swept(context.state.researchers[0], context.state.retention_s)


@then('asking for their events from the start is answered "events_expired", with none of them')
async def step_replay_expired(context):
    r = context.state.researchers[0]
    code, reason, frames = await history.replay_from(context.state.server_process.address, r.api.token, 0)
    assert (code, reason, frames) == (EVENTS_EXPIRED_CLOSE_CODE, "events_expired", []), (code, reason, frames[:3])


@then("a stream from the seq the service gives now hears every event of their next batch, in order")
async def step_stream_from_now(context):
    r = context.state.researchers[0]
    stream, now = await history.stream_from_now(context, r, context.state.server_process.address)
    events = await history.next_batch_heard(r, stream)
    assert not stream.violations, stream.violations[:3]
    jobs = {j for j in r.batches[-1]["job_ids"]}
    finals = {e["job_id"] for e in events if e["type"] in ("job.succeeded", "job.failed", "job.cancelled")}
    assert [e["seq"] for e in events] == list(range(now + 1, now + 1 + len(events))) and finals == jobs, \
        f"from seq {now}: {[(e['seq'], e['type'], e['job_id']) for e in events]}"


@then("every image of their project still shows its segmentation")
async def step_images_still_segmented(context):
    r = context.state.researchers[0]
    statuses = {i["filename"]: (i["segmentation"] or {}).get("status") for i in await r.api.images(r.project_id)}
    assert set(statuses.values()) == {"succeeded"}, statuses
