"""A researcher's history past the retention (EVENT_RETENTION_DAYS): swept, and said so when asked for.

The wait for the sweep is bounded by the service's own settings: an event is
swept at most one sweep interval after it passed the retention
(``EVENT_SWEEP_FRACTION`` of it, ``system/contract.py``); the bound allows two
intervals and one statement's time.
"""

from __future__ import annotations

import asyncio

import websockets

from harness.clients.events import EventStream
from harness.lifetime import keep_for_scenario
from harness.researchers.actors import Researcher
from harness.researchers.seeded import seed_block
from harness.waiting import BATCH_TIMEOUT_S, async_wait_until
from system.contract import EVENT_SWEEP_FRACTION, EVENT_SWEEP_MAX_S, STATEMENT_TIMEOUT_S

DAY_S = 86_400.0
CLOSE_WAIT_S = 10.0  # a socket that says nothing this long after the handshake is not closing


def retention_days(seconds: float) -> str:
    """EVENT_RETENTION_DAYS for a retention of ``seconds``."""
    return repr(seconds / DAY_S)


def sweep_bound_s(retention_s: float) -> float:
    return retention_s + 2 * min(EVENT_SWEEP_MAX_S, retention_s * EVENT_SWEEP_FRACTION) + STATEMENT_TIMEOUT_S


async def researcher_with_a_finished_batch(context, base_url: str, count: int) -> Researcher:
    """A researcher signed in at ``base_url``, listening there, whose project of ``count`` images is segmented."""
    researcher = await Researcher.sign_up(base_url, context.http)
    await researcher.listen([base_url], context.system.config.worker.max_attempts)
    keep_for_scenario(context, researcher, researcher.events.close)
    await researcher.create_project()
    await researcher.upload_spheroids(count, first_seed=seed_block(context, count))
    await researcher.segment()
    await researcher.wait_for_batches(BATCH_TIMEOUT_S)
    return researcher


async def wait_until_swept(researcher: Researcher, retention_s: float) -> dict:
    """Until the service keeps none of the researcher's events written so far; GET /api/me then."""
    last = researcher.events.last_seq
    return await async_wait_until(researcher.api.me, until=lambda me: me["events_kept_from"] > last, timeout=sweep_bound_s(retention_s),
                                  interval=0.1, describe=f"{researcher.name}'s events up to seq {last} to be swept (seen: GET /api/me)")


async def replay_from(base_url: str, token: str, after: int) -> tuple[int | None, str, list[str]]:
    """Ask for the events after ``after``: the close code and reason the socket ends with, and the frames it sent."""
    url = base_url.replace("http://", "ws://", 1) + f"/api/events?after={after}"
    frames = []
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10) as ws:
        try:
            async with asyncio.timeout(CLOSE_WAIT_S):
                async for frame in ws:
                    frames.append(frame)
        except websockets.ConnectionClosed:  # any code but 1000 ends the iteration with this
            pass
        except TimeoutError:
            return None, f"still open after {CLOSE_WAIT_S:g} s", frames
    return ws.close_code, ws.close_reason, frames


async def stream_from_now(context, researcher: Researcher, base_url: str) -> tuple[EventStream, int]:
    """A new stream of the researcher's from the seq the service gives now (GET /api/me): the stream and that seq."""
    now = (await researcher.api.me())["event_seq"]
    stream = EventStream([base_url], researcher.api.token, project_ids={researcher.project_id},
                         max_attempts=context.system.config.worker.max_attempts)
    await stream.connect(after=now)
    keep_for_scenario(context, stream, stream.close)
    return stream, now


async def next_batch_heard(researcher: Researcher, stream: EventStream) -> list[dict]:
    """The researcher segments again; every event ``stream`` received until that batch completed."""
    batch = await researcher.segment()
    await stream.wait_for(lambda evs: any(e["type"] == "batch.completed" and e["batch_id"] == batch["batch_id"] for e in evs),
                          BATCH_TIMEOUT_S, describe=f"batch.completed of {researcher.name}'s batch {batch['batch_id']} on the new stream")
    return stream.bodies()
