"""A small U-Net (Ronneberger et al., 2015): four scales, skip connections.

The block at each scale is a parameter, so the residual-attention variant
(``resunet_cbam.py``) is this same skeleton with another block.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .context import Context


def conv_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """Input N x 1 x S x S (S divisible by 8); output N x 1 x S x S logits."""

    def __init__(self, base: int = 8, block: Callable[[int, int], nn.Module] = conv_block, context: bool = False) -> None:
        super().__init__()
        widths = [base, base * 2, base * 4, base * 8]
        self.down = nn.ModuleList()
        cin = 1
        for w in widths:
            self.down.append(block(cin, w))
            cin = w
        # Image-wide context at the deepest scale (context.py): the middle of a large spheroid sees its edge.
        self.context = Context(widths[-1]) if context else nn.Identity()
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for w_skip, w_in in zip(reversed(widths[:-1]), reversed(widths[1:]), strict=True):
            self.up.append(nn.ConvTranspose2d(w_in, w_skip, 2, stride=2))
            self.dec.append(block(w_skip * 2, w_skip))
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < len(self.down) - 1:
                skips.append(x)
                x = self.pool(x)
        x = self.context(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips), strict=True):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x)
