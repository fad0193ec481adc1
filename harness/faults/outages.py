"""Ordinary faults of a real deployment, put into a running four-researcher run.

Each fault is named in business language (the feature files use the names of
``FAULTS``), happens once enough work is under way, and is recorded as a
:class:`FaultWindow`: when it began and ended, and what the API answered to
the requests a client made meanwhile.  What the system must show afterwards
(every job succeeded exactly once, every event delivered, recovery within a
bound from its own settings) is checked by the steps, from what the
researchers observed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg

from harness.clients.inference import InferenceClient
from harness.faults.halts import freeze, resume
from harness.faults.injector import database_read_only as database_read_only_for_everyone
from harness.faults.injector import fill, small_disk, terminate_every_connection, why_no_small_disk
from harness.faults.recovery import MID_RUN_SUCCESSES, back_to_full_strength, recovery_bound_s, succeeded
from harness.faults.window import FaultWindow, during
from harness.lifetime import keep_for_scenario
from harness.researchers.actors import Researcher, everyone
from harness.stack.processes import ManagedProcess
from harness.waiting import BATCH_TIMEOUT_S, async_wait_until
from system.queue.queries import q


async def database_restarts(context, mode: str) -> FaultWindow:
    window = FaultWindow(f"PostgreSQL {'crashes' if mode == 'immediate' else 'restarts'} ({mode} shutdown, then start)")
    await during(window, context.state.researchers, lambda: context.database.restart(mode))
    return window


async def database_read_only(context) -> FaultWindow:
    """Every transaction read-only for half a job's lease: writes are refused, reads answered, and no lease
    (renewed every third of it) can run out meanwhile, so whatever the service does wrong shows as a charge."""
    seconds = context.system.config.worker.lease_s / 2

    async def hold() -> None:
        async with database_read_only_for_everyone(context.system.direct_database_url):
            await asyncio.sleep(seconds)

    window = FaultWindow(f"PostgreSQL read-only for {seconds:g} s (ALTER SYSTEM SET default_transaction_read_only)", writes=True)
    await during(window, context.state.researchers, lambda: asyncio.run(hold()))  # in the fault's own thread and loop
    return window


async def disk_full(context) -> FaultWindow:
    """The disk under the images and results fills up for a few seconds (a tablespace on a tmpfs of its own,
    filled with a file, then freed): uploads and results cannot be written meanwhile; everything else can."""
    seconds = 3.0
    window = FaultWindow(f"the disk under images and results full for {seconds:g} s (ENOSPC in a tablespace of its own)", writes="upload")
    async with small_disk(context.system.direct_database_url) as folder:
        def fault() -> None:
            ballast = fill(folder)
            time.sleep(seconds)  # the fault's own length, in its own thread
            ballast.unlink()

        await during(window, context.state.researchers, fault)
    return window


async def every_connection_dropped(context) -> FaultWindow:
    """``pg_terminate_backend`` on every other connection to the database: pools, listeners, all of them."""
    window = FaultWindow("every database connection terminated (pg_terminate_backend)")
    window.started = time.time()
    window.terminated = await terminate_every_connection(context.database.url)
    window.ended = time.time()
    return window


async def freeze_a_worker_past_its_lease(context, researcher: Researcher, batch: dict) -> tuple[ManagedProcess, set[int]]:
    """Freeze (SIGSTOP) a worker holding some of the batch's jobs while the inference server answers them, until
    the other workers have taken those jobs over and finished them; then wake it, holding answers nobody wants."""
    jobs = await everyone(researcher.api.job(j) for j in batch["job_ids"])
    running = [j for j in jobs if j["status"] == "running"]
    assert running, f"no job of the batch is running: {[j['status'] for j in jobs]}"
    victim = context.system.worker_named(running[0]["worker"])
    held = {j["id"] for j in running if j["worker"] == running[0]["worker"]}
    freeze(context, [victim])
    resume(context.system.inference)
    await researcher.events.wait_for(lambda evs: held <= {e["job_id"] for e in evs if e["type"] == "job.succeeded"}, BATCH_TIMEOUT_S,
                                     describe=f"jobs {sorted(held)} of the frozen {victim.name} to be taken over and finished")
    resume([victim])
    return victim, held


async def results_dropped_by(database_url: str, worker: ManagedProcess, jobs: set[int], bound_s: float) -> set[int]:
    """Until the woken ``worker``'s heartbeat (docs/api.md, "What a worker holds") names none of ``jobs``;
    returns those it let go.  Its last heartbeat before the freeze still named them; one written since it
    woke that leaves them out says it dropped what it held instead of storing it."""
    conn = await asyncpg.connect(database_url)
    try:
        async def heartbeat() -> tuple:
            row = await conn.fetchrow("SELECT last_seen, holding FROM workers WHERE name = $1", worker.name)
            return (row["last_seen"], set(row["holding"])) if row else (None, set(jobs))

        frozen_seen, _ = await heartbeat()
        seen, holding = await async_wait_until(
            heartbeat, until=lambda s: s[0] is not None and s[0] != frozen_seen and not s[1] & jobs, timeout=bound_s, interval=0.1,
            describe=f"{worker.name}, woken, to report that it no longer holds jobs {sorted(jobs)} (seen: last heartbeat, holding)")
        return jobs - holding
    finally:
        await conn.close()


async def inference_restarts(context) -> FaultWindow:
    window = FaultWindow("the inference server killed (SIGKILL) and started again on its port")
    await during(window, context.state.researchers, lambda: context.system.restart(context.system.inference[0]))
    return window


async def api_restarts(context) -> FaultWindow:
    """The API process that sends some researchers' events dies; a supervisor starts it again on its port."""
    window = FaultWindow("an API process killed (SIGKILL) and started again on its port")
    target = context.system.api_at(context.state.researchers[0].events.base_url)
    await during(window, context.state.researchers[1:], lambda: context.system.restart(target))
    return window


