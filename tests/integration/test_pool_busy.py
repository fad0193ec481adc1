"""When the pool's wait runs out the API answers 503 busy with Retry-After, never hangs, leaks nothing."""

from __future__ import annotations

import asyncio

import aiohttp

from harness.faults.injector import database_held_up
from harness.measure.metrics import scrape, total
from harness.researchers.actors import Researcher
from harness.waiting import async_wait_until


async def test_an_exhausted_pool_answers_busy_and_recovers(system):
    """Both connections are held (their queries wait on a lock the test holds), so every other request finds the
    pool busy - whatever the machine's speed - and is told so at once; released, the two held ones are answered."""
    pool_size, requests = 2, 40
    api = system.start_api(POOL_SIZE=str(pool_size), POOL_ACQUIRE_TIMEOUT="0.2")
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            researcher = await Researcher.sign_up(api.address, session, "pool")
            await researcher.create_project()
            url = f"{api.address}/api/projects/{researcher.project_id}/images"

            async def one():
                async with session.get(url, headers=researcher.api.headers(), timeout=aiohttp.ClientTimeout(total=60)) as resp:
                    return resp.status, (await resp.json()), resp.headers.get("Retry-After")

            assert [a[0] for a in await asyncio.gather(*(one() for _ in range(pool_size)))] == [200] * pool_size  # both connections open
            async with database_held_up(system.database_url):
                tasks = [asyncio.create_task(one()) for _ in range(requests)]
                await async_wait_until(lambda: sum(t.done() for t in tasks), until=lambda n: n >= requests - pool_size, timeout=60,
                                       describe=f"every request but the {pool_size} holding a connection to be answered")
                busy = [t.result() for t in tasks if t.done()]
            answers = await asyncio.gather(*tasks)
            assert all(b[0] == 503 and b[1]["error"]["code"] == "busy" and b[2] == "1" for b in busy), busy[:3]
            assert len(busy) == requests - pool_size, f"{len(busy)} answered while {pool_size} connections were held"
            served = [a[0] for a in answers if a not in busy]
            assert served == [200] * pool_size, served
            samples = await scrape(session, api.address)
            assert total(samples, "queue_db_pool_idle") == total(samples, "queue_db_pool_connections") <= pool_size
            # and it serves normally again
            async with session.get(url, headers=researcher.api.headers()) as resp:
                assert resp.status == 200
    finally:
        system.apis.remove(api)
        api.stop()
