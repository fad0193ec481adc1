"""Faults in the system's own processes: a worker killed or frozen, the inference servers frozen, the database held up."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import time
from dataclasses import dataclass

from harness.clients.inference import InferenceClient
from harness.faults.injector import database_held_up
from harness.lifetime import keep_for_scenario
from harness.researchers.actors import Researcher, everyone
from harness.researchers.burst import Burst
from harness.stack.containers import WorkerContainer
from harness.stack.launcher import SYSTEM_ROOT
from harness.stack.processes import ManagedProcess
from harness.waiting import BATCH_TIMEOUT_S, async_wait_until
from system.common import settings
from system.common.settings import to_env
from system.contract import MAX_WRITE_BACKOFF_S, SHUTDOWN_CLOSE_S


async def kill_a_worker_holding_jobs(context, researcher: Researcher, batch: dict) -> tuple[str, set[int]]:
    """SIGKILL a worker that holds some of the batch's running jobs; returns its name and those jobs.

    No goodbye: its leases simply stop being renewed, as after a power loss.
    """
    jobs = await everyone(researcher.api.job(j) for j in batch["job_ids"])
    running = [j for j in jobs if j["status"] == "running"]
    assert running, f"no job of the batch is running: {[j['status'] for j in jobs]}"
    victim = running[0]["worker"]
    context.system.worker_named(victim).kill()
    return victim, {j["id"] for j in running if j["worker"] == victim}


@dataclass
class Stopped:
    """A worker told to stop (SIGTERM): what it held, how it left."""

    worker: ManagedProcess
    jobs: set[int]
    seconds: float  # from the signal to the process's exit
    exit_code: int | None
    bound_s: float  # its grace period and the contract's closing time


async def stop_a_worker_holding_jobs(context, researcher: Researcher, batch: dict) -> Stopped:
    """SIGTERM a worker that holds some of the batch's running jobs, as a supervisor stopping it would, and
    wait until it has exited (bounded: twice what it may take, so a worker that overstays is measured, not hung)."""
    jobs = await everyone(researcher.api.job(j) for j in batch["job_ids"])
    running = [j for j in jobs if j["status"] == "running"]
    assert running, f"no job of the batch is running: {[j['status'] for j in jobs]}"
    worker = context.system.worker_named(running[0]["worker"])
    bound = context.system.config.worker.shutdown_grace_s + SHUTDOWN_CLOSE_S
    sent = time.monotonic()
    worker.signal(signal.SIGTERM)
    await async_wait_until(worker.alive, until=lambda alive: not alive, timeout=2 * bound, interval=0.02,
                           describe=f"{worker.name} to exit after SIGTERM (it may take {bound:g} s)")
    return Stopped(worker, {j["id"] for j in running if j["worker"] == worker.name}, time.monotonic() - sent,
                   worker.proc.returncode, bound)


async def time_out_on(context, png: bytes) -> None:
    """Every inference server of the system answers this image 504 timeout, every time, until the scenario ends."""
    digest = hashlib.sha256(png).hexdigest()
    for proc in context.system.inference:
        client = InferenceClient(proc.address, context.http)
        await client.arm_faults(time_out=digest)
        keep_for_scenario(context, client, client.clear_faults)


def give_up_bound_s(config) -> float:
    """How long one attempt may last, to the next one's start, when every try of it fails: the worker's give-up
    time, its longest wait between two tries, the longest retry backoff before the next attempt, a poll interval
    until a worker looks again once that backoff is over, and one more for writing the failure and the claim."""
    w = config.worker
    return w.give_up_s + MAX_WRITE_BACKOFF_S + w.retry_backoff_s * 2 ** (w.max_attempts - 1) + 2 * w.poll_interval_s


async def burst_while_database_held_up(context, researcher: Researcher, n: int) -> Burst:
    """``n`` requests at once while every query on images waits, so the pool runs out for real.

    The hold ends once every request that found no connection was answered
    (busy) and at most the pool's connections are still waiting on the
    database; then those finish too.  The bound comes from the pool's own wait.
    """
    config = context.system.config
    burst = Burst(researcher, n)
    try:
        async with database_held_up(context.database.url):
            await burst.start()
            await async_wait_until(
                lambda: (burst.busy(), burst.pending()), until=lambda s: s[0] > 0 and s[1] <= config.queue.pool_size,
                timeout=6 * config.queue.acquire_timeout_s, interval=0.05,
                describe=f"requests beyond the pool's {config.queue.pool_size} connections to be told busy (seen: busy, pending)")
    finally:
        await burst.finish()
    return burst


async def taken_up_again(context, researcher: Researcher, jobs: set[int]) -> None:
    """Until each of ``jobs`` (a killed worker's) has started again: once its lease runs out, the next
    poll takes it back and claims it, so within a lease and two polls, not the batch's whole bound."""
    config = context.system.config
    bound = config.worker.lease_s + 2 * config.worker.poll_interval_s
    await researcher.events.wait_for(lambda evs: all(sum(e["type"] == "job.started" and e["job_id"] == j for e in evs) >= 2 for j in jobs),
                                     bound, describe=f"jobs {sorted(jobs)} to be started again within a lease and two polls ({bound:g} s)")


def freeze(context, processes: list[ManagedProcess]) -> None:
    """SIGSTOP, as a hung machine would; resumed when the scenario ends if a step has not done it."""
    for proc in processes:
        proc.pause()
        keep_for_scenario(context, proc, proc.resume)


def resume(processes: list[ManagedProcess]) -> None:
    for proc in processes:
        proc.resume()


def freeze_inference(context) -> None:
    freeze(context, context.system.inference)


def resume_inference(context) -> None:
    resume(context.system.inference)


# ---------------------------------------------------------------- workers in containers
def workers_in_containers(context, n: int) -> list[WorkerContainer]:
    """``n`` workers in containers of their own, each running one job at a time, the only ones that work: the
    system's own workers are frozen for the scenario.  Each container is removed when the scenario ends (its log
    kept beside the others)."""
    system = context.system
    freeze(context, system.workers)
    containers = []
    for i in range(n):
        name = f"container-worker-{i + 1}"
        env = to_env(settings.replace(system.config.worker, name=name, concurrency=1, database_url=system.database_url,
                                      inference_url=system.inference_urls))
        container = WorkerContainer(name, env, system.log_dir / f"{name}.log", SYSTEM_ROOT)
        keep_for_scenario(context, container, container.remove)
        containers.append(container.start())
    return containers


async def _held_by(researchers: list[Researcher], worker: str) -> set[int]:
    jobs = await everyone(r.api.job(j) for r in researchers for b in r.batches for j in b["job_ids"])
    return {j["id"] for j in jobs if j["status"] == "running" and j["worker"] == worker}


async def kill_pause_restart(context, containers: list[WorkerContainer]) -> dict[str, list[int]]:
    """Once each container runs a job (one at a time each, the inference server frozen): one container killed,
    one paused, one restarted (SIGTERM, then start); the inference server goes on; the paused one is woken once
    the job it held was started again elsewhere (past its lease); until every batch ends.  Returns the jobs each
    held, one each."""
    researchers, w = context.state.researchers, context.system.config.worker
    killed, paused, restarted = containers
    freeze_inference(context)
    await everyone(r.segment() for r in researchers)
    await async_wait_until(lambda: sum(e["type"] == "job.started" for r in researchers for e in r.events.bodies()),
                           until=lambda n: n >= len(containers), timeout=BATCH_TIMEOUT_S, interval=0.05,
                           describe=f"{len(containers)} jobs to start, one in each container")
    held = {c.name: await _held_by(researchers, c.name) for c in containers}
    assert all(len(jobs) == 1 for jobs in held.values()), f"each container should run one job: {held}"
    killed.kill()
    paused.pause()
    await asyncio.to_thread(restarted.restart, w.shutdown_grace_s + SHUTDOWN_CLOSE_S)
    resume_inference(context)
    taken_over = held[paused.name]
    await async_wait_until(lambda: {e["job_id"] for r in researchers for e in r.events.bodies()
                                    if e["type"] == "job.started" and e["attempt"] >= 2} >= taken_over,
                           until=bool, timeout=BATCH_TIMEOUT_S, interval=0.1,
                           describe=f"the jobs {sorted(taken_over)} of the paused {paused.name} to be started again elsewhere")
    paused.resume()
    await everyone(r.wait_for_batches(BATCH_TIMEOUT_S) for r in researchers)
    return {name: sorted(jobs) for name, jobs in held.items()}
