"""What the step modules share: the scenario layer between Gherkin and the machinery.

Steps stay a few lines because the work lives here: researchers with images,
waiting for jobs to start, freezing and resuming processes, servers of a
scenario's own.  Every per-scenario resource is registered with behave's
``use_fixture`` where it is created, so it is released when the scenario ends,
passed or failed, in reverse order of creation.

Bounds: ``BATCH_TIMEOUT_S`` turns a broken system into a failed scenario
instead of a hung one; it is never an assertion about speed.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

from behave import fixture, use_fixture

from system.inference import synthetic
from system.inference.registry import DEFAULT_WEIGHTS_DIR

from . import efficiency
from .actors import Researcher, everyone
from .burst import Burst
from .faults import database_held_up
from .inference_client import InferenceClient
from .processes import ManagedProcess
from .waiting import async_wait_until

BATCH_TIMEOUT_S = 180

_turns = itertools.count()


# ---------------------------------------------------------------- fixtures
@fixture
def released_after_scenario(context, resource, release: Callable[[], Awaitable[None] | None]):
    """Yield ``resource``; when the scenario ends, call ``release`` (awaited on the run's loop if it is a coroutine)."""
    yield resource
    outcome = release()
    if asyncio.iscoroutine(outcome):
        context.loop.run_until_complete(outcome)


def keep_for_scenario(context, resource, release):
    return use_fixture(released_after_scenario, context, resource, release)


# ---------------------------------------------------------------- researchers
# Each scenario draws its images from seeds of its own, chosen by its name: the same scenario gets the
# same images whatever ran before it, in a serial run or any other order.
SEEDS_PER_RESEARCHER = 100
RESEARCHERS_PER_SCENARIO = 10


def scenario_seed_base(name: str) -> int:
    span = SEEDS_PER_RESEARCHER * RESEARCHERS_PER_SCENARIO
    return synthetic.EVAL_SEED_BASE + 100_000 + (zlib.crc32(name.encode()) % 100_000) * span


async def researcher_with_images(context, count: int) -> Researcher:
    """A new researcher with a project of ``count`` spheroid images, listening to their events.

    Requests go to one API process and the live events come from another (where
    there are several), so every event crosses processes.
    """
    apis = [p.address for p in context.system.apis]
    turn = next(_turns)
    first_seed = seed_block(context, count)
    researcher = await Researcher.sign_up(apis[turn % len(apis)], context.http)
    first = (turn + 1) % len(apis)
    await researcher.listen(apis[first:] + apis[:first], context.system.config.max_attempts)
    keep_for_scenario(context, researcher, researcher.events.close)
    await researcher.create_project()
    await researcher.upload_spheroids(count, first_seed=first_seed)
    return researcher


def seed_block(context, count: int) -> int:
    """The first of ``count`` image seeds for the scenario's next researcher."""
    slot = getattr(context, "researcher_slots", 0)
    if count > SEEDS_PER_RESEARCHER or slot >= RESEARCHERS_PER_SCENARIO:
        raise ValueError(f"a scenario has seeds for {RESEARCHERS_PER_SCENARIO} researchers of up to {SEEDS_PER_RESEARCHER} images")
    context.researcher_slots = slot + 1
    return scenario_seed_base(context.scenario.name) + slot * SEEDS_PER_RESEARCHER


async def researchers_with_images(context, n: int, count: int) -> list[Researcher]:
    return await everyone(researcher_with_images(context, count) for _ in range(n))


async def four_researchers_sharing(context, images: list[bytes]) -> list[Researcher]:
    """Four researchers, listening, each with a project of a quarter of ``images``; closed when the scenario ends."""
    researchers = await efficiency.researchers_with_images(context.system.api_url, context.http, images, "researcher")
    for r in researchers:
        keep_for_scenario(context, r, r.events.close)
    return researchers


async def segment_and_wait(researcher: Researcher, **options) -> None:
    await researcher.segment(**options)
    await researcher.wait_for_batches(BATCH_TIMEOUT_S)


async def wait_for_started(researcher: Researcher, n: int) -> None:
    """Until ``n`` of the researcher's jobs have started (their events say so)."""
    await researcher.events.wait_for(lambda evs: sum(e["type"] == "job.started" for e in evs) >= n, BATCH_TIMEOUT_S,
                                     describe=f"{n} of {researcher.name}'s jobs to start")


async def wait_for_all_running_slots(context, researcher: Researcher, batch: dict) -> None:
    """Until as many of the batch's jobs run as the service allows at once."""
    await wait_for_started(researcher, min(context.system.config.max_running, len(batch["job_ids"])))


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
                lambda: (burst.busy(), burst.pending()), until=lambda s: s[0] > 0 and s[1] <= config.pool_size,
                timeout=6 * config.acquire_timeout_s, interval=0.05,
                describe=f"requests beyond the pool's {config.pool_size} connections to be told busy (seen: busy, pending)")
    finally:
        await burst.finish()
    return burst


# ---------------------------------------------------------------- a killed worker's jobs
async def taken_up_again(context, researcher: Researcher, jobs: set[int]) -> None:
    """Until each of ``jobs`` (a killed worker's) has started again: once its lease runs out, the next
    poll takes it back and claims it, so within a lease and two polls, not the batch's whole bound."""
    config = context.system.config
    bound = config.lease_s + 2 * config.poll_interval_s
    await researcher.events.wait_for(lambda evs: all(sum(e["type"] == "job.started" and e["job_id"] == j for e in evs) >= 2 for j in jobs),
                                     bound, describe=f"jobs {sorted(jobs)} to be started again within a lease and two polls ({bound:g} s)")


# ---------------------------------------------------------------- processes
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


def own_inference_server(context, **env: str) -> InferenceClient:
    """An inference server of the scenario's own (its lanes, weights, faults); stopped when the scenario ends."""
    proc = context.system.start_standalone_inference(**env)
    keep_for_scenario(context, proc, lambda: context.system.stop_standalone(proc))
    context.server = InferenceClient(proc.address, context.http)
    return context.server


def inference_server(context) -> InferenceClient:
    """The scenario's own inference server if it started one, else the system's."""
    return getattr(context, "server", None) or InferenceClient(context.system.inference[0].address, context.http)


def own_weights(context) -> Path:
    """A copy of the model weights the scenario may damage or replace; deleted when it ends."""
    folder = Path(tempfile.mkdtemp(prefix="paraseg-weights-"))
    for f in DEFAULT_WEIGHTS_DIR.iterdir():
        shutil.copy(f, folder / f.name)
    keep_for_scenario(context, folder, lambda: shutil.rmtree(folder, ignore_errors=True))
    context.weights = folder
    return folder
