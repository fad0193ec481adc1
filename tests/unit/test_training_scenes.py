"""The training scenes (system/inference/scenes.py): seeded, covering what they promise, and not the validation set."""

from __future__ import annotations

import ast
import inspect

import cv2
import numpy as np

from harness.workloads import unseen
from system.common.images import stretch_to_8bit
from system.inference import scenes


def test_a_seed_names_one_scene_on_every_run():
    a, b = scenes.generate(11), scenes.generate(11)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert not np.array_equal(a.mask, scenes.generate(12).mask) or not np.array_equal(a.image, scenes.generate(12).image)


def test_the_scenes_cover_what_lab_images_hold():
    samples = [scenes.generate(s) for s in range(120)]
    fractions, cut, several, bright_field = [], 0, 0, 0
    for s in samples:
        assert s.image.dtype == np.uint8 and s.image.shape == s.mask.shape and set(np.unique(s.mask)) <= {0, 255}
        fractions.append(float((s.mask > 0).mean()))
        cut += bool(s.mask[0].any() or s.mask[-1].any() or s.mask[:, 0].any() or s.mask[:, -1].any())
        several += cv2.connectedComponents((s.mask > 0).astype(np.uint8))[0] - 1 > 1
        bright_field += float(np.median(s.image[s.mask == 0])) > 100 if (s.mask == 0).any() else 0
    assert min(fractions) < 0.05 and max(fractions) > 0.45, (min(fractions), max(fractions))
    assert cut >= 40 and several >= 15 and bright_field >= 20, (cut, several, bright_field)


def test_a_sixteen_bit_frame_is_reduced_as_an_upload_is():
    """The training scenes reduce 16-bit frames with the function the service decodes uploads with."""
    deep = np.array([[100, 600], [1100, 4095]], np.uint16)
    assert stretch_to_8bit(deep).tolist() == [[0, 32], [64, 255]]
    assert "stretch_to_8bit" in inspect.getsource(scenes.generate)


def test_it_shares_no_code_with_the_validation_set():
    """The networks learn from scenes.py and are judged on unseen.py: neither imports the other, and no seed of one
    draws the other's truth."""
    for module, other in ((scenes, "unseen"), (unseen, "scenes")):
        tree = ast.parse(inspect.getsource(module))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not any(other in name or "harness" in name for name in imported if module is scenes) and other not in imported, imported
    for seed in (0, unseen.VALIDATION_SEED_BASE):
        a, b = scenes.generate(seed).mask, unseen.specimen(seed).truth
        assert a.shape != b.shape or unseen.iou(a, b) < 0.5


def _sees(model, distance: int) -> bool:
    import torch

    from system.inference.models import INPUT_SIZE

    torch.manual_seed(0)
    x = torch.randn(1, 1, INPUT_SIZE, INPUT_SIZE, requires_grad=True)
    model.eval()(x)[0, 0, INPUT_SIZE // 2, INPUT_SIZE // 2].backward()
    return bool(x.grad[0, 0, INPUT_SIZE // 2, INPUT_SIZE // 2 - distance].abs() > 0)


def test_every_model_sees_the_whole_input_from_its_middle():
    """The middle of a spheroid that fills half the field must see the spheroid's edge (models/context.py): the
    logit at the centre of the 128-pixel input depends on a pixel 60 pixels away, in every served model - and did
    not in the models before the context was added."""
    from system.inference.models import BUILDERS, build
    from system.inference.models.hrnet import HRNetSmall
    from system.inference.models.unet import UNet

    for name in BUILDERS:
        assert _sees(build(name), 60), f"{name}: the middle does not see 60 px away"
    assert not _sees(UNet(base=8), 60) and not _sees(HRNetSmall(widths=(8, 16, 32), stages=1), 60)
