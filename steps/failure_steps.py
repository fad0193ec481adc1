"""Steps about failures: killed workers, jobs that cannot succeed."""

from __future__ import annotations

from behave import given, then, when

from harness import waiting
from harness.faults import halts
from harness.report.attach import measured
from harness.researchers import checks, seeded


@when("the researcher segments the project and a worker holding one of the jobs is killed")
async def step_kill_worker_mid_job(context):
    r = context.state.researchers[0]
    batch = await r.segment()
    await seeded.wait_for_all_running_slots(context, r, batch)
    context.state.victim, context.state.victim_jobs = await halts.kill_a_worker_holding_jobs(context, r, batch)
    halts.resume_inference(context)
    await halts.taken_up_again(context, r, context.state.victim_jobs)
    await r.wait_for_batches(waiting.BATCH_TIMEOUT_S)


@when("the researcher segments the project and a worker holding jobs is told to stop")
async def step_worker_told_to_stop(context):
    r = context.state.researchers[0]
    batch = await r.segment()
    await seeded.wait_for_all_running_slots(context, r, batch)
    context.state.stopped = await halts.stop_a_worker_holding_jobs(context, r, batch)
    halts.resume_inference(context)
    await r.wait_for_batches(waiting.BATCH_TIMEOUT_S)


@then("that worker left within its grace period, handing back the jobs it held")
def step_left_in_time(context):
    stopped, r = context.state.stopped, context.state.researchers[0]
    measured("a worker told to stop", {"jobs_held": len(stopped.jobs), "exit_s": round(stopped.seconds, 3), "bound_s": stopped.bound_s})
    assert stopped.exit_code == 0 and stopped.seconds <= stopped.bound_s, \
        f"{stopped.worker.name} exited with {stopped.exit_code} after {stopped.seconds:.2f} s (bound {stopped.bound_s:g} s)"
    checks.handed_back(r, stopped.jobs)


@then("every image is segmented exactly once")
async def step_segmented_exactly_once(context):
    r = context.state.researchers[0]
    await checks.exactly_once([r])
    segmentations = [(await r.api.image(i.id))["segmentation"] for i in r.images]
    assert all(s["status"] == "succeeded" and s["polygon_count"] >= 1 for s in segmentations), segmentations


@then("the killed worker's jobs were taken up again after their lease ran out")
async def step_taken_up_again(context):
    r = context.state.researchers[0]
    jobs = [await r.api.job(j) for j in sorted(context.state.victim_jobs)]
    measured("jobs taken over after the worker was killed", {"killed": context.state.victim, "jobs": {j["id"]: j["worker"] for j in jobs}})
    for job in jobs:
        assert job["attempts"] == 2 and job["worker"] != context.state.victim, f"job {job['id']}: {job['attempts']} attempts, by {job['worker']}"
        assert r.attempts_started(job["id"]) == [1, 2], f"job {job['id']} started attempts {r.attempts_started(job['id'])}"


@then("the job of the image too small to segment ends failed after {n:d} attempts, with the error shown to its owner")
async def step_failed_after_attempts(context, n: int):
    owner, other = context.state.researchers[:2]
    job = await owner.api.job((await owner.api.image(context.state.tiny_image.id))["segmentation"]["job_id"])
    assert job["status"] == "failed" and job["attempts"] == n, job
    assert job["error"]["code"] == "invalid_image" and "16x16" in job["error"]["message"], job["error"]
    failed = [e for e in owner.events.bodies() if e["type"] == "job.failed"]
    assert [(e["job_id"], e["error"]["code"]) for e in failed] == [(job["id"], "invalid_image")], failed
    assert job["id"] not in other.heard_job_ids(), "another researcher heard of the failure"


@then("every other image is segmented")
async def step_others_segmented(context):
    for r in context.state.researchers:
        images = [await r.api.image(i.id) for i in r.images if i.id != context.state.tiny_image.id]
        assert all(i["segmentation"]["status"] == "succeeded" for i in images), [(i["filename"], i["segmentation"]) for i in images]


@given("the inference server times out on one of the first researcher's images, every time")
async def step_image_times_out(context):
    owner = context.state.researchers[0]
    context.state.tiny_image = owner.images[0]  # the image whose job is to fail; the others are "every other image"
    await halts.time_out_on(context, owner.images[0].png)


@then('that image\'s job ends failed after {n:d} attempts with the error "timeout", each given up within the time the settings allow')
async def step_timed_out_image_failed(context, n: int):
    owner = context.state.researchers[0]
    job = await owner.api.job((await owner.api.image(context.state.tiny_image.id))["segmentation"]["job_id"])
    bound = halts.give_up_bound_s(context.system.config)
    spans = checks.attempt_spans(owner, job["id"])
    measured("an image the inference server always times out on", {"attempts_s": [round(s, 2) for s in spans], "bound_s": bound})
    assert job["status"] == "failed" and job["attempts"] == n and job["error"]["code"] == "timeout", job
    assert len(spans) == n and max(spans) <= bound, f"attempts lasted {spans} s; each may last {bound:g} s"


@then("every other image is segmented at its first attempt")
async def step_others_first_attempt(context):
    jobs = await checks.jobs_of(context.state.researchers)
    others = [j for j in jobs if j["image_id"] != context.state.tiny_image.id]
    assert others and all(j["status"] == "succeeded" and j["attempts"] == 1 for j in others), \
        [(j["id"], j["status"], j["attempts"]) for j in others if j["status"] != "succeeded" or j["attempts"] != 1]
