"""Decode, normalise and post-process: the CPU stages around a forward pass.

These run in worker threads, never on the event loop.  The same functions serve
training, evaluation and the server, so the model always sees what it was
trained on.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ..common import images
from ..common.images import InvalidImage
from ..common.measure import describe

# Below this a micrograph holds no spheroid the networks could outline.
MIN_SIDE = 16


def decode(data: bytes) -> np.ndarray:
    """Bytes of a PNG, JPEG or TIFF to a uint8 H x W grayscale array, or ``InvalidImage``."""
    try:
        gray = images.decode_gray(data)
    except images.UnsupportedType as exc:
        raise InvalidImage(str(exc)) from None
    h, w = gray.shape
    if min(h, w) < MIN_SIDE:
        raise InvalidImage(f"the image is {w}x{h} pixels; at least {MIN_SIDE}x{MIN_SIDE} are needed to segment it")
    return gray


def prepare(data: bytes, size: int) -> tuple[np.ndarray, torch.Tensor]:
    """Decode and normalise: the image as grayscale, and the network's input; ``InvalidImage`` if unreadable."""
    gray = decode(data)
    return gray, to_input(gray, size)


def to_input(gray: np.ndarray, size: int) -> torch.Tensor:
    """H x W uint8 to a 1 x size x size float tensor, standardised per image."""
    small = cv2.resize(gray.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    small = (small - small.mean()) / max(float(small.std()), 1.0)
    return torch.from_numpy(small)[None]


def to_mask(logits: torch.Tensor, height: int, width: int, threshold: float) -> np.ndarray:
    """1 x S x S logits to an H x W uint8 mask of 0 and 255.

    The logits are resized (not the thresholded mask), so the outline is placed
    with sub-pixel accuracy at the original resolution.
    """
    small = logits.detach().float().cpu().numpy()[0]
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    cut = float(np.log(threshold / (1.0 - threshold)))  # sigmoid(x) > t  <=>  x > logit(t)
    mask = (big > cut).view(np.uint8)  # one byte a pixel, no wider array on the way
    mask *= 255
    return mask


def segment_gray(module: torch.nn.Module, gray: np.ndarray, threshold: float, chunk: int = 4, windowed: bool = True) -> np.ndarray:
    """The serving path's mask of one grayscale image, in this thread (benchmarks, evaluation): the whole image in
    one pass, and again in windows when that pass drew its spheroids too coarsely (``tiles.py``)."""
    from . import tiles
    from .models import INPUT_SIZE

    h, w = gray.shape
    coarse = module(to_input(gray, INPUT_SIZE)[None])[0]
    if not (windowed and tiles.needs_windows(coarse, h, w, threshold)):
        return to_mask(coarse, h, w, threshold)
    wins = tiles.windows(h, w)
    xs = tiles.inputs(gray, wins, INPUT_SIZE)
    outs = [o for i in range(0, len(xs), chunk) for o in module(torch.stack(xs[i:i + chunk]))]
    return tiles.mask_of(tiles.blend(outs, wins, h, w), threshold)


def polygons(mask: np.ndarray) -> list[dict]:
    """Outlines of a 0/255 mask: external boundaries and the holes inside them."""
    return describe(mask)[0]


def encode_png(mask: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", mask)
    if not ok:  # pragma: no cover - cv2 only fails on invalid arrays
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def postprocess_mask(mask: np.ndarray) -> tuple[list[dict], list[dict], bytes]:
    """A full-resolution 0/255 mask to what a request answers (the windowed path, ``tiles.py``)."""
    outlines, spheroids = describe(mask)
    return outlines, spheroids, encode_png(mask)


def postprocess(logits: torch.Tensor, height: int, width: int, threshold: float) -> tuple[list[dict], list[dict], bytes]:
    """Logits to what a request answers: the outlines, each spheroid's measurements and the mask as PNG."""
    mask = to_mask(logits, height, width, threshold)
    outlines, spheroids = describe(mask)
    return outlines, spheroids, encode_png(mask)
