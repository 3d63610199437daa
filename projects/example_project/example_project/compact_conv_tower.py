"""A compact residual ConvNet image tower, written for small images and CPU training."""
from typing import Optional, Sequence

import torch
from torch import nn

from zerovl.models.towers.freezing import FreezableTower
from zerovl.registry import MODELS


def conv_norm(in_channels: int, out_channels: int, groups: int, stride: int = 1, act: bool = True) -> nn.Sequential:
    """3x3 convolution -> GroupNorm -> ReLU. No conv bias: the norm's shift replaces it."""
    layers = [nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
              nn.GroupNorm(groups, out_channels)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions added to an identity shortcut.

    The last norm's scale starts at zero, so each block starts as the identity: the untrained network is
    a shallow one, whatever its depth, and trains from scratch without warm-up tricks.
    """

    def __init__(self, channels: int, groups: int):
        super().__init__()
        self.body = nn.Sequential(conv_norm(channels, channels, groups),
                                  conv_norm(channels, channels, groups, act=False))
        nn.init.zeros_(self.body[-1][1].weight)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


def make_stage(in_channels: int, out_channels: int, depth: int, stride: int, groups: int) -> nn.Sequential:
    """A strided convolution to the stage's resolution and width (skipped when neither changes), then
    ``depth`` residual blocks."""
    layers = []
    if stride != 1 or in_channels != out_channels:
        layers.append(conv_norm(in_channels, out_channels, groups, stride=stride))
    layers.extend(ResidualBlock(out_channels, groups) for _ in range(depth))
    return nn.Sequential(*layers)


def check_widths(widths: Sequence[int], depths: Sequence[int], stem_width: int, groups: int) -> None:
    if not widths or len(widths) != len(depths):
        raise ValueError(f'CompactConvTower: widths and depths need one entry per stage, got widths={widths}, '
                         f'depths={depths}')
    if any(depth < 0 for depth in depths):
        raise ValueError(f'CompactConvTower: depths must be >= 0, got {depths}')
    for width in (stem_width, *widths):
        if width < 1 or width % groups:
            raise ValueError(f'CompactConvTower: every width must be a positive multiple of norm_groups={groups}, '
                             f'got {width} (widths={widths}, stem_width={stem_width})')


@MODELS.register_module()
class CompactConvTower(FreezableTower):
    """Stem (3x3, stride 2) -> stages (the first at the stem's resolution, each later one at half the
    previous) -> global average pooling. The output is the pooled feature, ``out_dim = widths[-1]``.

    The defaults (2.0 M parameters) see 64 px images at 32, 16, 8 and 4 px per stage, for the FLOPs of
    the demo's resnet10t (0.18 GFLOP per image).

    GroupNorm rather than BatchNorm, because it normalises each image on its own: a DGA sub-batch then
    gets exactly the large-batch gradient (BatchNorm breaks that, see zerovl/models/dga.py), and
    single-domain batches (debiased sampling) cannot skew running statistics used at evaluation.

    Args:
        widths: channels of each stage.
        depths: residual blocks in each stage.
        stem_width: channels of the stem (default: ``widths[0]``).
        norm_groups: GroupNorm groups; every width must be a multiple.
        in_channels: channels of the input images.
        freeze: keep the tower fixed (no gradients, eval mode), as the other towers allow.
    """

    def __init__(self,
                 widths: Sequence[int] = (32, 64, 128, 256),
                 depths: Sequence[int] = (1, 1, 1, 1),
                 stem_width: Optional[int] = None,
                 norm_groups: int = 8,
                 in_channels: int = 3,
                 freeze: bool = False):
        super().__init__()
        widths, depths = tuple(widths), tuple(depths)
        stem_width = stem_width or widths[0]
        check_widths(widths, depths, stem_width, norm_groups)
        layers = [conv_norm(in_channels, stem_width, norm_groups, stride=2)]
        previous = stem_width
        for index, (width, depth) in enumerate(zip(widths, depths)):
            layers.append(make_stage(previous, width, depth, stride=1 if index == 0 else 2, groups=norm_groups))
            previous = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.model = nn.Sequential(*layers)
        self.out_dim = widths[-1]
        self._init_convolutions()
        if freeze:
            self.freeze()

    def _init_convolutions(self) -> None:
        # He initialisation suits ReLU; PyTorch's default for Conv2d is scaled for a linear layer and
        # starts a from-scratch ConvNet with shrinking activations.
        for module in self.model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode='fan_out', nonlinearity='relu')

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4:
            raise ValueError(f'CompactConvTower expects images of shape (N, C, H, W), got {tuple(images.shape)}')
        return self.model(images)
