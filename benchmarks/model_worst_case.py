"""Each model's worst case over many unseen images, not just its mean.

    python -m benchmarks.model_worst_case [--seeds 300] [--json reports/benchmarks/model_worst_case.json]

The acceptance features hold every mask to IoU >= 0.8 against its image's true
spheroids (``harness/researchers/checks.py``, MATCHING_IOU), whichever images a scenario
draws.  This evaluates every model on ``--seeds`` images no training run saw
(from the seeds the scenarios draw from, ``harness/researchers/seeded.py``) and prints,
per model, the mean, the minimum, how many fall below the floor, and the worst
seeds - the figure that tells whether the per-image floor holds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from harness.researchers.checks import MATCHING_IOU
from harness.researchers.seeded import scenario_seed_base
from system.contract import DEFAULT_THRESHOLD, MODELS
from system.inference import train
from system.inference.registry import AVAILABLE, ModelRegistry


def evaluate(name: str, seeds: list[int], weights: Path | None = None) -> dict:
    entry = (ModelRegistry(weights_dir=weights) if weights else ModelRegistry()).load(name)
    if entry.status != AVAILABLE:
        return {"model": name, "status": entry.status, "detail": entry.detail}
    scores = train.evaluate(entry.module, seeds, DEFAULT_THRESHOLD)
    order = np.argsort(scores)
    return {"model": name, "images": len(scores), "mean": round(float(np.mean(scores)), 4), "min": round(float(np.min(scores)), 4),
            "p1": round(float(np.percentile(scores, 1)), 4), "below_floor": int(sum(s < MATCHING_IOU for s in scores)),
            "worst": [{"seed": seeds[i], "iou": round(float(scores[i]), 4)} for i in order[:5]]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=300)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--weights", type=Path, help="a folder of weights and their manifest.json (default: the served ones)")
    p.add_argument("--json", type=Path, default=Path("reports/benchmarks/model_worst_case.json"))
    args = p.parse_args()
    # Seeds as scenarios draw them: the first images of many scenario-like names.
    seeds = [scenario_seed_base(f"scenario {i}") + j for i in range(args.seeds // 3) for j in range(3)][: args.seeds]
    started = time.monotonic()
    results = [evaluate(name, seeds, args.weights) for name in args.models]
    for r in results:
        print(f"MEASURED model worst case: {json.dumps(r)}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"floor": MATCHING_IOU, "seconds": round(time.monotonic() - started, 1), "models": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
