"""Steps about the queue's guarantees: exactly once, the bound, cancellation."""

from __future__ import annotations

from behave import then

from harness.measure.analysis import job_intervals, max_overlap
from harness.report.attach import measured
from harness.researchers import checks


@then("every job succeeds exactly once")
async def step_exactly_once(context):
    context.state.jobs = await checks.exactly_once(context.state.researchers, first_attempt=True)


@then("the inference server was asked once per job")
async def step_inference_asked_once(context):
    asked = await context.system.inference_requests(context.http) - context.state.inference_requests_before
    measured("inference requests", {"jobs": len(context.state.jobs), "inference requests": asked})
    assert asked == len(context.state.jobs), f"the inference server answered {asked:g} requests for {len(context.state.jobs)} jobs"


@then("never more jobs ran at once than the service allows")
def step_bound_held(context):
    bound, peak = context.system.config.worker.max_running, max_overlap(job_intervals(context.state.jobs))
    measured("concurrency", {"bound": bound, "peak running": peak, "workers that ran jobs": sorted({j["worker"] for j in context.state.jobs})})
    assert peak <= bound, f"{peak} jobs ran at once; the bound is {bound}"
    assert peak == bound, f"only {peak} jobs ever ran at once; the workers did not use the {bound} places"


@then("the jobs that had not started are cancelled and the running ones finish")
async def step_cancel_outcome(context):
    r, started = context.state.researchers[0], context.state.started_before_cancel
    batch = await r.api.batch(r.batches[0]["batch_id"])
    expected = {"status": "cancelled", "succeeded": len(started), "cancelled": batch["total"] - len(started), "queued": 0, "running": 0, "failed": 0}
    assert {k: batch[k] for k in expected} == expected, batch
    statuses = {j["id"]: j["status"] for j in await checks.jobs_of([r])}
    assert statuses == {j: "succeeded" if j in started else "cancelled" for j in r.own_job_ids()}, statuses


@then("the researcher's events say so")
def step_cancel_events(context):
    r, started = context.state.researchers[0], context.state.started_before_cancel
    finals = {kind: {e["job_id"] for e in r.events.bodies() if e["type"] == kind} for kind in ("job.succeeded", "job.cancelled")}
    assert finals == {"job.succeeded": started, "job.cancelled": r.own_job_ids() - started}, {k: len(v) for k, v in finals.items()}
    completed = [e for e in r.events.bodies() if e["type"] == "batch.completed"]
    assert [e["status"] for e in completed] == ["cancelled"], completed
