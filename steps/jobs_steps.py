"""Steps about segmentation jobs: submitting batches and waiting for them."""

from __future__ import annotations

from behave import then, when

from harness import scenario
from harness.actors import everyone
from harness.ledger import LEASE_STEP, LEDGER_STEP


@when("the researcher segments the project")
async def step_the_researcher_segments(context):
    await scenario.segment_and_wait(context.researchers[0])


@when("they all segment their projects at the same moment")
async def step_all_segment_at_once(context):
    await everyone(scenario.segment_and_wait(r) for r in context.researchers)


@when("the researcher segments the project and cancels the batch while it runs")
async def step_segment_and_cancel(context):
    r = context.researchers[0]
    batch = await r.segment()
    await scenario.wait_for_all_running_slots(context, r, batch)
    context.cancelled_batch = await r.api.cancel(batch["batch_id"])
    context.started_before_cancel = r.started_job_ids()
    scenario.resume_inference(context)
    await r.wait_for_batches(scenario.BATCH_TIMEOUT_S)


@when("they all segment their projects at the same moment, and the workers then get to them")
async def step_all_segment_then_workers(context):
    await everyone(r.segment() for r in context.researchers)
    scenario.resume(context.system.workers)
    await everyone(r.wait_for_batches(scenario.BATCH_TIMEOUT_S) for r in context.researchers)


@then(LEDGER_STEP)
async def step_slots_accounted_for(context):
    await context.ledger.check(context.system.config.lease_s)


@then(LEASE_STEP)
async def step_leases_renewed(context):
    await context.ledger.check_leases()
