"""Steps about fair sharing: who gets results when."""

from __future__ import annotations

from behave import then, when

from harness.actors import everyone, ts
from harness.analysis import completions_in, jain_index, timeline_png
from harness.reporting import attach_png, measured
from steps.jobs_steps import BATCH_TIMEOUT_S


@when("the first researcher segments the project, and a moment later the three others segment theirs")
async def step_large_then_small(context):
    large, *small = context.researchers
    await large.segment()
    await large.events.wait_for(lambda evs: any(e["type"] == "job.succeeded" for e in evs), BATCH_TIMEOUT_S)
    await everyone(r.segment() for r in small)
    await everyone(r.wait_for_batches(BATCH_TIMEOUT_S) for r in context.researchers)
    _attach_timeline(context, "completions per researcher: one large batch, three small ones")


def _attach_timeline(context, title: str) -> None:
    t0 = min(ts(e) for r in context.researchers for e in r.events.bodies() if e["type"] == "job.queued")
    png = timeline_png({r.name.split("-")[-1]: r.final_times() for r in context.researchers}, title, t0)
    attach_png("timeline", png)


@then("each of the three gets a first result before the large batch is half done")
def step_small_first_before_half(context):
    large, *small = context.researchers
    done = large.final_times()
    half = done[len(done) // 2 - 1]
    firsts = {r.name: r.final_times()[0] for r in small}
    measured("small batches: first result, seconds before the large batch was half done", {k: round(half - v, 3) for k, v in firsts.items()})
    for name, first in firsts.items():
        assert first < half, f"{name} got a first result {first - half:.3f} s after the large batch was half done"


@then("all {n:d} of their images finish before the large batch does")
def step_small_finish_first(context, n: int):
    large, *small = context.researchers
    last_small = [t for r in small for t in r.final_times()]
    assert len(last_small) == n, f"{len(last_small)} small-batch images finished, expected {n}"
    assert max(last_small) < large.final_times()[-1], "the large batch finished before every small one"



@then("every researcher gets a first result before anyone gets a third")
def step_first_before_third(context):
    _attach_timeline(context, "completions per researcher: equal batches at once")
    firsts = [r.final_times()[0] for r in context.researchers]
    thirds = [r.final_times()[2] for r in context.researchers]
    assert max(firsts) < min(thirds), f"a researcher's first result came {max(firsts) - min(thirds):.3f} s after another's third"


@then("while all of them wait, their throughput has a Jain fairness index of at least {bound:f}")
def step_jain(context, bound: float):
    researchers = context.researchers
    start = max(min(ts(e) for e in r.events.bodies() if e["type"] == "job.queued") for r in researchers)
    end = min(r.final_times()[-1] for r in researchers)  # the first researcher to finish ends the contention
    counts = [completions_in(r.final_times(), start, end) for r in researchers]
    rates = [c / (end - start) for c in counts]
    index = jain_index(rates)
    measured("fairness while contended", {"period_s": round(end - start, 3), "completions": counts,
                                          "images_per_s": [round(x, 2) for x in rates], "jain_index": round(index, 4)})
    assert index >= bound, f"Jain index {index:.4f} < {bound}"
