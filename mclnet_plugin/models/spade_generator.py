"""The SPADE generation network of MCL-Net (paper §3.4; SPADE paper §3).

It renders the output image from the conditioning input, which in MCL-Net
is the warped exemplar concatenated with the condition map: every residual
block is modulated by that input through SPADE.
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS

from .chunked_attention import ChunkedSelfAttentionBlock
from .spade_modules import SPADEResBlock


@MODELS.register_module()
class SPADEGenerator(nn.Module):
    """SPADE generator without a style encoder (the input is the condition).

    Layout, b = ``base_channels``, each ``↑`` a ×2 nearest upsampling::

        cond resized to (H, W) / 2**num_upsamples → conv3×3 → 16b
        head 16b→16b  [↑]  middle 16b→16b  [↑]  middle 16b→16b
        ↑ 16b→8b  ↑ 8b→4b  ↑ [self-attention] 4b→2b  ↑ 2b→b
        LeakyReLU(0.2) → conv3×3 → out_channels → tanh

    The four width-changing blocks always upsample; the first bracketed
    ``↑`` is there when ``num_upsamples`` ≥ 5 and the second when it is 6,
    so 5 is the SPADE paper's 'normal' layout (8×8 → 256×256), 6 its 'more'
    layout and 4 keeps head and middle blocks at the start grid. Widths do
    not depend on ``num_upsamples``: 16b at most (1024 for b = 64).

    Args:
        cond_channels: channels of the conditioning input.
        out_channels: channels of the generated image.
        base_channels: b above (ngf); 64 in the paper.
        num_upsamples: 4, 5 or 6 upsamplings; H and W must be multiples of
            2**num_upsamples.
        norm_type: parameter-free norm inside SPADE ('positional' = PONO,
            as in all of CoCosNet's published commands).
        hidden_channels: width of each SPADE's shared conv.
        use_attention: BigGAN's self-attention (MMagic's
            ``SelfAttentionBlock``: C/8 query and key, C/2 value, keys and
            values 2×2 max-pooled, an output conv, a gain starting at 0;
            run as ``ChunkedSelfAttentionBlock``) on the upsampled 4b map
            before the 4b→2b block, where CoCosNet puts it (128×128 for
            256×256 outputs).
        with_spectral_norm: spectral norm on the residual blocks' convs and
            the attention's convs.
        with_cp: activation checkpointing of the residual blocks (see
            ``SPADEResBlock``).
    """

    def __init__(self,
                 cond_channels: int,
                 out_channels: int = 3,
                 base_channels: int = 64,
                 num_upsamples: int = 5,
                 norm_type: str = 'positional',
                 hidden_channels: int = 128,
                 use_attention: bool = False,
                 with_spectral_norm: bool = True,
                 with_cp: bool = False) -> None:
        super().__init__()
        if num_upsamples not in (4, 5, 6):
            raise ValueError('SPADEGenerator: num_upsamples must be 4, 5 or '
                             f'6, got {num_upsamples}')
        self.cond_channels = cond_channels
        self.num_upsamples = num_upsamples
        top = 16 * base_channels

        def block(in_channels: int, block_out: int) -> SPADEResBlock:
            return SPADEResBlock(
                in_channels,
                block_out,
                cond_channels,
                norm_type=norm_type,
                hidden_channels=hidden_channels,
                with_spectral_norm=with_spectral_norm,
                with_cp=with_cp)

        self.stem = nn.Conv2d(cond_channels, top, 3, padding=1)
        self.head = block(top, top)
        self.middle = nn.ModuleList([block(top, top), block(top, top)])
        self.middle_upsamples = (num_upsamples >= 5, num_upsamples >= 6)
        widths = [
            top, 8 * base_channels, 4 * base_channels, 2 * base_channels,
            base_channels
        ]
        self.up_blocks = nn.ModuleList(
            block(w_in, w_out) for w_in, w_out in zip(widths, widths[1:]))
        # before up_blocks[2], on its upsampled 4b input, as CoCosNet
        self.attention = None
        if use_attention and 4 * base_channels < 8:
            raise ValueError(
                'SPADEGenerator: the attention projects its 4·base_channels '
                'input to 1/8 of it; use base_channels ≥ 2 or '
                f'use_attention=False, got base_channels={base_channels}')
        if use_attention:
            self.attention = ChunkedSelfAttentionBlock(
                4 * base_channels,
                with_spectral_norm=with_spectral_norm,
                # torch's spectral norm with its default eps, as CoCosNet
                sn_eps=1e-12,
                sn_style='torch')
        self.to_image = nn.Conv2d(base_channels, out_channels, 3, padding=1)

    def start_size(self, height: int, width: int) -> Tuple[int, int]:
        """Grid of the first block for an (height, width) output."""
        factor = 2**self.num_upsamples
        if height % factor or width % factor:
            raise ValueError(
                f'SPADEGenerator with num_upsamples={self.num_upsamples} '
                f'needs H and W divisible by {factor}, got {height}×{width}')
        return height // factor, width // factor

    def forward(self, cond: torch.Tensor) -> torch.Tensor:
        """(B, cond_channels, H, W) -> (B, out_channels, H, W) in [-1, 1]."""
        if cond.dim() != 4 or cond.shape[1] != self.cond_channels:
            raise ValueError(
                f'SPADEGenerator expects (B, {self.cond_channels}, H, W) '
                f'input, got shape {tuple(cond.shape)}')
        start = self.start_size(*cond.shape[2:])
        x = self.stem(F.interpolate(cond, size=start, mode='nearest'))
        x = self.head(x, cond)
        for block, upsample in zip(self.middle, self.middle_upsamples):
            x = block(_upsample(x) if upsample else x, cond)
        for level, block in enumerate(self.up_blocks):
            x = _upsample(x)
            if level == 2 and self.attention is not None:
                x = self.attention(x)
            x = block(x, cond)
        return torch.tanh(self.to_image(F.leaky_relu(x, 0.2)))


def _upsample(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode='nearest')
