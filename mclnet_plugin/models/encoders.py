"""Feature encoders E_X (condition) and E_Z (images) of the correspondence
network (paper §3.1).

Both are instances of ``CorrespondenceEncoder`` (CoCosNet's domain-adaptor
design): a stack of 3×3 convs, two of them stride-2 4×4 convs, each followed
by instance norm and LeakyReLU(0.2), then residual blocks, then a 3×3
projection to the feature width. E_Z is one instance shared by the exemplar
and the ground truth.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmagic.registry import MODELS
from mmcv.cnn import ConvModule


class _ResidualBlock(nn.Module):
    """x + conv-norm-act-conv-norm(x), at constant width."""

    def __init__(self, channels: int, norm_cfg: dict, act_cfg: dict,
                 with_spectral_norm: bool) -> None:
        super().__init__()
        common = dict(
            kernel_size=3,
            padding=1,
            norm_cfg=norm_cfg,
            with_spectral_norm=with_spectral_norm)
        self.conv1 = ConvModule(channels, channels, act_cfg=act_cfg, **common)
        self.conv2 = ConvModule(channels, channels, act_cfg=None, **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.conv1(x))


@MODELS.register_module()
class CorrespondenceEncoder(nn.Module):
    """Encodes a condition map or an image into matching features.

    With the defaults a 256×256 input gives (B, 256, 64, 64) features.

    Args:
        in_channels: input channels (``label_nc`` for E_X, 3 for E_Z).
        out_channels: feature width C.
        channels: widths of the conv stack.
        strides: stride of each conv of the stack (2 = a 4×4 downsampling
            conv); the product is the downsampling factor.
        num_res_blocks: residual blocks after the stack.
        norm_cfg: normalisation of each conv (instance norm by default).
        with_spectral_norm: spectral norm on every conv, as CoCosNet.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 256,
                 channels: Sequence[int] = (64, 128, 256, 512, 512),
                 strides: Sequence[int] = (1, 2, 1, 2, 1),
                 num_res_blocks: int = 3,
                 norm_cfg: Optional[dict] = dict(type='IN', affine=False),
                 with_spectral_norm: bool = True) -> None:
        super().__init__()
        if len(channels) != len(strides):
            raise ValueError(
                'CorrespondenceEncoder: channels and strides must have the '
                f'same length, got {len(channels)} and {len(strides)}')
        if any(stride not in (1, 2) for stride in strides):
            raise ValueError('CorrespondenceEncoder: strides must be 1 or 2, '
                             f'got {tuple(strides)}')
        act_cfg = dict(type='LeakyReLU', negative_slope=0.2)
        layers = []
        width = in_channels
        for out_width, stride in zip(channels, strides):
            layers.append(
                ConvModule(
                    width,
                    out_width,
                    kernel_size=4 if stride == 2 else 3,
                    stride=stride,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                    with_spectral_norm=with_spectral_norm))
            width = out_width
        layers += [
            _ResidualBlock(width, norm_cfg, act_cfg, with_spectral_norm)
            for _ in range(num_res_blocks)
        ]
        layers.append(
            ConvModule(
                width,
                out_channels,
                kernel_size=3,
                padding=1,
                act_cfg=None,
                with_spectral_norm=with_spectral_norm))
        self.layers = nn.Sequential(*layers)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.downsample_factor = 1
        for stride in strides:
            self.downsample_factor *= stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H/f, W/f)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'CorrespondenceEncoder expects (B, {self.in_channels}, H, W)'
                f' input, got shape {tuple(x.shape)}')
        return self.layers(x)
