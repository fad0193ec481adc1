"""Train the segmentation networks on synthetic spheroids, reproducibly.

    python -m system.inference.train                 # every model
    python -m system.inference.train --models unet   # one

Training images come from two generators: seeds ``0 .. n-1`` of :mod:`system.inference.synthetic`
(bright, star-shaped spheroids inside a dark field) and seeds ``0 .. m-1`` of :mod:`system.inference.scenes`
(the variety a lab's images hold: large, evenly bright and cut spheroids, touching ones, necrotic cores,
phase contrast, bright fields, 16-bit frames).  The reported IoU is measured at full resolution on images
from seeds at ``EVAL_SEED_BASE`` and above of both, which training never sees; the networks are judged on
a third generator that shares no code with either (``python -m benchmarks.model_quality``).  The weights are written
to ``system/inference/weights/<name>.pt`` and ``manifest.json`` records their
sha256, the settings that produced them and the IoU measured.  Same code, same
flags and same torch version give the same weights (deterministic algorithms,
fixed seeds, fixed thread count).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Iterable
from multiprocessing import Pool, get_context
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import scenes, synthetic
from .models import BUILDERS, INPUT_SIZE, build
from .preprocess import to_input, to_mask

WEIGHTS_DIR = Path(__file__).with_name("weights")
# Per-model settings on two CPU cores; flags override.
DEFAULTS = {
    "unet": {"steps": 2400, "batch": 16},
    "resunet_cbam": {"steps": 1800, "batch": 16},
    "hrnet": {"steps": 2400, "batch": 16},
}
# Seconds per step of 16 on one thread of this machine, relative: which model to start first.
COST = {"unet": 0.47, "resunet_cbam": 0.81, "hrnet": 1.2}
GENERATORS = {"synthetic": synthetic.generate, "scenes": scenes.generate}


def _training_pair(source: tuple[str, int]) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    sample = GENERATORS[source[0]](source[1])
    x = to_input(sample.image, INPUT_SIZE).numpy()
    y = cv2.resize(sample.mask.astype(np.float32) / 255.0, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
    return x, y[None]


def make_dataset(n: int, n_scenes: int = 0, workers: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeds ``0..n-1`` of the synthetic generator and ``0..n_scenes-1`` of the scenes, in that order."""
    sources = [("synthetic", i) for i in range(n)] + [("scenes", i) for i in range(n_scenes)]
    with Pool(workers) as pool:
        pairs = pool.map(_training_pair, sources, chunksize=64)
    xs = torch.from_numpy(np.stack([p[0] for p in pairs]))
    ys = torch.from_numpy(np.stack([p[1] for p in pairs]))
    return xs, ys


def dice_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    bce = F.binary_cross_entropy_with_logits(logits, target)
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (prob.sum(dim=(1, 2, 3)) + target.sum(dim=(1, 2, 3)) + 1)
    return bce + dice.mean()


