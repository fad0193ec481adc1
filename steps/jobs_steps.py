"""Steps about segmentation jobs: submitting batches and waiting for them."""

from __future__ import annotations

from behave import then, when

from harness import waiting
from harness.faults import halts
from harness.measure.ledger import LEASE_STEP, LEDGER_STEP
from harness.researchers import seeded
from harness.researchers.actors import everyone


@when("the researcher segments the project")
async def step_the_researcher_segments(context):
    await seeded.segment_and_wait(context.state.researchers[0])


@when("they all segment their projects at the same moment")
async def step_all_segment_at_once(context):
    await everyone(seeded.segment_and_wait(r) for r in context.state.researchers)


@when("the researcher segments the project and cancels the batch while it runs")
async def step_segment_and_cancel(context):
    r = context.state.researchers[0]
    batch = await r.segment()
    await seeded.wait_for_all_running_slots(context, r, batch)
    context.state.cancelled_batch = await r.api.cancel(batch["batch_id"])
    context.state.started_before_cancel = r.started_job_ids()
    halts.resume_inference(context)
    await r.wait_for_batches(waiting.BATCH_TIMEOUT_S)


@when("they all segment their projects at the same moment, and the workers then get to them")
async def step_all_segment_then_workers(context):
    await everyone(r.segment() for r in context.state.researchers)
    halts.resume(context.system.workers)
    await everyone(r.wait_for_batches(waiting.BATCH_TIMEOUT_S) for r in context.state.researchers)


@then(LEDGER_STEP)
async def step_slots_accounted_for(context):
    await context.state.ledger.check(context.system.config.worker.lease_s)


@then(LEASE_STEP)
async def step_leases_renewed(context):
    await context.state.ledger.check_leases()
