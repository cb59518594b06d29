"""CoCosNet's matching stage, which MCL-Net keeps (paper §3.1): a residual
stack shared by both domains with a 1×1 projection per domain, and the
k×k-neighbourhood vectors that the cosine compares."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS

from .checkpointing import checkpointed

DOMAINS = ('cond', 'image')


class MatchingResBlock(nn.Module):
    """x → PReLU(x + IN(conv(PReLU(IN(conv(x)))))), 3×3 convs with
    reflection padding, as the blocks of CoCosNet's matching stack."""

    def __init__(self, channels: int, with_cp: bool = False) -> None:
        super().__init__()
        self.with_cp = with_cp
        self.conv1 = nn.Conv2d(
            channels, channels, 3, padding=1, padding_mode='reflect')
        self.conv2 = nn.Conv2d(
            channels, channels, 3, padding=1, padding_mode='reflect')
        self.norm1 = nn.InstanceNorm2d(channels)
        self.norm2 = nn.InstanceNorm2d(channels)
        self.act = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp:
            return checkpointed(self, self._forward, x)
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.norm2(self.conv2(self.act(self.norm1(self.conv1(x)))))
        return self.act(x + residual)


@MODELS.register_module()
class MatchingHead(nn.Module):
    """Maps both domains' (L2-normalised) encoder features into the space
    where they are matched: ``num_blocks`` residual blocks shared by the
    condition and the image features, then θ (condition) or φ (images), a
    1×1 conv each.

    Args:
        in_channels: width of the encoder features.
        out_channels: width of θ and φ; None: ``in_channels`` (CoCosNet:
            256 = 256).
        num_blocks: depth of the shared stack (CoCosNet: 4; 0 = none).
        with_cp: activation checkpointing of the shared stack's blocks
            (see ``checkpointed``).
    """

    def __init__(self,
                 in_channels: int = 256,
                 out_channels: Optional[int] = None,
                 num_blocks: int = 4,
                 with_cp: bool = False) -> None:
        super().__init__()
        out_channels = out_channels or in_channels
        self.shared = nn.Sequential(
            *[MatchingResBlock(in_channels, with_cp)
              for _ in range(num_blocks)])
        self.theta = nn.Conv2d(in_channels, out_channels, 1)
        self.phi = nn.Conv2d(in_channels, out_channels, 1)
        self.out_channels = out_channels

    def forward(self, feat: torch.Tensor, domain: str) -> torch.Tensor:
        """(B, in, H, W) features of ``domain`` ('cond' or 'image') →
        (B, out, H, W)."""
        if domain not in DOMAINS:
            raise ValueError(f'MatchingHead: domain must be one of {DOMAINS},'
                             f' got {domain!r}')
        projection = self.theta if domain == 'cond' else self.phi
        return projection(self.shared(feat))


def neighbourhood_vectors(feat: torch.Tensor,
                          kernel_size: int = 3,
                          center: bool = True,
                          eps: float = 1e-12) -> torch.Tensor:
    """The vectors whose dot products are the correspondence's cosines:
    each position's ``kernel_size``² neighbourhood (zero beyond the border)
    unfolded into one C·k² vector, centred on its own mean (CoCosNet's
    ``PONO_C`` centring) and L2-normalised.

    Args:
        feat: (B, C, H, W) matching features.

    Returns:
        (B, H·W, C·k²); the channel order is (c, row, column) of
        ``F.unfold``.
    """
    if kernel_size % 2 != 1:
        raise ValueError(f'match kernel size must be odd, got {kernel_size}')
    if kernel_size == 1:
        vectors = feat.flatten(2)
    else:
        vectors = F.unfold(feat, kernel_size, padding=kernel_size // 2)
    vectors = vectors.transpose(1, 2)  # (B, N, C·k²)
    if center:
        vectors = vectors - vectors.mean(dim=-1, keepdim=True)
    return F.normalize(vectors, dim=-1, eps=eps)
