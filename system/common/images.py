"""Image checks shared by the queue (at upload) and the inference server.

The type is told by the file's first bytes, never by its name or the client's
Content-Type.  Size and pixel count are checked from the header before any
pixel is decoded, so a decompression bomb is refused cheaply.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..contract import MAX_SIDE

_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
}


class InvalidImage(ValueError):
    """Not a readable image of an accepted size."""


class UnsupportedType(ValueError):
    """Not a PNG, JPEG or TIFF."""


def sniff(data: bytes) -> str:
    for magic, fmt in _MAGIC.items():
        if data.startswith(magic):
            return fmt
    raise UnsupportedType("only PNG, JPEG and TIFF images are accepted")


def open_checked(data: bytes) -> Image.Image:
    """Open, check format and size from the header, then decode every pixel."""
    if not data:
        raise InvalidImage("the file is empty")
    fmt = sniff(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[fmt])
            w, h = img.size
            if w < 1 or h < 1:
                raise InvalidImage("the image has no pixels")
            if w > MAX_SIDE or h > MAX_SIDE:
                raise InvalidImage(f"the image is {w}x{h} pixels; at most {MAX_SIDE}x{MAX_SIDE} is accepted")
            img.load()  # a truncated or corrupt file fails here
    except (InvalidImage, UnsupportedType):
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage(f"the file is not a readable {fmt} image ({type(exc).__name__})") from None
    return img


def inspect(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) of a valid image; raises InvalidImage or UnsupportedType."""
    img = open_checked(data)
    return img.format or sniff(data), img.size[0], img.size[1]


def inspect_pages(data: bytes) -> tuple[str, int, int, int]:
    """(format, width, height, pages) of a valid image: width and height of its first page, which is the one
    segmented and shown; pages > 1 for a multi-page TIFF (channels, a z-stack, a time series)."""
    img = open_checked(data)
    return img.format or sniff(data), img.size[0], img.size[1], int(getattr(img, "n_frames", 1))


def decode_gray(data: bytes) -> np.ndarray:
    """A valid image as a uint8 H x W grayscale array (16-bit and float images are stretched)."""
    img = open_checked(data)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return stretch_to_8bit(np.asarray(img, dtype=np.float32))
    return np.asarray(img.convert("L"), dtype=np.uint8)


def stretch_to_8bit(arr: np.ndarray) -> np.ndarray:
    """Deeper pixels (16-bit, float) to uint8, their minimum black and their maximum white: what the networks
    see of such an upload (the training scenes reduce their 16-bit frames with this same function)."""
    arr = arr.astype(np.float32, copy=False)
    lo, hi = float(arr.min()), float(arr.max())
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    return np.round((arr - lo) * scale).astype(np.uint8)
