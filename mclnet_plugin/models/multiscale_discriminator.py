"""Multi-scale PatchGAN discriminator (pix2pixHD; used by SPADE, CoCosNet
and MCL-Net).

Every layer's output is returned so the caller can apply the hinge loss to
the patch predictions and feature matching to the intermediate features.
MMagic's ``PatchDiscriminator`` returns only the prediction and has no
spectral norm, hence this module.
"""
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmcv.cnn import ConvModule

from .chunked_attention import ChunkedSelfAttentionBlock


class _PatchDiscriminator(nn.Module):
    """One scale: kernel-4 convs, see ``MultiScaleDiscriminator``."""

    def __init__(self, in_channels: int, base_channels: int, num_layers: int,
                 norm_cfg: Optional[dict], with_spectral_norm: bool,
                 padding: int, use_attention: bool) -> None:
        super().__init__()
        common = dict(
            kernel_size=4,
            padding=padding,
            with_spectral_norm=with_spectral_norm)
        act_cfg = dict(type='LeakyReLU', negative_slope=0.2)
        layers = [
            ConvModule(
                in_channels,
                base_channels,
                stride=2,
                act_cfg=act_cfg,
                **common)
        ]
        width = base_channels
        for index in range(1, num_layers):
            out_width = min(2 * width, 8 * base_channels)
            layers.append(
                ConvModule(
                    width,
                    out_width,
                    stride=1 if index == num_layers - 1 else 2,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                    **common))
            width = out_width
        layers.append(ConvModule(width, 1, stride=1, act_cfg=None, **common))
        self.layers = nn.ModuleList(layers)
        # on the input of the last inner conv, as CoCosNet
        self.attention_index = num_layers - 1
        self.attention = None
        if use_attention:
            attention_width = layers[self.attention_index].conv.in_channels
            if attention_width < 8:
                raise ValueError(
                    'MultiScaleDiscriminator: the attention projects to C/8 '
                    f'channels and would get C = {attention_width}; use '
                    'base_channels·2**(num_layers−2) ≥ 8 or '
                    'use_attention=False')
            self.attention = ChunkedSelfAttentionBlock(
                attention_width,
                with_spectral_norm=with_spectral_norm,
                sn_eps=1e-12,
                sn_style='torch')

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        features = []
        for index, layer in enumerate(self.layers):
            if index == self.attention_index and self.attention is not None:
                if x.shape[-2] % 2 or x.shape[-1] % 2:
                    raise ValueError(
                        'MultiScaleDiscriminator: the attention pools 2×2, '
                        f'so its input must have an even size, got '
                        f'{tuple(x.shape[-2:])}; use padding=1 or an input '
                        'size divisible by 2**num_layers')
                x = self.attention(x)
            x = layer(x)
            features.append(x)
        return features


@MODELS.register_module()
class MultiScaleDiscriminator(nn.Module):
    """``num_discriminators`` PatchGANs, each at half the previous resolution.

    Each scale: conv stride 2 (no norm) + LeakyReLU(0.2); then
    ``num_layers - 1`` convs doubling the width up to 8b, stride 2 except
    the last (stride 1), each with norm + LeakyReLU(0.2); then a stride-1
    conv to one channel (the patch logits). All convs have kernel 4 and
    ``padding`` (1 in CoCosNet's code, 2 in SPADE's). With
    ``use_attention``, BigGAN's self-attention (MMagic's
    ``SelfAttentionBlock``) runs on the input of the last inner conv, as in
    CoCosNet's discriminator (``--use_attention``). Between scales the input
    is average-pooled (3×3, stride 2, padding 1, padding excluded from the
    mean).

    Args:
        in_channels: condition channels + image channels (the caller
            concatenates condition ⊕ image).
        num_discriminators: number of scales.
        base_channels: b, the width of the first conv.
        num_layers: convs before the prediction conv (≥ 1).
        norm_cfg: norm of the inner convs; instance norm (no affine) with
            spectral norm is SPADE's 'spectralinstance'.
        with_spectral_norm: spectral norm on every conv.
        padding: padding of every kernel-4 conv.
        use_attention: self-attention before the last inner conv (needs
            ``num_layers`` ≥ 2).
    """

    def __init__(self,
                 in_channels: int,
                 num_discriminators: int = 2,
                 base_channels: int = 64,
                 num_layers: int = 4,
                 norm_cfg: Optional[dict] = dict(type='IN'),
                 with_spectral_norm: bool = True,
                 padding: int = 1,
                 use_attention: bool = False) -> None:
        super().__init__()
        if num_discriminators < 1 or num_layers < 1:
            raise ValueError(
                'MultiScaleDiscriminator: num_discriminators and num_layers '
                f'must be ≥ 1, got {num_discriminators} and {num_layers}')
        if use_attention and num_layers < 2:
            raise ValueError('MultiScaleDiscriminator: use_attention needs '
                             f'num_layers ≥ 2, got {num_layers}')
        self.in_channels = in_channels
        self.discriminators = nn.ModuleList(
            _PatchDiscriminator(in_channels, base_channels, num_layers,
                                norm_cfg, with_spectral_norm, padding,
                                use_attention)
            for _ in range(num_discriminators))

    @staticmethod
    def downsample(x: torch.Tensor) -> torch.Tensor:
        """Input of the next (half-resolution) scale."""
        return F.avg_pool2d(
            x, kernel_size=3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> List[List[torch.Tensor]]:
        """(B, in_channels, H, W) -> one list per scale, full resolution
        first, of every layer's output; the last of each is the (B, 1, h, w)
        patch prediction."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'MultiScaleDiscriminator expects (B, {self.in_channels}, H,'
                f' W) input, got shape {tuple(x.shape)}')
        outputs = []
        for scale, discriminator in enumerate(self.discriminators):
            if scale > 0:
                x = self.downsample(x)
            outputs.append(discriminator(x))
        return outputs
