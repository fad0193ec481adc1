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

import itertools
import zlib

from harness.lifetime import keep_for_scenario
from harness.researchers.actors import Researcher, everyone, four_sharing
from harness.waiting import BATCH_TIMEOUT_S
from system.inference import synthetic

_turns = itertools.count()


# ---------------------------------------------------------------- fixtures


# ---------------------------------------------------------------- researchers
# Each scenario draws its images from seeds of its own, chosen by its name: the same scenario gets the
# same images whatever ran before it, in a serial run or any other order.
SEEDS_PER_RESEARCHER = 100
RESEARCHERS_PER_SCENARIO = 25


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
    await researcher.listen(apis[first:] + apis[:first], context.system.config.worker.max_attempts)
    keep_for_scenario(context, researcher, researcher.events.close)
    await researcher.create_project()
    await researcher.upload_spheroids(count, first_seed=first_seed)
    return researcher


def seed_block(context, count: int) -> int:
    """The first of ``count`` image seeds for the scenario's next researcher."""
    slot = context.state.researcher_slots
    if count > SEEDS_PER_RESEARCHER or slot >= RESEARCHERS_PER_SCENARIO:
        raise ValueError(f"a scenario has seeds for {RESEARCHERS_PER_SCENARIO} researchers of up to {SEEDS_PER_RESEARCHER} images")
    context.state.researcher_slots = slot + 1
    return scenario_seed_base(context.scenario.name) + slot * SEEDS_PER_RESEARCHER


async def researchers_with_images(context, n: int, count: int) -> list[Researcher]:
    return await everyone(researcher_with_images(context, count) for _ in range(n))


async def four_researchers_sharing(context, images: list[bytes]) -> list[Researcher]:
    """Four researchers, listening, each with a project of a quarter of ``images``; closed when the scenario ends."""
    researchers = await four_sharing(context.system.api_url, context.http, images, "researcher")
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
    await wait_for_started(researcher, min(context.system.config.worker.max_running, len(batch["job_ids"])))


# ---------------------------------------------------------------- a killed worker's jobs


# ---------------------------------------------------------------- processes


