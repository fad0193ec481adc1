"""When the pool's wait runs out the API answers 503 busy with Retry-After, never hangs, leaks nothing."""

from __future__ import annotations

import asyncio

import aiohttp

from harness.actors import Researcher
from harness.metrics import scrape, total


async def test_an_exhausted_pool_answers_busy_and_recovers(system):
    api = system.start_api(POOL_SIZE="2", POOL_ACQUIRE_TIMEOUT="0.005")
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            researcher = await Researcher.sign_up(api.address, session, "pool")
            await researcher.create_project()
            url = f"{api.address}/api/projects/{researcher.project_id}/images"

            async def one():
                async with session.get(url, headers=researcher.api.headers(), timeout=aiohttp.ClientTimeout(total=60)) as resp:
                    return resp.status, (await resp.json()), resp.headers.get("Retry-After")

            answers = await asyncio.gather(*(one() for _ in range(150)))
            statuses = [a[0] for a in answers]
            busy = [a for a in answers if a[0] == 503]
            assert set(statuses) <= {200, 503}, statuses
            assert busy, "150 requests on 2 connections with a 5 ms wait never found the pool busy"
            assert all(b[1]["error"]["code"] == "busy" and b[2] == "1" for b in busy), busy[:3]
            assert 200 in statuses, "no request got through"
            samples = await scrape(session, api.address)
            assert total(samples, "queue_db_pool_idle") == total(samples, "queue_db_pool_connections") <= 2
            # and it serves normally again
            async with session.get(url, headers=researcher.api.headers()) as resp:
                assert resp.status == 200
    finally:
        system.apis.remove(api)
        api.stop()
