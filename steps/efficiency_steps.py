"""Steps about what the queue and the server add to the model's own cost (features/efficiency.feature)."""

from __future__ import annotations

from behave import given, then, when

from harness.report.attach import measured
from harness.researchers import seeded, serving
from harness.workloads import efficiency


@given("{n:d} researchers, each with a project of {images:d} spheroid images of {width:d} by {height:d} pixels")
async def step_researchers_with_images(context, n: int, images: int, width: int, height: int):
    assert n == 4, "the comparison is four researchers against four clients"
    context.state.images = serving.unseen_pngs(n * images, size=(width, height))
    context.state.researchers = await seeded.four_researchers_sharing(context, context.state.images)


@when("their batches go through the queue, alternating with 4 clients sending the same images to the inference server, {rounds:d} rounds each")
async def step_compare(context, rounds: int):
    context.state.comparison = await efficiency.compare(context.system, context.http, context.state.researchers, "unet", context.state.images, rounds)
    measured("efficiency: the queue against the inference server directly", context.state.comparison)


@then("per job, the worker, the API and PostgreSQL together spend at most {percent:d}% of the CPU the inference server spends")
def step_queue_cpu(context, percent: int):
    share = context.state.comparison["queue_cpu_over_inference_median"]
    assert share <= percent / 100, f"the queue path spent {share:.1%} of the inference server's CPU per job (rounds: " \
        f"{[r['queue']['cpu_s_per_image'] for r in context.state.comparison['rounds']]})"


@then("the researchers get at least {percent:d}% of the direct clients' throughput")
def step_queue_throughput(context, percent: int):
    got, cores = context.state.comparison["throughput_ratio_median"], context.state.comparison["cpu_cores"]
    if cores < efficiency.MIN_CORES_FOR_RATIO and not context.gpu.available:
        context.scenario.skip(reason=f"measured {got:.3f} of the direct throughput, but not asserted: with {cores} cores and no GPU the "
                                     f"queue's processes take the CPU the model runs on (needs {efficiency.MIN_CORES_FOR_RATIO}+ cores or a GPU)")
        return
    assert got >= percent / 100, f"the queue delivered {got:.3f} of the direct throughput (rounds: {context.state.comparison['rounds']})"
