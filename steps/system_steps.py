"""Steps that change the system itself: more workers, a frozen process."""

from __future__ import annotations

from behave import given

from harness.faults import halts


@given("{n:d} workers are serving the queue")
def step_n_workers(context, n: int):
    context.system.scale_workers(n)  # extra workers are stopped after the scenario


@given("the inference server is frozen")
def step_inference_frozen(context):
    halts.freeze_inference(context)


@given("the workers are held up for a moment")
def step_workers_held(context):
    """Frozen (SIGSTOP) so that every researcher's batch is queued before any is claimed."""
    halts.freeze(context, context.system.workers)
