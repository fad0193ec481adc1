"""Steps about ordinary faults: the database, the inference server, an API process or a worker going away."""

from __future__ import annotations

from behave import given, then, when

from harness import waiting
from harness.browser import sessions
from harness.faults import outages, recovery
from harness.report.attach import measured
from harness.researchers import checks, seeded
from system.contract import STATEMENT_TIMEOUT_S


@when("they all segment their projects and {fault} while the jobs run")
async def step_fault_mid_run(context, fault: str):
    if why := outages.cannot_inject(context, fault):
        context.scenario.skip(reason=why)
        return
    context.state.fault = await outages.fault_mid_run(context, fault)


@then("every job succeeds exactly once, and none failed")
async def step_every_job_once_none_failed(context):
    context.state.jobs = await checks.exactly_once(context.state.researchers)


@then('requests made while the database was away were told "unavailable", with a time to retry')
@then('changes asked for while the database was read-only were told "unavailable", with a time to retry')
@then('images uploaded while the disk was full were told "unavailable", with a time to retry')
def step_told_unavailable(context):
    checks.told_unavailable(context.state.fault.requests, context.system.config.queue.acquire_timeout_s)


@then("every job succeeds at its first attempt, exactly once")
async def step_first_attempt(context):
    context.state.jobs = await checks.exactly_once(context.state.researchers, first_attempt=True)


@then("its readiness check said it was not ready while the database was away")
def step_ready_told_truth(context):
    answers = context.state.fault.readiness
    assert answers and all(p.status in (200, 503) for p in answers), f"readiness answers: {[(p.status, p.error) for p in answers][:5]}"
    assert any(p.status == 503 for p in answers), f"/ready said ready throughout the outage ({len(answers)} checks)"


@then("work resumed within the time the service's own settings promise")
def step_recovered_within_bound(context):
    resumed_s, bound = recovery.recovery_s(context.state.researchers, context.state.fault), recovery.recovery_bound_s(context.system.config)
    recovery.attach_fault_timeline(context.state.researchers, context.state.fault, resumed_s)
    measured(f"fault: {context.state.fault.what}", recovery.fault_figures(context, resumed_s, bound))
    assert resumed_s is not None, "no job finished after the fault ended"
    assert resumed_s <= bound, f"the first job after the fault finished {resumed_s:.2f} s after it ended; the bound is {bound:g} s"


@then("their live events came back on their own, from where they left off")
def step_streams_reconnected(context):
    reconnected = [r.name for r in context.state.researchers if r.events.reconnects]
    assert reconnected, "no researcher's event stream had to reconnect: the fault missed them"
    checks.researchers_streams(context.state.researchers)


@when("the researcher segments the project, and a worker holding jobs freezes past its lease while another takes them over")
async def step_frozen_worker(context):
    r = context.state.researchers[0]
    batch = await r.segment()
    await seeded.wait_for_all_running_slots(context, r, batch)
    s = context.state
    s.victim, s.victim_jobs = await outages.freeze_a_worker_past_its_lease(context, r, batch)
    s.dropped = await outages.results_dropped_by(context.system.direct_database_url, s.victim, s.victim_jobs,
                                                 bound_s=2 * context.system.config.worker.lease_s)
    await r.wait_for_batches(waiting.BATCH_TIMEOUT_S)


@then("the frozen worker's late results were refused, and its jobs kept the results of the worker that took them over")
async def step_late_results_refused(context):
    r = context.state.researchers[0]
    jobs = [await r.api.job(j) for j in sorted(context.state.victim_jobs)]
    measured("a worker frozen past its lease", {"frozen": context.state.victim.name, "jobs": {j["id"]: j["worker"] for j in jobs}})
    assert all(j["attempts"] == 2 and j["worker"] != context.state.victim.name for j in jobs), [(j["id"], j["attempts"], j["worker"]) for j in jobs]
    assert all(r.attempts_started(j["id"]) == [1, 2] for j in jobs), {j["id"]: r.attempts_started(j["id"]) for j in jobs}
    s = context.state
    assert s.dropped == s.victim_jobs, f"the woken worker dropped {sorted(s.dropped)} of {sorted(s.victim_jobs)}"


@given("the inference server takes longer than a job's lease to segment any image")
async def step_slow_passes(context):
    jobs = sum(len(r.images) for r in context.state.researchers)
    context.state.slow_pass_s = await outages.slow_inference(context, passes=jobs)


@then("no finished work was done again")
async def step_no_work_redone(context):
    """Every segmentation was computed once: a result lost after it was computed would be computed again.
    (A job may still start twice when its claim committed as its connection died: nothing was computed then.)"""
    asked = await context.system.inference_requests(context.http) - context.state.inference_requests_before
    assert asked == len(context.state.jobs), f"the inference server computed {asked:g} segmentations for {len(context.state.jobs)} jobs"


@then("no job was taken from the worker that started it")
async def step_nobody_took_over(context):
    jobs = context.state.jobs
    measured("jobs held through slow or hung inference", {"jobs": len(jobs), "attempts": sorted({j["attempts"] for j in jobs}),
                                                           "lease_s": context.system.config.worker.lease_s})
    assert all(j["attempts"] == 1 for j in jobs), [(j["id"], j["attempts"], j["worker"]) for j in jobs if j["attempts"] != 1]
    for r in context.state.researchers:
        assert all(r.attempts_started(j) == [1] for j in r.own_job_ids()), f"{r.name}: a job was started again"


@given("the database's answer is lost the next {n:d} times a worker takes an image")
def step_claim_answers_lost(context, n: int):
    outages.lose_claim_answers(context, n)


@then("{n:d} of those answers were lost on the way")
def step_answers_were_lost(context, n: int):
    assert outages.answers_lost(context) == n, f"{outages.answers_lost(context)} answers to a claim were lost, not {n}: the fault missed"


@given("every message to the database and the inference server takes {ms:d} ms, give or take {jitter:d}")
def step_slow_network(context, ms: int, jitter: int):
    outages.slow_network(context, ms, jitter)


@then('requests made meanwhile were answered in the time the service allows itself, with what was asked or "unavailable"')
def step_answered_meanwhile(context):
    probes, bound = context.state.fault.requests, context.system.config.queue.acquire_timeout_s + STATEMENT_TIMEOUT_S
    wrong = [p for p in probes if p.status != 200 and not (p.status == 503 and p.code == "unavailable" and p.retry_after)]
    assert probes and not wrong, f"answers other than 200 or 503 unavailable with Retry-After: {wrong[:5]}"
    slowest = max(p.seconds for p in probes)
    assert slowest <= bound, f"a request waited {slowest:.1f} s; the pool's wait plus a statement's timeout is {bound:g} s"


@given("the first of them follows the work in the web page, served by the API process that sends their events")
async def step_page_on_events_api(context):
    first = context.state.researchers[0]
    context.state.page = await sessions.page_signed_in(context, first, base_url=first.events.base_url)


@then("the web page received every event of the first researcher's jobs exactly once, in order")
async def step_page_got_everything(context):
    received = await sessions.page_caught_up(context.state.page, context.state.researchers[0])
    truth = [e["seq"] for e in context.state.researchers[0].events.bodies()]
    assert context.state.page.sockets >= 2, f"the page never reconnected ({context.state.page.sockets} socket)"
    assert received == truth, f"the page got seqs {received[:10]}... ({len(received)}), the stream holds {len(truth)}"
