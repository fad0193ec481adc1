"""Steps about the queue's guarantees: exactly once, the bound, cancellation."""

from __future__ import annotations

import datetime as dt

from behave import then

from harness.actors import everyone
from harness.analysis import max_overlap
from harness.metrics import scrape, total
from harness.reporting import measured


async def _jobs(context) -> list[dict]:
    jobs = []
    for r in context.researchers:
        jobs += await everyone(r.api.job(j) for j in sorted(r.own_job_ids()))
    return jobs


@then("every job succeeds exactly once")
async def step_exactly_once(context):
    jobs = await _jobs(context)
    context.jobs = jobs
    not_ok = [(j["id"], j["status"], j["attempts"]) for j in jobs if j["status"] != "succeeded" or j["attempts"] != 1]
    assert not not_ok, f"jobs not run to success exactly once (id, status, attempts): {not_ok[:10]}"
    for r in context.researchers:
        succeeded = [e["job_id"] for e in r.events.bodies() if e["type"] == "job.succeeded"]
        assert sorted(succeeded) == sorted(r.own_job_ids()), f"{r.name}: job.succeeded events {len(succeeded)} for {len(r.own_job_ids())} jobs"


@then("the inference server was asked once per job")
async def step_inference_asked_once(context):
    jobs = context.jobs
    after = 0.0
    for proc in context.system.inference:
        after += total(await scrape(context.http, proc.address), "inference_requests_total")
    asked = after - context.inference_requests_before
    measured("inference requests", {"jobs": len(jobs), "inference requests": asked})
    assert asked == len(jobs), f"the inference server answered {asked:g} requests for {len(jobs)} jobs"


@then("never more jobs ran at once than the service allows")
def step_bound_held(context):
    bound = context.system.config.max_running
    intervals = [(dt.datetime.fromisoformat(j["started_at"]).timestamp(), dt.datetime.fromisoformat(j["finished_at"]).timestamp()) for j in context.jobs]
    peak = max_overlap(intervals)
    workers = sorted({j["worker"] for j in context.jobs})
    measured("concurrency", {"bound": bound, "peak running": peak, "workers that ran jobs": workers})
    assert peak <= bound, f"{peak} jobs ran at once; the bound is {bound}"
    assert peak == bound, f"only {peak} jobs ever ran at once; the workers did not use the {bound} places"


@then("the jobs that had not started are cancelled and the running ones finish")
async def step_cancel_outcome(context):
    r = context.researchers[0]
    batch = await r.api.batch(r.batches[0]["batch_id"])
    started = context.started_before_cancel
    assert batch["status"] == "cancelled", batch
    assert batch["succeeded"] == len(started) and batch["cancelled"] == batch["total"] - len(started), batch
    assert batch["queued"] == batch["running"] == batch["failed"] == 0, batch
    for job_id in r.own_job_ids():
        job = await r.api.job(job_id)
        assert job["status"] == ("succeeded" if job_id in started else "cancelled"), job


@then("the researcher's events say so")
def step_cancel_events(context):
    r = context.researchers[0]
    events = r.events.bodies()
    started = context.started_before_cancel
    cancelled = {e["job_id"] for e in events if e["type"] == "job.cancelled"}
    succeeded = {e["job_id"] for e in events if e["type"] == "job.succeeded"}
    assert succeeded == started and cancelled == r.own_job_ids() - started, (len(succeeded), len(cancelled))
    final = [e for e in events if e["type"] == "batch.completed"]
    assert len(final) == 1 and final[0]["status"] == "cancelled", final
