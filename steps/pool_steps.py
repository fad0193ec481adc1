"""Steps about the API's database pool under a burst of requests."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
from behave import then, when

from harness.metrics import scrape, total
from harness.reporting import measured

# Generous: a request that takes this long is hanging, not waiting for a connection.
HANG_S = 60


@when("{n:d} requests from the researcher arrive at the same moment")
async def step_burst(context, n: int):
    r = context.researchers[0]
    url = f"{r.api.base_url}/api/projects/{r.project_id}/images"
    headers = r.api.headers()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def one():
            async with session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=HANG_S)) as resp:
                body = await resp.json()
                return resp.status, body, resp.headers.get("Retry-After")

        context.burst = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)


@then('every request is answered, with what was asked or with "busy" and a time to retry')
def step_all_answered(context):
    r = context.researchers[0]
    hung = [x for x in context.burst if isinstance(x, BaseException)]
    assert not hung, f"{len(hung)} requests got no answer: {hung[:3]!r}"
    outcomes = Counter()
    for status, body, retry_after in context.burst:
        if status == 200:
            assert [i["id"] for i in body] == [i.id for i in r.images], body
            outcomes["ok"] += 1
        else:
            assert status == 503 and body["error"]["code"] == "busy" and retry_after, (status, body, retry_after)
            outcomes["busy"] += 1
    context.outcomes = outcomes


@then("afterwards every database connection is back in the pool, idle")
async def step_pool_idle(context):
    api = context.system.apis[0]
    samples = await scrape(context.http, api.address)
    size, idle, limit = (total(samples, n) for n in ("queue_db_pool_connections", "queue_db_pool_idle", "queue_db_pool_max"))
    measured("database pool after the burst", {"answered ok": context.outcomes["ok"], "answered busy": context.outcomes["busy"],
                                               "pool connections": size, "idle": idle, "limit": limit})
    # The scrape itself holds no connection, so every open connection must be idle.
    assert idle == size, f"{size - idle:g} connections still in use after the burst"
    assert size <= limit
