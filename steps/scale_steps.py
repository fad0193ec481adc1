"""Steps about the service at scale: twenty researchers, many tabs each."""

from __future__ import annotations

from behave import given, then, when

from harness import waiting
from harness.report.attach import attach_timeline, measured
from harness.researchers import crowd
from harness.researchers.actors import everyone


@given("each of them follows their work in {n:d} more browser tabs")
async def step_more_tabs(context, n: int):
    context.state.tabs = {r.name: await crowd.open_tabs(context, r, n) for r in context.state.researchers}


@when("the first {n:d} researchers segment their projects, and once each of them has a result the others segment theirs")
async def step_large_first_then_small(context, n: int):
    large, small = context.state.researchers[:n], context.state.researchers[n:]
    await everyone(r.segment() for r in large)
    await everyone(r.events.wait_for(lambda evs: any(e["type"] == "job.succeeded" for e in evs), waiting.BATCH_TIMEOUT_S,
                                     describe=f"{r.name}'s first result") for r in large)
    await everyone(r.segment() for r in small)
    await everyone(r.wait_for_batches(waiting.BATCH_TIMEOUT_S) for r in context.state.researchers)
    attach_timeline(context.state.researchers, f"completions per researcher: {len(large)} large batches, {len(small)} small ones")


@then("every small batch gets its first result before any large batch is half done")
def step_every_small_before_any_half(context):
    sizes = {r.name: len(r.images) for r in context.state.researchers}
    biggest = max(sizes.values())
    large = [r for r in context.state.researchers if sizes[r.name] == biggest]
    small = [r for r in context.state.researchers if sizes[r.name] < biggest]
    first_half = min(r.final_times()[len(r.final_times()) // 2 - 1] for r in large)
    late = {r.name: round(r.final_times()[0] - first_half, 3) for r in small if r.final_times()[0] >= first_half}
    measured("small batches' first results against the first large batch to be half done",
             {"small_batches": len(small), "large_batches": len(large),
              "last_first_result_s_before_half": round(first_half - max(r.final_times()[0] for r in small), 3)})
    assert not late, f"first results after a large batch was half done (seconds after): {late}"


@then("all {n:d} of their images finish before any large batch does")
def step_small_finish_before_any_large(context, n: int):
    sizes = {r.name: len(r.images) for r in context.state.researchers}
    biggest = max(sizes.values())
    small_done = [t for r in context.state.researchers if sizes[r.name] < biggest for t in r.final_times()]
    large_done = min(r.final_times()[-1] for r in context.state.researchers if sizes[r.name] == biggest)
    assert len(small_done) == n, f"{len(small_done)} small-batch images finished, expected {n}"
    assert max(small_done) < large_done, f"a large batch finished {max(small_done) - large_done:.3f} s before the last small image"


@then("each of the {n:d} tabs received every event of its researcher, in order, and nothing of anyone else's")
async def step_every_tab_everything(context, n: int):
    problems, tabs = [], 0
    for r in context.state.researchers:
        own = context.state.tabs[r.name]
        last = await crowd.wait_for_every_tab(r, own, waiting.BATCH_TIMEOUT_S)
        problems += crowd.tab_problems(r, own, last)
        tabs += 1 + len(own)
    assert tabs == n, f"{tabs} tabs were open, the scenario meant {n}"
    assert not problems, f"{len(problems)} problems, the first: {problems[:3]}"


@then("every event reached every tab within {bound:g} second of being written")
def step_events_in_time(context, bound: float):
    streams = [s for r in context.state.researchers for s in crowd.all_streams(r, context.state.tabs[r.name])]
    figures = crowd.latency_summary(streams, bound)
    measured("event latency, every event in every tab", figures)
    assert figures["over_bound"] == 0, f"{figures['over_bound']} of {figures['events']} deliveries took over {bound:g} s: {figures}"
