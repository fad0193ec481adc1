"""The segmentation networks the server can load, by name.

Every network maps a normalised N x 1 x S x S grayscale batch to N x 1 x S x S
logits, S being ``INPUT_SIZE``.  ``build(name)`` returns an untrained instance;
the trained weights live in ``system/inference/weights/<name>.pt`` and are named,
with their sha256, in ``weights/manifest.json``.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from .hrnet import HRNetSmall
from .resunet_cbam import ResUNetCBAM
from .unet import UNet

INPUT_SIZE = 128

# Every model name the API accepts is system.contract.MODELS.  A name without a
# builder or without weights is reported ``unavailable`` and served by its fallback.

BUILDERS: dict[str, Callable[[], nn.Module]] = {
    "unet": lambda: UNet(base=8, context=True),
    "resunet_cbam": lambda: ResUNetCBAM(base=8, context=True),
    "hrnet": lambda: HRNetSmall(widths=(8, 16, 32, 64), stages=1, context=True, fuse_width=16),
}


def build(name: str) -> nn.Module:
    try:
        return BUILDERS[name]()
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {sorted(BUILDERS)}") from None
