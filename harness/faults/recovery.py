"""How the service came back from a fault: the bound it must meet, when work resumed, the timeline and figures."""

from __future__ import annotations

from harness.faults.window import FaultWindow
from harness.report.attach import attach_png
from harness.researchers.actors import Researcher, ts
from harness.researchers.checks import FINAL_EVENTS
from harness.waiting import async_wait_until
from system.contract import CIRCUIT_MAX_COOLDOWN_S, MAX_WRITE_BACKOFF_S

# Mid-run: the fault comes once this many jobs have succeeded, so work is both done and pending.
MID_RUN_SUCCESSES = 8


def recovery_bound_s(config) -> float:
    """How long after a fault ends the first job may take to finish, from the system's own settings:
    a lease (jobs whose holder lost it are taken back), a poll interval (an idle worker looks again), and
    the longest the worker waits between tries (the inference circuit's cool-down, a result's write backoff)."""
    return config.worker.lease_s + config.worker.poll_interval_s + max(CIRCUIT_MAX_COOLDOWN_S, MAX_WRITE_BACKOFF_S)


async def back_to_full_strength(context, window: FaultWindow, bound_s: float) -> None:
    """Within ``bound_s`` of the fault's end, as many jobs finish as may run at once (MAX_RUNNING), or every job
    left: the service works at full strength again.  A breaker that never closes again, or slots held by
    nobody, fail here, at the bound the settings imply, instead of slowing the rest of the run down."""
    researchers, most = context.state.researchers, context.system.config.worker.max_running
    jobs = sum(len(r.own_job_ids()) for r in researchers)

    def progress() -> tuple[int, int]:  # (jobs finished since the fault ended, jobs that were left when it ended)
        times = [ts(e) for r in researchers for e in r.events.bodies() if e["type"] in FINAL_EVENTS]
        before = sum(t < window.ended for t in times)  # counted as their events arrive: a late one only lowers what is left
        return len(times) - before, jobs - before

    await async_wait_until(progress, until=lambda p: p[0] >= min(most, p[1]), timeout=bound_s, interval=0.05,
                           describe=f"{most} jobs (or every one left) to finish after the fault, "
                                    f"within lease + poll interval + longest retry wait = {bound_s:g} s; seen (finished since, left)")


def succeeded(event: dict) -> bool:
    return event["type"] == "job.succeeded"


def recovery_s(researchers: list[Researcher], window: FaultWindow) -> float | None:
    """From the end of the fault to the first job finished after it (None if none finished after it)."""
    after = [ts(e) for r in researchers for e in r.events.bodies() if succeeded(e) and ts(e) >= window.ended]
    return min(after) - window.ended if after else None


def attach_fault_timeline(researchers: list[Researcher], window: FaultWindow, recovery: float | None) -> None:
    from harness.measure.analysis import timeline_png

    t0 = min(r.first_queued_time() for r in researchers)
    title = f"{window.what}; recovered in {recovery:.2f} s" if recovery is not None else window.what
    attach_png("timeline with the fault", timeline_png({r.name.split("-")[-1]: r.final_times() for r in researchers}, title, t0,
                                                        band=(window.started, window.ended)))


def fault_figures(context, recovery: float | None, bound: float) -> dict:
    """What the report and the closing figures say about one fault."""
    jobs = context.state.jobs
    window = context.state.fault
    return {
        "jobs": len(jobs), "succeeded": sum(j["status"] == "succeeded" for j in jobs), "failed": sum(j["status"] == "failed" for j in jobs),
        "succeeded_twice": sum(len([e for e in r.events.bodies() if e["type"] == "job.succeeded" and e["job_id"] == j]) > 1
                               for r in context.state.researchers for j in r.own_job_ids()),
        "jobs_run_more_than_once": sum(j["attempts"] > 1 for j in jobs),
        "fault_seconds": round(window.ended - window.started, 3),
        "requests_during_fault": len(window.requests), "answered_unavailable": len(window.unavailable_answers()),
        "ready_checks_during_fault": len(window.readiness), "answered_not_ready": sum(p.status == 503 for p in window.readiness),
        "connections_terminated": window.terminated,
        "stream_reconnects": sum(r.events.reconnects for r in context.state.researchers),
        "recovery_s": None if recovery is None else round(recovery, 3), "recovery_bound_s": bound,
    }
