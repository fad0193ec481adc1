"""Steps about fair sharing: who gets results when."""

from __future__ import annotations

from behave import then, when

from harness import waiting
from harness.measure.analysis import contended_rates, jain_index
from harness.report.attach import attach_timeline, measured
from harness.researchers.actors import everyone


@when("the first researcher segments the project, and a moment later the three others segment theirs")
async def step_large_then_small(context):
    large, *small = context.state.researchers
    await large.segment()
    await large.events.wait_for(lambda evs: any(e["type"] == "job.succeeded" for e in evs), waiting.BATCH_TIMEOUT_S,
                                describe="the large batch's first result")
    await everyone(r.segment() for r in small)
    await everyone(r.wait_for_batches(waiting.BATCH_TIMEOUT_S) for r in context.state.researchers)
    attach_timeline(context.state.researchers, "completions per researcher: one large batch, three small ones")


@then("each of the three gets a first result before the large batch is half done")
def step_small_first_before_half(context):
    large, *small = context.state.researchers
    done = large.final_times()
    half = done[len(done) // 2 - 1]
    ahead = {r.name: round(half - r.final_times()[0], 3) for r in small}
    measured("small batches: first result, seconds before the large batch was half done", ahead)
    assert all(s > 0 for s in ahead.values()), f"a first result came after the large batch was half done: {ahead}"


@then("all {n:d} of their images finish before the large batch does")
def step_small_finish_first(context, n: int):
    large, *small = context.state.researchers
    small_done = [t for r in small for t in r.final_times()]
    assert len(small_done) == n, f"{len(small_done)} small-batch images finished, expected {n}"
    assert max(small_done) < large.final_times()[-1], "the large batch finished before every small one"


@then("every researcher gets a first result before anyone gets a third")
def step_first_before_third(context):
    attach_timeline(context.state.researchers, "completions per researcher: equal batches at once")
    firsts = [r.final_times()[0] for r in context.state.researchers]
    thirds = [r.final_times()[2] for r in context.state.researchers]
    assert max(firsts) < min(thirds), f"a researcher's first result came {max(firsts) - min(thirds):.3f} s after another's third"


@then("while all of them wait, their throughput has a Jain fairness index of at least {bound:f}")
def step_jain(context, bound: float):
    figures = contended_rates({r.name: (r.first_queued_time(), r.final_times()) for r in context.state.researchers})
    figures["jain_index"] = round(jain_index(figures["completions"]), 4)  # one period: counts are proportional to rates
    measured("fairness while contended", figures)
    assert figures["jain_index"] >= bound, f"Jain index {figures['jain_index']} < {bound}"
