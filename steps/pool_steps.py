"""Steps about the API's database pool under a burst of requests."""

from __future__ import annotations

from behave import then, when

from harness.faults import halts
from harness.measure.metrics import pool_state
from harness.report.attach import measured


@when("{n:d} requests from the researcher, good, bad and failing ones, arrive while the database is held up")
async def step_burst(context, n: int):
    context.state.burst = await halts.burst_while_database_held_up(context, context.state.researchers[0], n)


@then('every request is answered, with what was asked or with "busy" and a time to retry')
def step_all_answered(context):
    context.state.outcomes = context.state.burst.outcomes()
    unexpected = {k: v for k, v in context.state.outcomes.items() if k not in ("as asked", "busy")}
    assert not unexpected, f"answers other than what was asked or busy: {unexpected}"


@then('those the service had no room for were told "busy"')
def step_some_busy(context):
    assert context.state.outcomes["busy"] >= 1, f"the pool never ran out: {dict(context.state.outcomes)}"


@then("afterwards the service has all its database connections free again")
async def step_pool_idle(context):
    pool = await pool_state(context.http, context.system.api_at(context.state.researchers[0].api.base_url).address)
    measured("database pool after the burst", dict(context.state.outcomes) | pool)
    # The scrape itself holds no connection, so every open connection must be idle.
    assert pool["idle"] == pool["connections"] <= pool["limit"], f"connections still in use after the burst: {pool}"
