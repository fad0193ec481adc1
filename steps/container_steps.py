"""Steps about the system's processes in containers of their own."""

from __future__ import annotations

from behave import given, when

from harness.faults import halts
from harness.report.attach import measured
from harness.stack.containers import why_no_worker_containers


@given("{n:d} workers running in containers of their own, and no other")
def step_workers_in_containers(context, n: int):
    if why := why_no_worker_containers():
        context.scenario.skip(reason=why)
        return
    context.state.containers = halts.workers_in_containers(context, n)


@when("they all segment their projects, and meanwhile one container is killed, one paused past its lease and one restarted")
async def step_container_faults(context):
    held = await halts.kill_pause_restart(context, context.state.containers)
    measured("workers in containers", {"jobs held when the faults began": held})
