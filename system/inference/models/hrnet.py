"""A small HRNet (Wang et al., 2019): a full-resolution branch kept throughout,
lower-resolution branches beside it, and repeated exchanges between them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .context import Context


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Exchange(nn.Module):
    """Each branch receives every other branch, resized to its resolution and width."""

    def __init__(self, widths: list[int]) -> None:
        super().__init__()
        self.project = nn.ModuleDict()
        for i, wi in enumerate(widths):
            for j, wj in enumerate(widths):
                if i != j:
                    self.project[f"{j}to{i}"] = nn.Sequential(nn.Conv2d(wj, wi, 1, bias=False), nn.BatchNorm2d(wi))

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for i, xi in enumerate(xs):
            acc = xi
            for j, xj in enumerate(xs):
                if i != j:
                    y = self.project[f"{j}to{i}"](xj)
                    acc = acc + F.interpolate(y, size=xi.shape[-2:], mode="bilinear", align_corners=False)
            out.append(F.relu(acc))
        return out


class HRNetSmall(nn.Module):
    """Input N x 1 x S x S (S divisible by 4); output N x 1 x S x S logits."""

    def __init__(self, widths: tuple[int, ...] = (8, 16, 32), stages: int = 2, context: bool = False, fuse_width: int = 0) -> None:
        super().__init__()
        self.stem = conv_bn(1, widths[0])
        self.down = nn.ModuleList([conv_bn(widths[0], widths[0], 1)] + [conv_bn(widths[i - 1], widths[i], 2) for i in range(1, len(widths))])
        self.blocks = nn.ModuleList(
            nn.ModuleList(nn.Sequential(conv_bn(w, w), conv_bn(w, w)) for w in widths) for _ in range(stages)
        )
        self.exchanges = nn.ModuleList(Exchange(list(widths)) for _ in range(stages))
        if fuse_width:  # each branch projected at its own resolution, then upsampled and summed: a 1 x 1
            # convolution of the concatenation, without building it at full resolution
            self.fuse = nn.ModuleList(nn.Conv2d(w, fuse_width, 1, bias=False) for w in widths)
            self.head = nn.Sequential(nn.BatchNorm2d(fuse_width), nn.ReLU(inplace=True), nn.Conv2d(fuse_width, 1, 1))
        else:
            self.fuse = None
            self.head = nn.Sequential(conv_bn(sum(widths), widths[0]), nn.Conv2d(widths[0], 1, 1))
        # Image-wide context on the coarsest branch (context.py), before the branches exchange.
        self.context = Context(widths[-1]) if context else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        xs = []
        for i, down in enumerate(self.down):
            x = down(x if i == 0 else xs[-1])
            xs.append(x)
        xs[-1] = self.context(xs[-1])
        for blocks, exchange in zip(self.blocks, self.exchanges, strict=True):
            xs = exchange([block(b) for block, b in zip(blocks, xs, strict=True)])
        size = xs[0].shape[-2:]
        if self.fuse is not None:
            fused = self.fuse[0](xs[0])
            for project, b in zip(self.fuse[1:], xs[1:], strict=True):
                fused = fused + F.interpolate(project(b), size=size, mode="bilinear", align_corners=False)
            return self.head(fused)
        fused = torch.cat([xs[0]] + [F.interpolate(b, size=size, mode="bilinear", align_corners=False) for b in xs[1:]], 1)
        return self.head(fused)
