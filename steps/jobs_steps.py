"""Steps about segmentation jobs: submitting batches and waiting for them."""

from __future__ import annotations

from behave import when

from harness.actors import everyone

# An upper bound so that a broken system fails the scenario instead of hanging
# it; never an assertion about speed.
BATCH_TIMEOUT_S = 180


async def _segment_and_wait(researcher, **options) -> None:
    await researcher.segment(**options)
    await researcher.wait_for_batches(BATCH_TIMEOUT_S)


@when("the researcher segments the project")
async def step_the_researcher_segments(context):
    await _segment_and_wait(context.researchers[0])


@when("they all segment their projects at the same moment")
async def step_all_segment_at_once(context):
    await everyone(_segment_and_wait(r) for r in context.researchers)


@when("the researcher segments the project and cancels the batch while it runs")
async def step_segment_and_cancel(context):
    r = context.researchers[0]
    batch = await r.segment()
    bound = context.system.config.max_running
    started = min(bound, len(batch["job_ids"]))
    await r.events.wait_for(lambda evs: sum(e["type"] == "job.started" for e in evs) >= started, BATCH_TIMEOUT_S)
    context.cancelled_batch = await r.api.cancel(batch["batch_id"])
    context.started_before_cancel = {e["job_id"] for e in r.events.bodies() if e["type"] == "job.started"}
    for proc in context.system.inference:
        proc.resume()
    await r.wait_for_batches(BATCH_TIMEOUT_S)


@when("they all segment their projects at the same moment, and the workers then get to them")
async def step_all_segment_then_workers(context):
    await everyone(r.segment() for r in context.researchers)
    for proc in context.system.workers:
        proc.resume()
    await everyone(r.wait_for_batches(BATCH_TIMEOUT_S) for r in context.researchers)
