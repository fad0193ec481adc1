"""How much of the model's throughput researchers get, through the queue and through the server.

    python -m benchmarks.pipeline_efficiency [--model unet] [--images 160] [--rounds 3]

On one running system (embedded PostgreSQL, one API process, one worker, the
inference server, production settings), alternating in each round:

- direct: four clients send the images straight to the inference server;
- queue: four researchers each segment a project of a quarter of the images,
  through the API, PostgreSQL, the worker and the same inference server.

It prints, and writes as JSON under ``reports/benchmarks/``:

- queue efficiency: jobs/s through the queue over images/s direct (same images,
  same model, same run; median over rounds);
- server efficiency: CPU seconds per image of the in-process pipeline at its
  best setting over CPU seconds per image of the inference server process (its
  own accounting, so the load generator's CPU does not blur it);
- CPU seconds per image of every process on the queue path (the inference
  server, the worker, the API, PostgreSQL's backends): where the time goes.

A benchmark: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from harness.actors import Researcher, everyone
from harness.inference_client import InferenceClient
from harness.launcher import ROOT, SystemUnderTest
from harness.postgres import provision
from harness.processes import stop_all
from harness.throughput import in_process_best, in_process_cpu_per_image, through_server
from system.inference import synthetic

SIZE = (288, 224)  # width, height of each image


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def postgres_pids(database_url: str) -> list[int]:
    """The server's processes (postmaster and its backends) listening on the URL's port."""
    port = int(database_url.rsplit(":", 1)[1].split("/")[0])
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmd = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and "-p" in cmd and cmd[cmd.index("-p") + 1] == str(port):
            return [proc.pid, *(c.pid for c in proc.children(recursive=True))]
    return []


class CpuMeter:
    """CPU seconds of named groups of processes between ``start()`` and ``stop()``."""

    def __init__(self, groups: dict[str, callable]) -> None:
        self.groups = groups

    def start(self) -> None:
        self._before = {name: cpu_seconds(pids()) for name, pids in self.groups.items()}

    def stop(self) -> dict[str, float]:
        return {name: cpu_seconds(pids()) - self._before[name] for name, pids in self.groups.items()}


async def direct_round(system: SystemUnderTest, session: aiohttp.ClientSession, model: str, images: list[bytes], meter: CpuMeter) -> dict:
    client = InferenceClient(system.inference[0].address, session)
    meter.start()
    served = await through_server(client, model, images, users=4, rounds=1)
    cpu = meter.stop()
    return {"images_per_s": served["images_per_s"], "cpu_s_per_image": {k: round(v / served["images"], 5) for k, v in cpu.items()}}


async def queue_round(researchers: list[Researcher], model: str, meter: CpuMeter) -> dict:
    for r in researchers:
        r.batches.clear()
    meter.start()
    started = time.perf_counter()
    await everyone(r.segment(model=model) for r in researchers)
    await everyone(r.wait_for_batches(600) for r in researchers)
    elapsed = time.perf_counter() - started
    cpu = meter.stop()
    jobs = sum(len(b["job_ids"]) for r in researchers for b in r.batches)
    return {"jobs_per_s": round(jobs / elapsed, 2), "jobs": jobs, "seconds": round(elapsed, 3),
            "cpu_s_per_image": {k: round(v / jobs, 5) for k, v in cpu.items()}}


async def measure(system: SystemUnderTest, database_url: str, model: str, images: list[bytes], rounds: int) -> dict:
    groups = {
        "inference": lambda: [p.pid for p in system.inference],
        "workers": lambda: [p.pid for p in system.workers],
        "api": lambda: [p.pid for p in system.apis],
        "postgres": lambda: postgres_pids(database_url),
        "this process (clients)": lambda: [os.getpid()],
    }
    meter = CpuMeter(groups)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
        researchers = await everyone(Researcher.sign_up(system.api_url, session, "bench") for _ in range(4))
        for i, r in enumerate(researchers):
            await r.listen()
            await r.create_project()
            await r.api.upload(r.project_id, [(f"img_{j:03d}.png", png) for j, png in enumerate(images[i::4])])
        await queue_round(researchers, model, meter)  # warm-up: pools, caches, allocators
        results = []
        for _ in range(rounds):
            direct = await direct_round(system, session, model, images, meter)
            queued = await queue_round(researchers, model, meter)
            results.append({"direct": direct, "queue": queued, "ratio": round(queued["jobs_per_s"] / direct["images_per_s"], 3)})
        for r in researchers:
            await r.events.close()
    return {"rounds": results, "queue_efficiency_median": statistics.median(r["ratio"] for r in results)}


def run(model: str, n_images: int, rounds: int) -> dict:
    images = [synthetic.to_png(synthetic.generate(synthetic.EVAL_SEED_BASE + 50_000 + i, size=SIZE).image) for i in range(n_images)]
    best = in_process_best(model, images[:24])
    best_cpu = in_process_cpu_per_image(model, images[:48], best["batch"], best["threads"])
    with provision("embedded") as db, tempfile.TemporaryDirectory() as logs:
        system = SystemUnderTest(db.url, Path(logs)).start()
        try:
            queue = asyncio.run(measure(system, db.url, model, images, rounds))
        finally:
            system.stop()
    server_cpu = statistics.median(r["direct"]["cpu_s_per_image"]["inference"] for r in queue["rounds"])
    return {
        "model": model, "images": n_images, "size": list(SIZE), "cpu_count": os.cpu_count(),
        "queue_efficiency": queue["queue_efficiency_median"],
        "server_efficiency_cpu": round(best_cpu / server_cpu, 3),
        "in_process_best": best | {"cpu_s_per_image": round(best_cpu, 5)},
        "server_cpu_s_per_image": round(server_cpu, 5),
        "rounds": queue["rounds"],
    }


def print_report(r: dict) -> None:
    print(f"{r['model']}, {r['images']} images of {r['size'][0]}x{r['size'][1]}, {r['cpu_count']} CPUs")
    for i, rnd in enumerate(r["rounds"], 1):
        print(f"  round {i}: direct {rnd['direct']['images_per_s']:7.1f} img/s   queue {rnd['queue']['jobs_per_s']:7.1f} jobs/s   ratio {rnd['ratio']:.3f}")
        print(f"           CPU s/image direct {json.dumps(rnd['direct']['cpu_s_per_image'])}")
        print(f"           CPU s/image queue  {json.dumps(rnd['queue']['cpu_s_per_image'])}")
    print(f"queue efficiency (median): {r['queue_efficiency']:.3f}   (goal >= 0.9)")
    print(f"server efficiency (CPU per image, in-process best {r['in_process_best']['cpu_s_per_image'] * 1000:.2f} ms"
          f" / server {r['server_cpu_s_per_image'] * 1000:.2f} ms): {r['server_efficiency_cpu']:.3f}   (goal >= 0.95)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="unet")
    p.add_argument("--images", type=int, default=160)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", type=Path, default=ROOT / "reports" / "benchmarks" / "pipeline_efficiency.json")
    args = p.parse_args()
    try:
        report = run(args.model, args.images, args.rounds)
    finally:
        stop_all()
    print_report(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
