"""Steps about live events: order, exactness, isolation, latency."""

from __future__ import annotations

from behave import then

from harness.researchers import checks


@then("each researcher saw, live, every event of their own jobs in order and none of anyone else's")
def step_events_in_order_and_own(context):
    checks.researchers_streams(context.state.researchers)


@then("the events reached the researchers within a second of the change they report")
def step_event_latency(context):
    checks.events_delivered_within(context.state.researchers, bound_s=1.0)
