"""Image-wide context at a network's coarsest scale: dilated convolutions, each added to what it refines.

At the 128-pixel input, a U-Net's deepest block sees about 70 pixels around a point and a three-branch HRNet
about 35: less than the middle of a spheroid that fills half the field.  Such a middle, evenly bright or as
dark as the background inside a phase-contrast halo, looks the same as the background around it, so a
network that cannot see the spheroid's edge from there leaves it out (a ring of mask).  Three dilated 3 x 3
convolutions (dilation 2, 4, 8) at 1/8 scale reach 112 input pixels to each side: every point of the input.
"""

from __future__ import annotations

import torch
from torch import nn


class Context(nn.Module):
    def __init__(self, channels: int, dilations: tuple[int, ...] = (2, 4, 8)) -> None:
        super().__init__()
        self.steps = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, channels, 3, padding=d, dilation=d, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
            for d in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step in self.steps:
            x = x + step(x)
        return x
