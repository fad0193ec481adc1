"""Many researchers at once: extra browser tabs' worth of event streams, and what a crowd observed.

A tab is one more :class:`~harness.clients.events.EventStream` of the
researcher's, opened from the start of their stream (``?after=0``) and bound
to their project, so it checks on arrival that every event follows the last
one and is about this researcher's own work.  The checks here compare every
tab with the service's own account of the stream (``GET /api/me``).
"""

from __future__ import annotations

from harness.clients.events import EventStream
from harness.lifetime import keep_for_scenario
from harness.measure.analysis import latency_figures
from harness.researchers.actors import Researcher, everyone


async def open_tabs(context, researcher: Researcher, n: int) -> list[EventStream]:
    """``n`` more event streams of the researcher's, spread over the API processes; closed with the scenario."""
    apis = [p.address for p in context.system.apis]
    tabs = []
    for i in range(n):
        tab = EventStream(apis[i % len(apis):] + apis[:i % len(apis)], researcher.api.token,
                          project_ids={researcher.project_id}, max_attempts=context.system.config.worker.max_attempts)
        await tab.connect(after=0)
        keep_for_scenario(context, tab, tab.close)
        tabs.append(tab)
    return tabs


def all_streams(researcher: Researcher, tabs: list[EventStream]) -> list[EventStream]:
    return [researcher.events, *tabs]


async def wait_for_every_tab(researcher: Researcher, tabs: list[EventStream], timeout: float) -> int:
    """Until each of the researcher's streams has every event up to the stream's end as the service tells it
    (``GET /api/me``, read once their batches are complete); returns that last seq."""
    last = (await researcher.api.me())["event_seq"]
    await everyone(s.wait_for(lambda evs: bool(evs) and evs[-1]["seq"] >= last, timeout,
                              describe=f"{researcher.name}'s events up to seq {last} in every tab") for s in all_streams(researcher, tabs))
    return last


def tab_problems(researcher: Researcher, tabs: list[EventStream], last: int) -> list[str]:
    """What any of the researcher's streams got wrong: a rule broken on arrival, or not exactly seqs 1..last."""
    problems = []
    for i, stream in enumerate(all_streams(researcher, tabs)):
        problems += [f"{researcher.name} tab {i + 1}: {v}" for v in stream.violations]
        seqs = [e["seq"] for e in stream.bodies()]
        if seqs != list(range(1, last + 1)):
            problems.append(f"{researcher.name} tab {i + 1}: seqs {seqs[:5]}..{seqs[-5:]} ({len(seqs)}), not 1..{last}")
    return problems


def event_latencies(streams: list[EventStream]) -> list[float]:
    """Seconds from each event's writing (its ts) to its arrival, for every event every stream received."""
    return [e.latency_s for s in streams for e in s.events]


def latency_summary(streams: list[EventStream], bound_s: float) -> dict:
    return latency_figures(event_latencies(streams), bound_s) | {"streams": len(streams)}
