"""Building blocks of the SPADE generation network (Park et al., CVPR 2019,
"Semantic Image Synthesis with Spatially-Adaptive Normalization"), which
MCL-Net uses to render the warped exemplar (paper §3.3).

- ``PositionalNorm2d``: PONO (Li et al., NeurIPS 2019), the parameter-free
  norm CoCosNet uses inside SPADE.
- ``SPADE``: parameter-free norm, then γ and β predicted per position from
  the resized conditioning map (SPADE Eq. 1).
- ``SPADEResBlock``: the residual block built from two SPADE-act-conv units.
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmcv.cnn import ConvModule

from .checkpointing import checkpointed
from .modulated_norm import modulated_norm


@MODELS.register_module()
class PositionalNorm2d(nn.Module):
    """Normalises each position over its channels (PONO).

    (x - μ) / √(σ² + eps) with μ, σ² the mean and the biased variance over
    C at each (b, h, w). The PONO and CoCosNet code use the unbiased
    variance (a factor C / (C - 1), under 2% for C ≥ 64); we follow the
    paper's formula, as the other parameter-free norms do.
    """

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var, mean = torch.var_mean(x, dim=1, correction=0, keepdim=True)
        return (x - mean) * torch.rsqrt(var + self.eps)


def build_param_free_norm(norm_type: str, num_features: int) -> nn.Module:
    """The norm SPADE modulates: 'instance', 'batch' or 'positional'."""
    if norm_type == 'instance':
        return nn.InstanceNorm2d(num_features, affine=False)
    if norm_type == 'batch':
        return nn.BatchNorm2d(num_features, affine=False)
    if norm_type == 'positional':
        return PositionalNorm2d()
    raise ValueError("norm_type must be 'instance', 'batch' or 'positional', "
                     f'got {norm_type!r}')


@MODELS.register_module()
class SPADE(nn.Module):
    """Spatially-adaptive denormalisation (SPADE paper, Eq. 1).

    out = norm(x) · (1 + γ(m)) + β(m), where m is the conditioning map
    resized (nearest) to x's H×W and γ, β come from a shared conv + ReLU
    followed by one conv each. The paper writes the scale as γ; predicting
    it as 1 + γ (as common implementations do) centres the learned part on
    the identity scale. With the positional and instance norms the
    normalisation, modulation and the block's activation run as one
    autograd node that keeps less for backward (``modulated_norm``).

    Args:
        num_features: channels C of x.
        cond_channels: channels of the conditioning map.
        norm_type: parameter-free norm of x, see ``build_param_free_norm``.
        hidden_channels: width of the shared conv.
        kernel_size: kernel of all three convs (odd).
    """

    def __init__(self,
                 num_features: int,
                 cond_channels: int,
                 norm_type: str = 'positional',
                 hidden_channels: int = 128,
                 kernel_size: int = 3) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(
                f'SPADE: kernel_size must be odd, got {kernel_size}')
        padding = kernel_size // 2
        self.norm = build_param_free_norm(norm_type, num_features)
        self.shared = ConvModule(
            cond_channels,
            hidden_channels,
            kernel_size,
            padding=padding,
            act_cfg=dict(type='ReLU'))
        self.to_gamma = nn.Conv2d(
            hidden_channels, num_features, kernel_size, padding=padding)
        self.to_beta = nn.Conv2d(
            hidden_channels, num_features, kernel_size, padding=padding)

    def forward(self,
                x: torch.Tensor,
                cond: torch.Tensor,
                negative_slope: Optional[float] = None) -> torch.Tensor:
        """x (B, C, H, W), cond (B, cond_channels, H', W') -> (B, C, H, W);
        followed by LeakyReLU(negative_slope) when it is given."""
        cond = F.interpolate(cond, size=x.shape[2:], mode='nearest')
        cond_feat = self.shared(cond)
        gamma = self.to_gamma(cond_feat)
        beta = self.to_beta(cond_feat)
        dims = _statistics_dims(self.norm)
        if dims is not None:
            return modulated_norm(x, gamma, beta, dims, self.norm.eps,
                                  negative_slope)
        out = self.norm(x) * (1 + gamma) + beta
        if negative_slope is None:
            return out
        return F.leaky_relu(out, negative_slope)


def _statistics_dims(norm: nn.Module) -> Optional[Tuple[int, ...]]:
    """Dims of the per-sample statistics ``modulated_norm`` can recompute;
    None for batch norm (running statistics, shared across the batch)."""
    if isinstance(norm, PositionalNorm2d):
        return (1, )
    if isinstance(norm, nn.InstanceNorm2d) and not norm.affine \
            and not norm.track_running_stats:
        return (2, 3)
    return None


@MODELS.register_module()
class SPADEResBlock(nn.Module):
    """SPADE residual block (SPADE paper, Fig. 4 and §3).

    Main path: (SPADE → LeakyReLU(0.2) → conv3×3) twice, through
    min(in, out) channels. Shortcut: identity when in == out, otherwise
    SPADE → bias-free conv1×1 (a learned skip).

    Args:
        in_channels: channels of x.
        out_channels: channels of the output.
        cond_channels: channels of the conditioning map.
        norm_type: parameter-free norm inside each SPADE.
        hidden_channels: width of each SPADE's shared conv.
        with_spectral_norm: spectral norm on the block's convs (not on the
            SPADE convs, which only predict γ and β).
        with_cp: activation checkpointing: keep only the block's inputs
            for backward and run it again there (less memory, about a third
            more of the block's time; ``checkpointed``).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 cond_channels: int,
                 norm_type: str = 'positional',
                 hidden_channels: int = 128,
                 with_spectral_norm: bool = True,
                 with_cp: bool = False) -> None:
        super().__init__()
        self.with_cp = with_cp
        mid_channels = min(in_channels, out_channels)
        spade = dict(
            cond_channels=cond_channels,
            norm_type=norm_type,
            hidden_channels=hidden_channels)
        conv3x3 = dict(
            kernel_size=3,
            padding=1,
            act_cfg=None,
            with_spectral_norm=with_spectral_norm)
        self.norm1 = SPADE(in_channels, **spade)
        self.conv1 = ConvModule(in_channels, mid_channels, **conv3x3)
        self.norm2 = SPADE(mid_channels, **spade)
        self.conv2 = ConvModule(mid_channels, out_channels, **conv3x3)
        self.learned_shortcut = in_channels != out_channels
        if self.learned_shortcut:
            self.shortcut_norm = SPADE(in_channels, **spade)
            self.shortcut_conv = ConvModule(
                in_channels,
                out_channels,
                kernel_size=1,
                bias=False,
                act_cfg=None,
                with_spectral_norm=with_spectral_norm)

    def shortcut(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if not self.learned_shortcut:
            return x
        return self.shortcut_conv(self.shortcut_norm(x, cond))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """x (B, in, H, W), cond (B, cond_channels, H', W') -> (B, out, H, W).
        """
        if self.with_cp:
            return checkpointed(self, self._forward, x, cond)
        return self._forward(x, cond)

    def _forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        residual = self.conv1(self.norm1(x, cond, negative_slope=0.2))
        residual = self.conv2(self.norm2(residual, cond, negative_slope=0.2))
        return self.shortcut(x, cond) + residual
