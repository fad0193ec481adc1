"""Steps about failures: killed workers, jobs that cannot succeed."""

from __future__ import annotations

from behave import then, when

from harness.actors import everyone
from harness.reporting import measured
from steps.jobs_steps import BATCH_TIMEOUT_S


@when("the researcher segments the project and a worker holding one of the jobs is killed")
async def step_kill_worker_mid_job(context):
    r = context.researchers[0]
    batch = await r.segment()
    running = min(context.system.config.max_running, len(batch["job_ids"]))
    await r.events.wait_for(lambda evs: sum(e["type"] == "job.started" for e in evs) >= running, BATCH_TIMEOUT_S)
    jobs = await everyone(r.api.job(j) for j in batch["job_ids"])
    held = [j for j in jobs if j["status"] == "running"]
    victim = held[0]["worker"]
    context.victim_jobs = {j["id"] for j in held if j["worker"] == victim}
    context.victim = victim
    context.system.worker_named(victim).kill()  # SIGKILL: no goodbye, the lease just stops being renewed
    for proc in context.system.inference:
        proc.resume()
    await r.wait_for_batches(BATCH_TIMEOUT_S)


@then("every image is segmented exactly once")
async def step_segmented_exactly_once(context):
    r = context.researchers[0]
    events = r.events.bodies()
    for job_id in r.own_job_ids():
        job = await r.api.job(job_id)
        assert job["status"] == "succeeded", job
        succeeded = [e for e in events if e["job_id"] == job_id and e["type"] == "job.succeeded"]
        assert len(succeeded) == 1, f"job {job_id} reported success {len(succeeded)} times"
    for image in r.images:
        seg = (await r.api.image(image.id))["segmentation"]
        assert seg["status"] == "succeeded" and seg["polygon_count"] >= 1, seg


@then("the killed worker's jobs were taken up again after their lease ran out")
async def step_taken_up_again(context):
    r = context.researchers[0]
    figures = {}
    for job_id in context.victim_jobs:
        job = await r.api.job(job_id)
        assert job["attempts"] == 2, f"job {job_id} took {job['attempts']} attempts; expected the lost one and one more"
        assert job["worker"] != context.victim, f"job {job_id} was finished by the killed worker"
        started = [e for e in r.events.bodies() if e["job_id"] == job_id and e["type"] == "job.started"]
        assert [e["attempt"] for e in started] == [1, 2], started
        figures[job_id] = {"finished_by": job["worker"], "attempts": job["attempts"]}
    measured("jobs taken over after the worker was killed", {"killed": context.victim} | {str(k): v for k, v in figures.items()})


@then("the job of the image too small to segment ends failed after {n:d} attempts, with the error shown to its owner")
async def step_failed_after_attempts(context, n: int):
    owner = context.researchers[0]
    image = await owner.api.image(context.tiny_image.id)
    job = await owner.api.job(image["segmentation"]["job_id"])
    assert job["status"] == "failed" and job["attempts"] == n, job
    assert job["error"]["code"] == "invalid_image" and "16x16" in job["error"]["message"], job["error"]
    failed = [e for e in owner.events.bodies() if e["type"] == "job.failed"]
    assert [e["job_id"] for e in failed] == [job["id"]], failed
    assert failed[0]["error"]["code"] == "invalid_image", failed[0]
    other = context.researchers[1]
    assert not any(e["job_id"] == job["id"] for e in other.events.bodies()), "another researcher heard of the failure"


@then("every other image is segmented")
async def step_others_segmented(context):
    for r in context.researchers:
        for image in r.images:
            if image.id == context.tiny_image.id:
                continue
            seg = (await r.api.image(image.id))["segmentation"]
            assert seg["status"] == "succeeded", (image.filename, seg)
