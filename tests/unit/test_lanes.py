from __future__ import annotations

import asyncio

import torch

from harness.waiting import async_wait_until
from system.inference.batcher import MicroBatcher, Request
from system.inference.faults import FaultInjector
from system.inference.lanes import LanePool


class Doubler(torch.nn.Module):
    def forward(self, x):
        return x * 2


def request(value: float, module) -> Request:
    return Request(module=module, tensor=torch.full((1, 2, 2), value))


async def test_an_out_of_memory_pass_is_retried_and_the_lanes_step_down_then_up():
    batcher = MicroBatcher(max_queue=16, max_batch=4, max_wait=0.01)
    faults = FaultInjector(enabled=True)
    faults.arm(oom=2)
    ooms = []
    # A recovery window longer than the test: the degraded state is seen however slow the machine is;
    # then the window is shortened and the step back up is awaited.
    pool = LanePool(batcher, lanes=4, device=torch.device("cpu"), faults=faults, degraded_lanes=2,
                    recover_after_s=60, on_oom=lambda: ooms.append(1))
    pool.start()
    try:
        module = Doubler()
        requests = [request(i, module) for i in range(6)]
        for r in requests:
            batcher.submit(r)
        results = await asyncio.wait_for(asyncio.gather(*(r.future for r in requests)), 10)
        assert [float(res.logits[0, 0, 0]) for res in results] == [2.0 * i for i in range(6)]
        assert len(ooms) == 2 and pool.allowed == 2 and pool.batch_limit < 4
        # recover_after_s without another out-of-memory error: back up (bounded, not timed).
        pool.recover_after_s = 0.05
        await async_wait_until(lambda: (pool.allowed, pool.batch_limit), until=lambda s: s == (4, 4), timeout=10,
                               describe="the lanes and batch limit to step back up to 4")
    finally:
        await pool.stop()


async def test_other_errors_fail_only_their_requests():
    class Broken(torch.nn.Module):
        def forward(self, x):
            raise ValueError("bad weights")

    batcher = MicroBatcher(max_queue=4, max_batch=1)
    pool = LanePool(batcher, lanes=2, device=torch.device("cpu"))
    pool.start()
    try:
        bad, good = request(1, Broken()), request(2, Doubler())
        batcher.submit(bad)
        batcher.submit(good)
        assert float((await asyncio.wait_for(good.future, 5)).logits[0, 0, 0]) == 4.0
        try:
            await asyncio.wait_for(bad.future, 5)
            raise AssertionError("the broken module's request succeeded")
        except ValueError:
            pass
        assert pool.allowed == 2
    finally:
        await pool.stop()
