"""Do outlines still follow the spheroids on large micrographs?  Mask IoU by image size, per model.

    python -m benchmarks.large_images [--seeds 8] [--models unet,resunet_cbam,hrnet] [--whole-only]

Every model sees its input at ``INPUT_SIZE`` x ``INPUT_SIZE`` pixels; its logits
are resized back to the image.  Two kinds of large image are drawn from
held-out seeds (``synthetic.EVAL_SEED_BASE`` and up, never trained on):

- the same scene at 288 x 224, 2048 x 1536 and 4096 x 3072 (``synthetic.generate``
  with ``size``): spheroids grow with the image, as with a higher-resolution camera
  on the same field;
- a field of many spheroids (``synthetic.generate`` with ``spheroids``): 16 at
  2048 x 1536 and 64 at 4096 x 3072, each of radius 25-60 px, as a plate scan or a
  stitched well: the spheroids keep their size in pixels and the field grows
  around them.

The serving path (``preprocess.segment_gray``: the whole image, then windows where
that drew the spheroids too coarsely, ``system/inference/tiles.py``) is timed per
image as well; ``--whole-only`` measures the whole-image pass alone (what the
server did before windows).
Last, the display rendition (``system/common/display.py``) of a 4096 x 3072 12-bit
TIFF (the largest scene, values to 4095 in 16-bit samples) is timed: what the
viewer waits for when it opens such an image.
Prints a table and writes ``benchmarks/results/large_images.json``.  A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from system.contract import DEFAULT_THRESHOLD, MODELS
from system.inference import synthetic
from system.inference.preprocess import segment_gray
from system.inference.registry import AVAILABLE, ModelRegistry

RESULTS = Path(__file__).resolve().parent / "results" / "large_images.json"
SEED_BASE = synthetic.EVAL_SEED_BASE + 900_000
SCENES = {"scene 288 x 224": (288, 224), "scene 2048 x 1536": (2048, 1536), "scene 4096 x 3072": (4096, 3072)}
FIELDS = {"field 2048 x 1536, 16 spheroids": ((2048, 1536), 16), "field 4096 x 3072, 64 spheroids": ((4096, 3072), 64)}
RADIUS_PX = (25.0, 60.0)


def rendition_seconds(seed: int, rounds: int = 5) -> dict:
    """Median seconds to make the display rendition of a 4096 x 3072 12-bit TIFF, and its size."""
    import io

    from PIL import Image

    from system.common.display import render

    scene = synthetic.generate(seed, (4096, 3072)).image
    out = io.BytesIO()
    Image.fromarray((scene.astype("float32") * (4095 / 255)).astype("uint16")).save(out, format="TIFF")
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        shown = render(out.getvalue())
        times.append(time.perf_counter() - started)
    return {"image": "4096 x 3072, 12-bit TIFF", "tiff_mb": round(len(out.getvalue()) / 2**20, 1), "png_mb": round(len(shown.data) / 2**20, 1),
            "seconds_median": round(statistics.median(times), 3), "stretch": shown.header()}


def images(seeds: list[int]):
    for seed in seeds:
        for kind, size in SCENES.items():
            yield kind, synthetic.generate(seed, size)
        for kind, (size, count) in FIELDS.items():
            yield kind, synthetic.generate(seed, size, spheroids=(count, *RADIUS_PX))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--whole-only", action="store_true", help="no windows: the whole image in one pass")
    p.add_argument("--models", default=",".join(MODELS))
    args = p.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    registry = ModelRegistry()
    modules = {}
    for name in args.models.split(","):
        entry = registry.load(name)
        if entry.status == AVAILABLE:
            modules[name] = entry.module.eval()
    seeds = [SEED_BASE + i for i in range(args.seeds)]
    scores: dict[tuple[str, str], list[float]] = {}
    seconds: dict[tuple[str, str], list[float]] = {}
    for kind, sample in images(seeds):
        for name, module in modules.items():
            started = time.perf_counter()
            with torch.inference_mode():
                mask = segment_gray(module, sample.image, DEFAULT_THRESHOLD, windowed=not args.whole_only)
            seconds.setdefault((name, kind), []).append(time.perf_counter() - started)
            scores.setdefault((name, kind), []).append(synthetic.iou(mask, sample.mask))
    rows = [{"model": name, "images": kind, "n": len(v), "iou_mean": round(statistics.fmean(v), 4), "iou_min": round(min(v), 4),
             "seconds_median": round(statistics.median(seconds[(name, kind)]), 3)} for (name, kind), v in scores.items()]
    for r in rows:
        print(f"{r['model']:<13} {r['images']:<34} n={r['n']:<3} IoU mean {r['iou_mean']:.3f}  min {r['iou_min']:.3f}"
              f"   {r['seconds_median']:.3f} s/image", flush=True)
    display = rendition_seconds(seeds[0])
    print(f"display rendition of a {display['image']} ({display['tiff_mb']} MB): {display['seconds_median']:.3f} s, "
          f"a {display['png_mb']} MB PNG, {display['stretch']}", flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    out = RESULTS.with_name("large_images_whole_only.json") if args.whole_only else RESULTS
    out.write_text(json.dumps({"seeds": len(seeds), "threshold": DEFAULT_THRESHOLD, "windowed": not args.whole_only, "rows": rows,
                               "display_rendition": display}, indent=1) + "\n")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