async def inference_hangs(context) -> FaultWindow:
    """The inference server stops answering (SIGSTOP: its sockets stay open, nothing comes back) for twice
    a job's lease, then carries on.  The duration is the fault itself, not a wait for something."""
    lease = context.system.config.worker.lease_s
    window = FaultWindow(f"the inference server hung (SIGSTOP) for {2 * lease:g} s, twice a job's lease")
    server = context.system.inference[0]

    def hang() -> None:
        server.pause()
        try:
            time.sleep(2 * lease)
        finally:
            server.resume()

    await during(window, context.state.researchers, hang)
    return window


async def slow_inference(context, passes: int) -> float:
    """The system's inference server takes 1.5 leases for each of its next ``passes`` forward passes
    (disarmed when the scenario ends); returns the delay in seconds."""
    delay_s = 1.5 * context.system.config.worker.lease_s
    server = InferenceClient(context.system.inference[0].address, context.http)
    await server.arm_faults(delay_ms=int(delay_s * 1000), count=passes)
    keep_for_scenario(context, server, server.clear_faults)
    return delay_s


async def _proxies_misbehave(context, what: str, proxies: list, misbehave: Callable, seconds: float) -> FaultWindow:
    """``misbehave(proxy)`` on each of ``proxies`` for ``seconds`` (the fault's length is the fault), then heal them."""
    window = FaultWindow(what)

    def fault() -> None:
        for proxy in proxies:
            misbehave(proxy)
        try:
            time.sleep(seconds)
        finally:
            for proxy in proxies:
                proxy.heal()

    await during(window, context.state.researchers, fault)
    return window


async def database_unreachable(context) -> FaultWindow:
    seconds = 0.75 * context.system.config.worker.lease_s  # several seconds, yet within a lease
    return await _proxies_misbehave(context, f"PostgreSQL unreachable for {seconds:g} s (blackholed: packets dropped, connections hanging)",
                                    [context.proxies.database], lambda p: p.blackhole(), seconds)


