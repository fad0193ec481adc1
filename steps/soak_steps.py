"""Steps about a long busy run: memory, descriptors and connections."""

from __future__ import annotations

from behave import then, when

from harness.report.attach import attach_png, measured
from harness.workloads import soak


@when("they keep the service busy for a minute")
async def step_keep_busy(context):
    context.state.soak = await soak.soak_run(context)
    attach_png("memory, descriptors and connections over the soak", soak.soak_png(context.state.soak))


@then("no service process grew by more than 100 MB")
def step_no_growth(context):
    growth = context.state.soak.growth()
    measured("soak: resident memory growth per process (MiB)", {
        "end_minus_baseline": {k: round(v / 2**20, 1) for k, v in growth.items()},
        "peak_minus_baseline": {k: round(v / 2**20, 1) for k, v in context.state.soak.peak_growth().items()},
        "batches": context.state.soak.batches, "seconds_of_load": soak.SOAK_S})
    grew = {k: round(v / 2**20, 1) for k, v in growth.items() if v >= soak.LEAK_LIMIT_BYTES}
    assert not grew, f"processes that grew by 100 MB or more over the run (MiB): {grew}"


@then("their database connections and open files are back to where they were before the run")
def step_back_to_baseline(context):
    first, last = context.state.soak.baseline(), context.state.soak.last()
    measured("soak: database connections and descriptors", {"baseline": {k: v for k, v in first.items() if k.endswith(("fds", "connections"))},
                                                           "after": {k: v for k, v in last.items() if k.endswith(("fds", "connections"))}})
    assert not context.state.soak.back_to_baseline(last), f"still above their level before the run: {context.state.soak.back_to_baseline(last)}"
