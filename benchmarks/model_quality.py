"""Each model's masks on images it never trained on: the IoU distribution, its worst images and what they hold.

    python -m benchmarks.model_quality [--images 100] [--models hrnet ...] [--weights DIR] [--pictures N]

The images come from ``harness/workloads/unseen.py``, a generator that shares nothing with the training one
(shape, interiors, light, debris, optics, 8/16-bit files).  Each goes through the inference server's own path
- the file's bytes decoded as an upload is (``preprocess.decode``), segmented as a request is
(``preprocess.segment_gray``: the whole image, windows where needed) - and its mask is scored against the
truth.  Printed per model: mean, 5th percentile and minimum IoU, how many images fall below 0.85 and 0.90, the
worst seeds with their traits, and the mean IoU by trait (interior, cut by the border, touching, bit depth,
background).  Written: ``benchmarks/results/model_quality.json``, and the worst masks of each model as
pictures - the image, the truth, the mask, side by side - in ``reports/benchmarks/model_quality/``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import torch

from harness.workloads import unseen
from system.contract import DEFAULT_THRESHOLD, MODELS
from system.inference.preprocess import decode, segment_gray
from system.inference.registry import AVAILABLE, ModelRegistry

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "model_quality.json"
PICTURES = ROOT / "reports" / "benchmarks" / "model_quality"
GOAL = {"p5": 0.90, "min": 0.85}  # issue 31, for every model


def scores(module: torch.nn.Module, specimens: list[unseen.Specimen]) -> list[tuple[float, np.ndarray]]:
    out = []
    with torch.inference_mode():
        for s in specimens:
            mask = segment_gray(module, decode(s.file_bytes), DEFAULT_THRESHOLD)
            out.append((unseen.iou(mask, s.truth), mask))
    return out


def by_trait(specimens: list[unseen.Specimen], ious: list[float]) -> dict[str, dict]:
    """Mean IoU (and count) of the images that have each trait."""
    groups: dict[str, list[float]] = defaultdict(list)
    for s, score in zip(specimens, ious, strict=True):
        keys = {f"{s.bits}-bit", "bright background" if s.traits["bright_background"] else "dark background",
                f"{len(s.traits['spheroids'])} spheroid(s)"}
        for d in s.traits["spheroids"]:
            keys |= {d["interior"]} | ({"cut by the border"} if d["cut_by_border"] else set()) | ({"touching"} if d["touching"] else set())
            keys |= {"over 30% of the field"} if d["fraction"] > 0.3 else set()
        for k in keys:
            groups[k].append(score)
    return {k: {"images": len(v), "mean": round(float(np.mean(v)), 4), "min": round(float(np.min(v)), 4)} for k, v in sorted(groups.items())}


def evaluate(name: str, specimens: list[unseen.Specimen], weights: Path | None, pictures: int) -> dict:
    entry = (ModelRegistry(weights_dir=weights) if weights else ModelRegistry()).load(name)
    if entry.status != AVAILABLE:
        return {"model": name, "status": entry.status, "detail": entry.detail}
    results = scores(entry.module, specimens)
    ious = [r[0] for r in results]
    order = np.argsort(ious)
    PICTURES.mkdir(parents=True, exist_ok=True)
    for i in order[:pictures]:
        cv2.imwrite(str(PICTURES / f"{name}-{specimens[i].seed}.png"), unseen.side_by_side(specimens[i], results[i][1]))
    return {
        "model": name, "images": len(ious), "mean": round(float(np.mean(ious)), 4), "p5": round(float(np.percentile(ious, 5)), 4),
        "min": round(float(np.min(ious)), 4), "below_0.85": int(sum(v < 0.85 for v in ious)), "below_0.90": int(sum(v < 0.90 for v in ious)),
        "meets_goal": bool(np.percentile(ious, 5) >= GOAL["p5"] and np.min(ious) >= GOAL["min"]),
        "worst": [{"seed": specimens[i].seed, "iou": round(float(ious[i]), 4), "traits": specimens[i].traits} for i in order[:5]],
        "by_trait": by_trait(specimens, ious),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=unseen.VALIDATION_IMAGES)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--weights", type=Path, help="a folder of weights and their manifest.json (default: the served ones)")
    p.add_argument("--pictures", type=int, default=4, help="the worst masks of each model written as pictures")
    p.add_argument("--json", type=Path, default=RESULTS)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    started = time.monotonic()
    specimens = [unseen.specimen(seed) for seed in range(unseen.VALIDATION_SEED_BASE, unseen.VALIDATION_SEED_BASE + args.images)]
    results = [evaluate(name, specimens, args.weights, args.pictures) for name in args.models]
    print(f"{'model':14s} {'mean':>6s} {'p5':>6s} {'min':>6s} {'<0.85':>6s} {'<0.90':>6s}  goal (p5 >= {GOAL['p5']}, min >= {GOAL['min']})")
    for r in results:
        if "mean" in r:
            print(f"{r['model']:14s} {r['mean']:6.3f} {r['p5']:6.3f} {r['min']:6.3f} {r['below_0.85']:6d} {r['below_0.90']:6d}  "
                  f"{'met' if r['meets_goal'] else 'NOT met'}; worst seeds {[w['seed'] for w in r['worst']]}")
        print(f"MEASURED model quality on unseen images: {json.dumps({k: v for k, v in r.items() if k != 'by_trait'})}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"generator": "harness/workloads/unseen.py", "seeds": f"{specimens[0].seed}..{specimens[-1].seed}",
                                     "threshold": DEFAULT_THRESHOLD, "goal": GOAL, "torch": torch.__version__.split("+")[0],
                                     "seconds": round(time.monotonic() - started, 1), "models": results}, indent=1) + "\n")
    print(f"results: {args.json}; worst masks: {PICTURES}")


if __name__ == "__main__":
    main()
