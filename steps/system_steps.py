"""Steps that change the system itself: more workers, a frozen or killed process."""

from __future__ import annotations

from behave import given


@given("{n:d} workers are serving the queue")
def step_n_workers(context, n: int):
    system = context.system
    while len(system.workers) < n:
        system.start_worker()  # extra workers are stopped after the scenario


@given("the inference server is frozen")
def step_inference_frozen(context):
    for proc in context.system.inference:
        proc.pause()
        context.add_cleanup(proc.resume)


@given("the workers are held up for a moment")
def step_workers_held(context):
    """Frozen (SIGSTOP) so that every researcher's batch is queued before any is claimed."""
    for proc in context.system.workers:
        proc.pause()
        context.add_cleanup(proc.resume)
