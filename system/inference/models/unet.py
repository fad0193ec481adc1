"""A small U-Net (Ronneberger et al., 2015): four scales, skip connections."""

from __future__ import annotations

import torch
from torch import nn


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

    def __init__(self, base: int = 8) -> None:
        super().__init__()
        widths = [base, base * 2, base * 4, base * 8]
        self.down = nn.ModuleList()
        cin = 1
        for w in widths:
            self.down.append(conv_block(cin, w))
            cin = w
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for w_skip, w_in in zip(reversed(widths[:-1]), reversed(widths[1:]), strict=False):
            self.up.append(nn.ConvTranspose2d(w_in, w_skip, 2, stride=2))
            self.dec.append(conv_block(w_skip * 2, w_skip))
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < len(self.down) - 1:
                skips.append(x)
                x = self.pool(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips), strict=False):
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x)
