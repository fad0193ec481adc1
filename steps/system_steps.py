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
