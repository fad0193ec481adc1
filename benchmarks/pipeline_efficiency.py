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
import tempfile
from pathlib import Path

import aiohttp

from harness.measure.throughput import in_process_best, in_process_cpu_per_image
from harness.researchers.actors import four_sharing
from harness.stack.launcher import ROOT, SystemConfig, SystemUnderTest
from harness.stack.postgres import provision
from harness.stack.processes import stop_all
from harness.workloads.efficiency import compare
from system.inference import synthetic
from system.inference.settings import InferenceSettings

SIZE = (288, 224)  # width, height of each image


async def measure(system: SystemUnderTest, model: str, images: list[bytes], rounds: int) -> dict:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
        researchers = await four_sharing(system.api_url, session, images, "bench")
        try:
            return await compare(system, session, researchers, model, images, rounds)
        finally:
            for r in researchers:
                await r.events.close()


def run(model: str, n_images: int, rounds: int, lanes: int) -> dict:
    images = [synthetic.to_png(synthetic.generate(synthetic.EVAL_SEED_BASE + 50_000 + i, size=SIZE).image) for i in range(n_images)]
    best = in_process_best(model, images[:24])
    best_cpu = in_process_cpu_per_image(model, images[:48], best["batch"], best["threads"])
    with provision("embedded") as db, tempfile.TemporaryDirectory() as logs:
        system = SystemUnderTest(db.url, Path(logs), SystemConfig.of(lanes=lanes)).start()
        try:
            queue = asyncio.run(measure(system, model, images, rounds))
        finally:
            system.stop()
    server_cpu = queue["server_cpu_s_per_image_median"]
    return {
        "model": model, "lanes": lanes, "images": n_images, "size": list(SIZE), "cpu_count": os.cpu_count(),
        "queue_efficiency": queue["throughput_ratio_median"],
        "queue_cpu_over_inference": queue["queue_cpu_over_inference_median"],
        "server_efficiency_cpu": round(best_cpu / server_cpu, 3),
        "in_process_best": best | {"cpu_s_per_image": round(best_cpu, 5)},
        "server_cpu_s_per_image": round(server_cpu, 5),
        "rounds": queue["rounds"],
    }


def print_report(r: dict) -> None:
    print(f"{r['model']}, {r['images']} images of {r['size'][0]}x{r['size'][1]}, {r['cpu_count']} CPUs")
    for i, rnd in enumerate(r["rounds"], 1):
        print(f"  round {i}: direct {rnd['direct']['images_per_s']:7.1f} img/s   queue {rnd['queue']['jobs_per_s']:7.1f} jobs/s   "
              f"ratio {rnd['throughput_ratio']:.3f}   queue-path CPU / inference CPU {rnd['queue_cpu_over_inference']:.3f}")
        print(f"           CPU s/image direct {json.dumps(rnd['direct']['cpu_s_per_image'])}")
        print(f"           CPU s/image queue  {json.dumps(rnd['queue']['cpu_s_per_image'])}")
    print(f"queue efficiency (median): {r['queue_efficiency']:.3f}   (goal >= 0.9)")
    print(f"CPU the queue path adds per job, over the inference server's (median): {r['queue_cpu_over_inference']:.3f}")
    print(f"server efficiency (CPU per image, in-process best {r['in_process_best']['cpu_s_per_image'] * 1000:.2f} ms"
          f" / server {r['server_cpu_s_per_image'] * 1000:.2f} ms): {r['server_efficiency_cpu']:.3f}   (goal >= 0.95)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="unet")
    p.add_argument("--images", type=int, default=160)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--lanes", type=int, default=InferenceSettings().lanes, help="the inference server's lanes")
    p.add_argument("--json", type=Path, default=ROOT / "reports" / "benchmarks" / "pipeline_efficiency.json")
    args = p.parse_args()
    try:
        report = run(args.model, args.images, args.rounds, args.lanes)
    finally:
        stop_all()
    print_report(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
