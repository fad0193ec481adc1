"""Inference throughput, per model, all measured in this run on this machine.

    python -m benchmarks.inference_throughput [--models unet hrnet] [--images 24] [--device cpu]

For each model it prints:
- the limit: every stage of a request (decode, normalise, forward, threshold,
  outlines, PNG) in-process, at the best batch size and thread count;
- the locked baseline: a server with one lane and no batching (one request at a
  time, as with a lock around the model) under 4 concurrent users;
- the lane server (4 lanes) with 1, 2 and 4 concurrent users, without
  micro-batching and with it (max batch 4);
and the ratios of each to the limit and to the baseline.  The same figures are
written as JSON.  A benchmark: it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from pathlib import Path

import aiohttp

from harness.clients.inference import InferenceClient
from harness.measure.throughput import in_process_best, through_server
from harness.stack.launcher import ROOT
from harness.stack.processes import ManagedProcess, python_module, stop_all
from system.contract import MODELS
from system.inference import synthetic
from system.inference.gpu import GpuProbe

SERVER_CONFIGS = [  # (label, env, users)
    ("locked baseline (1 lane, batch 1)", {"LANES": "1", "MAX_BATCH": "1"}, 4),
    ("lanes=4 batch=1, 1 user", {"LANES": "4", "MAX_BATCH": "1"}, 1),
    ("lanes=4 batch=1, 2 users", {"LANES": "4", "MAX_BATCH": "1"}, 2),
    ("lanes=4 batch=1, 4 users", {"LANES": "4", "MAX_BATCH": "1"}, 4),
    ("lanes=4 batch<=4, 4 users", {"LANES": "4", "MAX_BATCH": "4", "MAX_WAIT_MS": "2"}, 4),
]


async def serve_and_measure(model: str, images: list[bytes], env: dict, users: int, device: str, logs: Path) -> dict:
    proc = ManagedProcess("bench-inference", python_module("system.inference"),
                          dict(os.environ) | {"PORT": "0", "DEVICE": device, "LOG_LEVEL": "WARNING"} | env, logs / "server.log", ROOT).start()
    try:
        address = proc.wait_ready(120)
        async with aiohttp.ClientSession() as session:
            return await through_server(InferenceClient(address, session), model, images, users)
    finally:
        proc.stop()


def run(models: list[str], n_images: int, device: str) -> dict:
    images = [synthetic.to_png(synthetic.generate(synthetic.EVAL_SEED_BASE + 40_000 + i).image) for i in range(n_images)]
    gpu = GpuProbe.open()
    report = {"device": device, "cpu_count": os.cpu_count(), "gpu": gpu.name if gpu.available else gpu.reason, "models": {}}
    with tempfile.TemporaryDirectory() as d:
        for model in models:
            limit = in_process_best(model, images) if device == "cpu" else None
            rows = {}
            for label, env, users in SERVER_CONFIGS:
                rows[label] = asyncio.run(serve_and_measure(model, images, env, users, device, Path(d)))
            baseline = rows[SERVER_CONFIGS[0][0]]["images_per_s"]
            for row in rows.values():
                row["vs_baseline"] = round(row["images_per_s"] / baseline, 3)
                if limit:
                    row["vs_limit"] = round(row["images_per_s"] / limit["images_per_s"], 3)
            report["models"][model] = {"in_process_limit": limit, "server": rows}
    return report


def print_table(report: dict) -> None:
    print(f"device {report['device']}, {report['cpu_count']} CPUs, GPU: {report['gpu']}")
    for model, r in report["models"].items():
        limit = r["in_process_limit"]
        print(f"\n{model}")
        if limit:
            label = f"in-process limit (batch {limit['batch']}, {limit['threads']} threads)"
            print(f"  {label:44s} {limit['images_per_s']:8.1f} img/s")
        for label, row in r["server"].items():
            extra = f"  x{row['vs_baseline']:.2f} baseline" + (f"  {row['vs_limit']:.0%} of limit" if "vs_limit" in row else "")
            print(f"  {label:44s} {row['images_per_s']:8.1f} img/s{extra}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument("--images", type=int, default=24)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", type=Path, default=ROOT / "reports" / "benchmarks" / "inference_throughput.json")
    args = p.parse_args()
    try:
        report = run(args.models, args.images, args.device)
    finally:
        stop_all()
    print_table(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
