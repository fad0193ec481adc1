"""Windows over a large field (system/inference/tiles.py): coverage, blending, and when they are used."""

from __future__ import annotations

import numpy as np
import torch

from system.inference import tiles


def test_windows_cover_the_image_and_overlap_by_the_stated_amount():
    wins = tiles.windows(1000, 2048)
    covered = np.zeros((1000, 2048), bool)
    for w in wins:
        covered[w.y:w.y + w.side, w.x:w.x + w.side] = True
        assert w.side == tiles.WORK_SIDE and w.x + w.side <= 2048 and w.y + w.side <= 1000
    xs = sorted({w.x for w in wins})
    assert covered.all() and xs[0] == 0 and xs[-1] == 2048 - tiles.WORK_SIDE
    assert all(b - a <= tiles.WORK_SIDE - tiles.OVERLAP for a, b in zip(xs, xs[1:], strict=False))


def test_blending_agreeing_windows_gives_back_what_they_agree_on():
    wins = tiles.windows(900, 1300)
    ramp_x = torch.linspace(-3, 3, 8)
    outs = [torch.full((1, 8, 8), 2.5) for _ in wins]
    assert np.allclose(tiles.blend(outs, wins, 900, 1300), 2.5, atol=1e-5)
    varied = [torch.stack([ramp_x.repeat(8, 1)]) for _ in wins]  # every window the same left-to-right slope
    blended = tiles.blend(varied, wins, 900, 1300)
    assert blended.shape == (900, 1300) and np.isfinite(blended).all()


def test_a_small_image_is_never_windowed():
    nothing = torch.full((1, 128, 128), -5.0)
    assert not tiles.needs_windows(nothing, tiles.WORK_SIDE, 4 * tiles.WORK_SIDE, 0.5)


def test_a_large_image_whose_spheroids_fill_the_frame_is_not_windowed_and_one_of_specks_is():
    big = torch.full((1, 128, 128), -5.0)
    big[0, 30:90, 30:90] = 5.0  # one spheroid 60 input pixels wide
    specks = torch.full((1, 128, 128), -5.0)
    for i in range(4):
        specks[0, 10 + 25 * i:14 + 25 * i, 10:14] = 5.0  # four spheroids 4 input pixels wide
    side = 2 * tiles.WORK_SIDE
    assert not tiles.needs_windows(big, side, side, 0.5)
    assert tiles.needs_windows(specks, side, side, 0.5)
    assert tiles.needs_windows(torch.full((1, 128, 128), -5.0), side, side, 0.5)  # nothing seen: look closer


def test_the_mask_is_one_byte_a_pixel_of_0_and_255():
    mask = tiles.mask_of(np.array([[-1.0, 1.0]], np.float32), 0.5)
    assert mask.dtype == np.uint8 and mask.tolist() == [[0, 255]]
