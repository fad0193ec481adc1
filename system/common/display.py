"""What a browser can show of a stored image: the display rendition (``GET /api/images/{id}/display``).

Browsers show 8-bit PNG and JPEG; microscopes write TIFF, usually 12- or 16-bit
grayscale, often several pages.  An image a browser can show is served as it
was uploaded.  Anything else is made into a PNG of its first page (the page
that is segmented), the same size, so outlines drawn in the image's pixel
coordinates line up pixel for pixel:

- 8-bit pixels are kept as they are (grayscale, or RGB for colour);
- deeper pixels (12-, 16-bit, 32-bit integer or float) are stretched linearly
  from their ``STRETCH_PERCENTILES`` low value (black) to the high one (white),
  clipped beyond, so a few hot or dead pixels do not wash the picture out.
  The percentiles are taken from at most ``SAMPLE_PIXELS`` pixels, evenly
  strided over the image (a 4096 x 3072 image is read every 13th pixel).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .images import open_checked, sniff

STRETCH_PERCENTILES = (0.5, 99.5)
SAMPLE_PIXELS = 1_000_000
SHOWN_AS_IS = {"PNG": "image/png", "JPEG": "image/jpeg"}
EIGHT_BIT_MODES = {"1", "L", "P", "RGB", "RGBA", "LA", "PA"}
PNG_LEVEL = 1  # fast: a 4096 x 3072 rendition is made on request


@dataclass(frozen=True)
class Rendition:
    data: bytes
    content_type: str
    stretch: tuple[float, float] | None = None  # (value shown black, value shown white), when stretched

    def header(self) -> str:
        """The stretch as the X-Display-Stretch header states it."""
        if self.stretch is None:
            return "none"
        lo_p, hi_p = STRETCH_PERCENTILES
        return f"linear; p{lo_p:g}={self.stretch[0]:g}; p{hi_p:g}={self.stretch[1]:g}"


def stretch_limits(values: np.ndarray) -> tuple[float, float]:
    """The low and high percentile of ``values``, from an even sample of at most ``SAMPLE_PIXELS``."""
    flat = values.reshape(-1)
    step = max(1, flat.size // SAMPLE_PIXELS)
    lo, hi = np.percentile(flat[::step], STRETCH_PERCENTILES)
    return float(lo), float(hi)


def stretched(values: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """``values`` as 8-bit, black at the low percentile and white at the high one."""
    lo, hi = stretch_limits(values)
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    out = np.clip((values.astype(np.float32) - lo) * scale, 0, 255)
    return np.round(out).astype(np.uint8), (lo, hi)


def render(data: bytes) -> Rendition:
    """A valid stored image as something a browser shows (its first page, for a multi-page TIFF)."""
    fmt = sniff(data)
    img = open_checked(data)
    if fmt in SHOWN_AS_IS and img.mode in EIGHT_BIT_MODES:
        return Rendition(data, SHOWN_AS_IS[fmt])
    stretch = None
    if img.mode in EIGHT_BIT_MODES:
        shown = img.convert("RGBA" if "A" in img.mode else ("RGB" if img.mode in ("RGB", "P", "PA") else "L"))
    else:
        values = np.asarray(img)
        if values.ndim == 3:  # several samples per pixel at more than 8 bits: stretched together
            values = values[..., :3]
        pixels, stretch = stretched(values)
        shown = Image.fromarray(pixels)
    out = io.BytesIO()
    shown.save(out, format="PNG", compress_level=PNG_LEVEL)
    return Rendition(out.getvalue(), "image/png", stretch)
