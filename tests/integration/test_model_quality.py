"""The committed weights segment images no training run has seen (IoU >= 0.9)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from system.inference import synthetic, train
from system.inference.registry import AVAILABLE, DEFAULT_WEIGHTS_DIR, ModelRegistry

# Seeds beyond both the training seeds and the ones train.py reports on.
TEST_SEEDS = range(synthetic.EVAL_SEED_BASE + 50_000, synthetic.EVAL_SEED_BASE + 50_060)
MANIFEST = json.loads((DEFAULT_WEIGHTS_DIR / "manifest.json").read_text())


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_weights_match_the_manifest_and_stay_small(name):
    path = DEFAULT_WEIGHTS_DIR / MANIFEST[name]["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == MANIFEST[name]["sha256"]
    assert path.stat().st_size <= 5 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_segments_unseen_spheroids_with_iou_of_at_least_0_9(name):
    registry = ModelRegistry()
    entry = registry.load(name)
    assert entry.status == AVAILABLE, entry.detail
    scores = train.evaluate(entry.module, TEST_SEEDS)
    mean, worst = float(np.mean(scores)), float(np.min(scores))
    print(f"\n{name}: IoU over {len(scores)} unseen images: mean {mean:.4f}, min {worst:.4f}")
    assert mean >= 0.9, f"{name}: mean IoU {mean:.4f} < 0.9"
    assert worst >= 0.8, f"{name}: an image reached only IoU {worst:.4f}"
