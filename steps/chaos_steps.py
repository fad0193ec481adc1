"""Steps about ordinary faults: the database, the inference server, an API process or a worker going away."""

from __future__ import annotations

from behave import given, then, when

from harness import chaos, checks, scenario, ui
from harness.reporting import measured
from system.contract import STATEMENT_TIMEOUT_S


@when("they all segment their projects and {fault} while the jobs run")
async def step_fault_mid_run(context, fault: str):
    if why := chaos.cannot_inject(context, fault):
        context.scenario.skip(reason=why)
        return
    context.fault = await chaos.fault_mid_run(context, fault)


@then("every job succeeds exactly once, and none failed")
async def step_every_job_once_none_failed(context):
    context.jobs = await checks.exactly_once(context.researchers)


@then('requests made while the database was away were told "unavailable", with a time to retry')
def step_told_unavailable(context):
    probes, bound = context.fault.probes, context.system.config.acquire_timeout_s
    wrong = [p for p in probes if p.status != 200 and not (p.status == 503 and p.code == "unavailable" and p.retry_after)]
    assert probes and not wrong, f"answers other than 200 or 503 unavailable with Retry-After: {wrong[:5]}"
    assert context.fault.unavailable_answers(), f"no request met the outage ({len(probes)} requests, all answered 200)"
    assert max(p.seconds for p in probes) <= bound, f"a request waited {max(p.seconds for p in probes):.1f} s, more than the pool's {bound:g} s"


@then("its readiness check said it was not ready while the database was away")
def step_ready_told_truth(context):
    answers = context.fault.readiness
    assert answers and all(p.status in (200, 503) for p in answers), f"readiness answers: {[(p.status, p.error) for p in answers][:5]}"
    assert any(p.status == 503 for p in answers), f"/ready said ready throughout the outage ({len(answers)} checks)"


@then("the service recovered within a bound set by its lease, poll interval and backoff")
def step_recovered_within_bound(context):
    recovery, bound = chaos.recovery_s(context.researchers, context.fault), chaos.recovery_bound_s(context.system.config)
    chaos.attach_fault_timeline(context.researchers, context.fault, recovery)
    measured(f"fault: {context.fault.what}", chaos.fault_figures(context, recovery, bound))
    assert recovery is not None, "no job finished after the fault ended"
    assert recovery <= bound, f"the first job after the fault finished {recovery:.2f} s after it ended; the bound is {bound:g} s"


@then("their live events came back on their own, from where they left off")
def step_streams_reconnected(context):
    reconnected = [r.name for r in context.researchers if r.events.reconnects]
    assert reconnected, "no researcher's event stream had to reconnect: the fault missed them"
    checks.researchers_streams(context.researchers)


@when("the researcher segments the project, and a worker holding jobs freezes past its lease while another takes them over")
async def step_frozen_worker(context):
    r = context.researchers[0]
    batch = await r.segment()
    await scenario.wait_for_all_running_slots(context, r, batch)
    context.victim, context.victim_jobs = await chaos.freeze_a_worker_past_its_lease(context, r, batch)
    context.dropped = await chaos.results_dropped_by(context.victim, context.victim_jobs, bound_s=2 * context.system.config.lease_s)
    await r.wait_for_batches(scenario.BATCH_TIMEOUT_S)


@then("the frozen worker's late results were refused, and its jobs kept the results of the worker that took them over")
async def step_late_results_refused(context):
    r = context.researchers[0]
    jobs = [await r.api.job(j) for j in sorted(context.victim_jobs)]
    measured("a worker frozen past its lease", {"frozen": context.victim.name, "jobs": {j["id"]: j["worker"] for j in jobs}})
    assert all(j["attempts"] == 2 and j["worker"] != context.victim.name for j in jobs), [(j["id"], j["attempts"], j["worker"]) for j in jobs]
    assert all(r.attempts_started(j["id"]) == [1, 2] for j in jobs), {j["id"]: r.attempts_started(j["id"]) for j in jobs}
    assert context.dropped == context.victim_jobs, f"the woken worker dropped {sorted(context.dropped)} of {sorted(context.victim_jobs)}"


@given("every forward pass of the inference server takes longer than a job's lease")
async def step_slow_passes(context):
    jobs = sum(len(r.images) for r in context.researchers)
    context.slow_pass_s = await chaos.slow_inference(context, passes=jobs)


@then("no finished work was done again")
async def step_no_work_redone(context):
    """Every segmentation was computed once: a result lost after it was computed would be computed again.
    (A job may still start twice when its claim committed as its connection died: nothing was computed then.)"""
    asked = await context.system.inference_requests(context.http) - context.inference_requests_before
    assert asked == len(context.jobs), f"the inference server computed {asked:g} segmentations for {len(context.jobs)} jobs"


@then("no job was taken from the worker that started it")
async def step_nobody_took_over(context):
    jobs = context.jobs
    measured("jobs held through slow or hung inference", {"jobs": len(jobs), "attempts": sorted({j["attempts"] for j in jobs}),
                                                           "lease_s": context.system.config.lease_s})
    assert all(j["attempts"] == 1 for j in jobs), [(j["id"], j["attempts"], j["worker"]) for j in jobs if j["attempts"] != 1]
    for r in context.researchers:
        assert all(r.attempts_started(j) == [1] for j in r.own_job_ids()), f"{r.name}: a job was started again"


@given("the database's answer is lost the next {n:d} times a worker takes an image")
def step_claim_answers_lost(context, n: int):
    chaos.lose_claim_answers(context, n)


@then("{n:d} of those answers were lost on the way")
def step_answers_were_lost(context, n: int):
    assert chaos.answers_lost(context) == n, f"{chaos.answers_lost(context)} answers to a claim were lost, not {n}: the fault missed"


@given("every message to the database and the inference server takes {ms:d} ms, give or take {jitter:d}")
def step_slow_network(context, ms: int, jitter: int):
    chaos.slow_network(context, ms, jitter)


@then('requests made meanwhile were answered in the time the service allows itself, with what was asked or "unavailable"')
def step_answered_meanwhile(context):
    probes, bound = context.fault.probes, context.system.config.acquire_timeout_s + STATEMENT_TIMEOUT_S
    wrong = [p for p in probes if p.status != 200 and not (p.status == 503 and p.code == "unavailable" and p.retry_after)]
    assert probes and not wrong, f"answers other than 200 or 503 unavailable with Retry-After: {wrong[:5]}"
    slowest = max(p.seconds for p in probes)
    assert slowest <= bound, f"a request waited {slowest:.1f} s; the pool's wait plus a statement's timeout is {bound:g} s"


@given("the first of them follows the work in the web page, served by the API process that sends their events")
async def step_page_on_events_api(context):
    first = context.researchers[0]
    context.page = await ui.page_signed_in(context, first, base_url=first.events.base_url)


@then("the web page received every event of the first researcher's jobs exactly once, in order")
async def step_page_got_everything(context):
    received = await ui.page_caught_up(context.page, context.researchers[0])
    truth = [e["seq"] for e in context.researchers[0].events.bodies()]
    assert context.page.sockets >= 2, f"the page never reconnected ({context.page.sockets} socket)"
    assert received == truth, f"the page got seqs {received[:10]}... ({len(received)}), the stream holds {len(truth)}"
