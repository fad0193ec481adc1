"""A small HRNet (Wang et al., 2019): a full-resolution branch kept throughout,
lower-resolution branches beside it, and repeated exchanges between them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


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

    def __init__(self, widths: tuple[int, ...] = (8, 16, 32), stages: int = 2) -> None:
        super().__init__()
        self.stem = conv_bn(1, widths[0])
        self.down = nn.ModuleList([conv_bn(widths[0], widths[0], 1)] + [conv_bn(widths[i - 1], widths[i], 2) for i in range(1, len(widths))])
        self.blocks = nn.ModuleList(
            nn.ModuleList(nn.Sequential(conv_bn(w, w), conv_bn(w, w)) for w in widths) for _ in range(stages)
        )
        self.exchanges = nn.ModuleList(Exchange(list(widths)) for _ in range(stages))
        self.head = nn.Sequential(conv_bn(sum(widths), widths[0]), nn.Conv2d(widths[0], 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        xs = []
        for i, down in enumerate(self.down):
            x = down(x if i == 0 else xs[-1])
            xs.append(x)
        for blocks, exchange in zip(self.blocks, self.exchanges, strict=True):
            xs = exchange([block(b) for block, b in zip(blocks, xs, strict=True)])
        size = xs[0].shape[-2:]
        fused = torch.cat([xs[0]] + [F.interpolate(b, size=size, mode="bilinear", align_corners=False) for b in xs[1:]], 1)
        return self.head(fused)