def augment(x: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    k = int(torch.randint(0, 4, (1,), generator=gen))
    x, y = torch.rot90(x, k, (2, 3)), torch.rot90(y, k, (2, 3))
    if torch.rand(1, generator=gen) < 0.5:
        x, y = x.flip(3), y.flip(3)
    gain = 1 + 0.2 * (torch.rand(x.shape[0], 1, 1, 1, generator=gen) - 0.5)
    return x * gain, y


def evaluate(model: torch.nn.Module, seeds: Iterable[int], threshold: float = 0.5, generator: str = "synthetic") -> list[float]:
    """IoU per image at full resolution, on the images of ``seeds`` (choose seeds no training run used)."""
    model.eval()
    scores = []
    with torch.inference_mode():
        for seed in seeds:
            sample = GENERATORS[generator](seed)
            h, w = sample.image.shape
            logits = model(to_input(sample.image, INPUT_SIZE)[None])[0]
            scores.append(synthetic.iou(to_mask(logits, h, w, threshold), sample.mask))
    return scores


def train(name: str, data: tuple[torch.Tensor, torch.Tensor], steps: int, batch: int, seed: int, lr: float) -> torch.nn.Module:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = build(name)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    xs, ys = data
    model.train()
    started = time.perf_counter()
    for step in range(steps):
        idx = torch.randint(0, xs.shape[0], (batch,), generator=gen)
        x, y = augment(xs[idx], ys[idx], gen)
        loss = dice_bce(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"[{name}] step {step:5d}/{steps} loss {loss.item():.4f} ({time.perf_counter() - started:.0f}s)", flush=True)
    return model.eval()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fit(name: str, data: tuple[torch.Tensor, torch.Tensor], args: argparse.Namespace) -> dict:
    """Train ``name``, save its weights under ``args.out`` and return its manifest entry (also in a child process)."""
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    steps = args.steps or DEFAULTS[name]["steps"]
    batch = args.batch or DEFAULTS[name]["batch"]
    model = train(name, data, steps, batch, args.seed, args.lr)
    path = args.out / f"{name}.pt"
    torch.save(model.state_dict(), path)
    held_out = range(synthetic.EVAL_SEED_BASE, synthetic.EVAL_SEED_BASE + args.eval_images)
    scores = evaluate(model, held_out)
    scene_scores = evaluate(model, held_out, generator="scenes")
    print(f"[{name}] {path} mean IoU={np.mean(scores):.4f} min={np.min(scores):.4f}; "
          f"scenes mean {np.mean(scene_scores):.4f} min {np.min(scene_scores):.4f}", flush=True)
    return {
        "file": path.name,
        "sha256": sha256_of(path),
        "bytes": path.stat().st_size,
        "input_size": INPUT_SIZE,
        "parameters": sum(p.numel() for p in model.parameters()),
        "training": {k: getattr(args, k) for k in ("images", "scenes", "lr", "seed", "threads")}
        | {"steps": steps, "batch": batch, "torch": torch.__version__.split("+")[0]},
        "eval": {
            "seeds": f"{synthetic.EVAL_SEED_BASE}..{synthetic.EVAL_SEED_BASE + args.eval_images - 1}",
            "mean_iou": round(float(np.mean(scores)), 4),
            "min_iou": round(float(np.min(scores)), 4),
            "scenes_mean_iou": round(float(np.mean(scene_scores)), 4),
            "scenes_min_iou": round(float(np.min(scene_scores)), 4),
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=sorted(BUILDERS), choices=sorted(BUILDERS))
    parser.add_argument("--images", type=int, default=1500, help="training images of the synthetic generator (seeds 0..N-1)")
    parser.add_argument("--scenes", type=int, default=6000, help="training images of the scenes generator (seeds 0..N-1)")
    parser.add_argument("--steps", type=int, help="training steps (default: per model, see DEFAULTS)")
    parser.add_argument("--batch", type=int, help="batch size (default: per model)")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-images", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of each model's training, fixed for reproducibility")
    parser.add_argument("--jobs", type=int, default=2, help="models trained at once, each in a process of its own (the weights "
                        "do not depend on it: each model's training is seeded and single-minded)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="folder for <model>.pt and manifest.json")
    args = parser.parse_args(argv)

    print(f"generating {args.images} + {args.scenes} training images ...", flush=True)
    data = make_dataset(args.images, args.scenes)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    # The slowest model first, so that the others share what is left of the cores.
    order = sorted(args.models, key=lambda n: -(args.steps or DEFAULTS[n]["steps"]) * COST[n])
    if args.jobs > 1 and len(order) > 1:
        # fork: the children share the training set with this process instead of copying it
        with get_context("fork").Pool(min(args.jobs, len(order)), maxtasksperchild=1) as pool:
            entries = pool.starmap(fit, [(name, data, args) for name in order], chunksize=1)
    else:
        entries = [fit(name, data, args) for name in order]
    for name, entry in zip(order, entries, strict=True):
        manifest[name] = entry
        print(f"[{name}] sha256={entry['sha256'][:12]}", flush=True)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
