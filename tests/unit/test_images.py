from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from system.common import images
from system.inference import preprocess, synthetic


def encode(arr: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_accepts_the_three_formats(fmt):
    arr = (np.arange(60 * 40) % 256).astype(np.uint8).reshape(40, 60)
    assert images.inspect(encode(arr, fmt))[1:] == (60, 40)


def test_colour_and_16_bit_become_grayscale():
    rgb = np.zeros((10, 12, 3), np.uint8)
    assert images.decode_gray(encode(rgb, "PNG")).shape == (10, 12)
    deep = (np.arange(100, dtype=np.uint16) * 600).reshape(10, 10)
    gray = images.decode_gray(encode(deep, "TIFF"))
    assert gray.dtype == np.uint8 and gray.max() == 255 and gray.min() == 0


def test_truncated_png_is_invalid():
    data = encode(np.full((64, 64), 7, np.uint8), "PNG")
    with pytest.raises(images.InvalidImage):
        images.inspect(data[: len(data) // 2])


def test_text_is_unsupported_and_empty_is_invalid():
    with pytest.raises(images.UnsupportedType):
        images.inspect(b"hello, not an image")
    with pytest.raises(images.InvalidImage):
        images.inspect(b"")


def test_oversized_dimensions_are_refused_from_the_header():
    big = encode(np.zeros((1, images.MAX_SIDE + 1), np.uint8), "PNG")
    with pytest.raises(images.InvalidImage, match="at most"):
        images.inspect(big)


def test_polygons_report_holes_as_internal():
    mask = np.zeros((100, 100), np.uint8)
    mask[10:90, 10:90] = 255
    mask[40:60, 40:60] = 0
    kinds = sorted(p["type"] for p in preprocess.polygons(mask))
    assert kinds == ["external", "internal"]


def test_mask_has_the_original_size_and_only_0_and_255():
    import torch

    logits = torch.zeros(1, 128, 128)
    logits[0, 32:96, 32:96] = 5.0
    mask = preprocess.to_mask(logits, 300, 200, 0.5)
    assert mask.shape == (300, 200)
    assert set(np.unique(mask)) == {0, 255}


def test_synthetic_images_are_determined_by_their_seed():
    a, b = synthetic.generate(42), synthetic.generate(42)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    c = synthetic.generate(43)
    assert a.image.shape != c.image.shape or not np.array_equal(a.image, c.image)
    assert set(np.unique(a.mask)) <= {0, 255} and a.mask.any()


def test_iou():
    a = np.zeros((10, 10), np.uint8)
    a[:5] = 255
    b = np.zeros((10, 10), np.uint8)
    b[:, :5] = 255
    assert synthetic.iou(a, a) == 1.0
    assert synthetic.iou(a, b) == pytest.approx(25 / 75)
