"""Feature encoders E_X (condition) and E_Z (images) of the correspondence
network (paper §3.1).

Both are instances of ``CorrespondenceEncoder`` (CoCosNet's domain-adaptor
design): a stack of 3×3 convs, two of them stride-2 4×4 convs, each followed
by instance norm and LeakyReLU(0.2), then residual blocks: SPADE residual
blocks modulated by the encoder's own input, the last one narrowing to the
feature width (CoCosNet's adaptor), or plain instance-norm blocks followed
by a 3×3 projection. E_Z is one instance shared by the exemplar and the
ground truth.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmagic.registry import MODELS
from mmcv.cnn import ConvModule

from .checkpointing import checkpointed
from .spade_modules import SPADEResBlock

RES_BLOCK_TYPES = ('spade', 'plain')


class _ResidualBlock(nn.Module):
    """x + conv-norm-act-conv-norm(x), at constant width."""

    def __init__(self, channels: int, norm_cfg: dict, act_cfg: dict,
                 with_spectral_norm: bool, with_cp: bool) -> None:
        super().__init__()
        self.with_cp = with_cp
        common = dict(
            kernel_size=3,
            padding=1,
            norm_cfg=norm_cfg,
            with_spectral_norm=with_spectral_norm)
        self.conv1 = ConvModule(channels, channels, act_cfg=act_cfg, **common)
        self.conv2 = ConvModule(channels, channels, act_cfg=None, **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp:
            return checkpointed(self, self._forward, x)
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
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
        norm_cfg: normalisation of each conv of the stack (instance norm by
            default) and of the plain residual blocks.
        with_spectral_norm: spectral norm on every conv, as CoCosNet.
        res_block: ``'spade'``: CoCosNet's adaptor blocks, SPADE residual
            blocks (positional norm) whose γ and β are predicted from the
            encoder's input resized to the feature grid, the last block
            going from ``channels[-1]`` to ``out_channels``; ``'plain'``:
            residual blocks conv-norm-act-conv-norm at ``channels[-1]``,
            then a 3×3 conv to ``out_channels`` (cheaper).
        spade_hidden_channels: width of each SPADE's shared conv (128 in
            CoCosNet).
        with_cp: activation checkpointing of the residual blocks (see
            ``SPADEResBlock``).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 256,
                 channels: Sequence[int] = (64, 128, 256, 512, 512),
                 strides: Sequence[int] = (1, 2, 1, 2, 1),
                 num_res_blocks: int = 3,
                 norm_cfg: Optional[dict] = dict(type='IN', affine=False),
                 with_spectral_norm: bool = True,
                 res_block: str = 'spade',
                 spade_hidden_channels: int = 128,
                 with_cp: bool = False) -> None:
        super().__init__()
        if res_block not in RES_BLOCK_TYPES:
            raise ValueError('CorrespondenceEncoder: res_block must be one of '
                             f'{RES_BLOCK_TYPES}, got {res_block!r}')
        if res_block == 'spade' and num_res_blocks < 1:
            raise ValueError(
                "CorrespondenceEncoder: res_block='spade' ends with the block "
                'that narrows to out_channels, so num_res_blocks must be >= '
                f'1, got {num_res_blocks}')
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
        for index, (out_width, stride) in enumerate(zip(channels, strides)):
            # CoCosNet's adaptor activates before each conv, so the stack's
            # last conv enters the SPADE blocks un-activated
            last_before_spade = res_block == 'spade' and \
                index == len(channels) - 1
            layers.append(
                ConvModule(
                    width,
                    out_width,
                    kernel_size=4 if stride == 2 else 3,
                    stride=stride,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=None if last_before_spade else act_cfg,
                    with_spectral_norm=with_spectral_norm))
            width = out_width
        self.res_block = res_block
        if res_block == 'spade':
            widths = [width] * num_res_blocks + [out_channels]
            self.res_blocks = nn.ModuleList(
                SPADEResBlock(
                    w_in,
                    w_out,
                    in_channels,
                    norm_type='positional',
                    hidden_channels=spade_hidden_channels,
                    with_spectral_norm=with_spectral_norm,
                    with_cp=with_cp)
                for w_in, w_out in zip(widths, widths[1:]))
        else:
            layers += [
                _ResidualBlock(width, norm_cfg, act_cfg, with_spectral_norm,
                               with_cp) for _ in range(num_res_blocks)
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
        features = self.layers(x)
        if self.res_block == 'spade':
            for block in self.res_blocks:
                # SPADE resizes x (nearest) to the feature grid
                features = block(features, x)
        return features
