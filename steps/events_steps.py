"""Steps about live events: order, exactness, isolation, latency."""

from __future__ import annotations

from behave import then

from harness import checks
from harness.analysis import latency_figures
from harness.reporting import measured


@then("each researcher saw, live, every event of their own jobs in order and none of anyone else's")
def step_events_in_order_and_own(context):
    checks.researchers_streams(context.researchers)


@then("the events reached the researchers within a second of the change they report")
def step_event_latency(context):
    latencies = [e.latency_s for r in context.researchers for e in r.events.events if e.body["type"] in checks.FINAL_EVENTS]
    figures = latency_figures(latencies)
    measured("event latency (final status committed -> client)", figures)
    assert figures["p99_ms"] < 1000, f"p99 event latency {figures['p99_ms']} ms is not under a second"