async def database_flaky(context) -> FaultWindow:
    seconds = 2 * context.system.config.worker.lease_s
    return await _proxies_misbehave(context, f"one database connection or message in three reset, for {seconds:g} s",
                                    [context.proxies.database], lambda p: p.flaky(1 / 3), seconds)


async def inference_unreachable(context) -> FaultWindow:
    seconds = 10.0  # the figure: well past a lease and the circuit's longest cool-down
    return await _proxies_misbehave(context, f"the inference server unreachable (connections refused) for {seconds:g} s",
                                    list(context.proxies.inference.values()), lambda p: p.refuse(), seconds)


def lose_claim_answers(context, times: int) -> None:
    """The next ``times`` claims (a worker taking an image) commit, but the database's answer is lost on the way
    back and the worker's connection reset; the proxy is plain again when the scenario ends."""
    proxy = context.proxies.database
    proxy.lose_answers(q("claim_job").encode(), times)  # the statement as the worker sends it
    keep_for_scenario(context, proxy, proxy.heal)


def answers_lost(context) -> int:
    return context.proxies.database.counters.answers_lost


def slow_network(context, ms: float, jitter_ms: float) -> None:
    """Every link through a proxy waits ``ms`` plus or minus ``jitter_ms`` each way, until the scenario ends."""
    for proxy in context.proxies.all():
        proxy.delay(ms, jitter_ms)
    keep_for_scenario(context, context.proxies, context.proxies.heal)


FAULTS: dict[str, Callable[..., Awaitable[FaultWindow]]] = {
    "the database restarts": lambda context: database_restarts(context, "fast"),
    "the database crashes": lambda context: database_restarts(context, "immediate"),
    "every database connection is dropped": every_connection_dropped,
    "the database turns read-only for half a job's lease": database_read_only,
    "the disk under the images and results fills up for a few seconds": disk_full,
    "the inference server is killed and started again": inference_restarts,
    "the API process sending their events is killed and started again": api_restarts,
    "the inference server hangs for twice a job's lease": inference_hangs,
    "the database cannot be reached for a few seconds": database_unreachable,
    "one database connection or query in three fails for a while": database_flaky,
    "the inference server cannot be reached for ten seconds": inference_unreachable,
}


NETWORK_FAULTS = ("the database cannot be reached for a few seconds", "one database connection or query in three fails for a while",
                  "the inference server cannot be reached for ten seconds")


def cannot_inject(context, fault: str) -> str | None:
    """Why ``fault`` cannot be put into this run (None when it can)."""
    if fault in ("the database restarts", "the database crashes") and context.database.restart is None:
        return f"the {context.database.strategy} PostgreSQL is not the harness's to restart"
    if "read-only" in fault and context.database.strategy == "external":
        return "making an external PostgreSQL read-only (ALTER SYSTEM) is not the harness's to do"
    if "disk" in fault and context.database.strategy != "embedded":
        return f"a full disk needs the embedded cluster on this machine (strategy: {context.database.strategy})"
    if "disk" in fault and (why := why_no_small_disk()):
        return why
    if fault in NETWORK_FAULTS and not hasattr(context, "proxies"):
        return "this system reaches its database and inference server directly; network faults need a feature tagged @network"
    return None


async def fault_mid_run(context, fault: str) -> FaultWindow:
    """Every researcher segments their project; once work is under way, ``fault`` happens; then all batches finish."""
    researchers = context.state.researchers
    await everyone(r.segment() for r in researchers)
    await async_wait_until(lambda: sum(succeeded(e) for r in researchers for e in r.events.bodies()), until=lambda n: n >= MID_RUN_SUCCESSES,
                           timeout=BATCH_TIMEOUT_S, interval=0.02, describe=f"{MID_RUN_SUCCESSES} jobs to succeed before the fault")
    window = await FAULTS[fault](context)
    await back_to_full_strength(context, window, recovery_bound_s(context.system.config))
    await everyone(r.wait_for_batches(BATCH_TIMEOUT_S) for r in researchers)
    return window


