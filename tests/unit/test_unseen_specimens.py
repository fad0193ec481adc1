"""The validation set of issue 31: seeded, and covering what it promises (harness/workloads/unseen.py)."""

from __future__ import annotations

import numpy as np

from harness.workloads import unseen
from system.inference import synthetic
from system.inference.preprocess import decode


def test_a_seed_names_one_image_on_every_run():
    a, b = unseen.specimen(31_000_005), unseen.specimen(31_000_005)
    assert a.file_bytes == b.file_bytes and np.array_equal(a.truth, b.truth)
    assert not np.array_equal(a.truth, unseen.specimen(31_000_006).truth)


def test_the_set_covers_every_trait_it_promises():
    specimens = [unseen.specimen(s) for s in unseen.VALIDATION_SEEDS]
    drawn = [d for s in specimens for d in s.traits["spheroids"]]
    assert {d["interior"] for d in drawn} == set(unseen.INTERIORS)
    assert sum(d["cut_by_border"] for d in drawn) >= 20 and sum(d["touching"] for d in drawn) >= 15
    fractions = [d["fraction"] for d in drawn]
    assert min(fractions) < 0.08 and max(fractions) > 0.4
    assert {s.bits for s in specimens} == {8, 16} and {s.file_type for s in specimens} == {"png", "tiff"}
    assert any(s.traits["bright_background"] for s in specimens) and not all(s.traits["bright_background"] for s in specimens)
    for s in specimens[:10]:  # a lab's upload: the service reads the file at its own size
        assert decode(s.file_bytes).shape == s.truth.shape and set(np.unique(s.truth)) <= {0, 255}


def test_it_is_not_the_training_generator():
    """Different code, and a seed of one draws nothing like the other's image of the same seed."""
    import ast
    import inspect

    imported = {a.name for n in ast.walk(ast.parse(inspect.getsource(unseen))) if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
    imported |= {n.module for n in ast.walk(ast.parse(inspect.getsource(unseen))) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any("synthetic" in name or "inference" in name for name in imported), imported
    seed = unseen.VALIDATION_SEED_BASE
    assert unseen.specimen(seed).truth.shape != synthetic.generate(seed).mask.shape or \
        unseen.iou(unseen.specimen(seed).truth, synthetic.generate(seed).mask) < 0.5
