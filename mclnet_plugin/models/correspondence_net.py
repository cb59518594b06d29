"""The correspondence network: E_X, E_Z, SCM and the warp (paper §3.1-3.3)."""
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS

from .correspondence import at_least_fp32, neighbourhood_softmax_warp
from .matching import neighbourhood_vectors

IMPLS = ('efficient', 'materialized')


def _flatten(feature_map: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H·W, C)."""
    return feature_map.flatten(2).transpose(1, 2)


@MODELS.register_module()
class CorrespondenceNet(nn.Module):
    """Warps an exemplar onto the layout of a condition (CoCosNet's pipeline
    with MCL-Net's SCM).

    X ─E_X─ L2 ─┐                    ┌─ ⊕ SCM ─ k×k vectors ─┐
                ├─ shared stack ─ θ/φ┤                       ├─ cos/τ ─ T
    Z ─E_Z─ L2 ─┘                    └─ ⊕ SCM ─ k×k vectors ─┘

    The warped exemplar is ``T`` applied to the exemplar pooled to the
    feature grid, upsampled (``warp_patch=False``), or to its full-resolution
    d×d patches, folded back (``warp_patch=True``, CoCosNet's DeepFashion
    setting). E_Z also encodes the ground truth when given, for the MCL
    (Alg. 1) and feature-consistency (Eq. 3) losses.

    Matching features (``*_match``, per position, what the MCL compares):
    θ/φ of the shared stack's output, L2-normalised, concatenated with its
    L2-normalised SCM (Eq. 2), so both halves weigh alike in the cosine (the
    paper concatenates them without saying how they are scaled). The cosine
    itself compares each position's k×k neighbourhood of matching features,
    centred and L2-normalised (``neighbourhood_vectors``).

    Args:
        cond_encoder: config of E_X.
        image_encoder: config of E_Z (shared by exemplar and ground truth).
        matching: config of the ``MatchingHead`` (shared stack, θ, φ); None:
            the normalised encoder features are matched directly.
        scm: config of the ``SelfCorrelationMap``; None disables SCM.
        match_kernel: k of the k×k neighbourhoods (CoCosNet: 3).
        center: centre each neighbourhood vector on its mean (CoCosNet).
        temperature: softmax temperature of the correspondence.
        chunk_size: queries per chunk of the efficient warp, see
            ``neighbourhood_softmax_warp``.
        warp_patch: warp the exemplar's full-resolution patches instead of
            the pooled exemplar.
        upsample_mode: interpolation of the warped pooled exemplar to the
            image size ('nearest' as CoCosNet on ADE20K, or 'bilinear').
        impl: 'efficient': ``neighbourhood_softmax_warp`` (C-wide products,
            chunks recomputed in backward); 'materialized': the reference
            formulas (unfolded k×k vectors, the full N×M matrix, its softmax
            over each axis for the warp and the cycle), the same values and
            gradients within rounding, for benchmarks and tests.
    """

    def __init__(self,
                 cond_encoder: dict,
                 image_encoder: dict,
                 matching: Optional[dict] = dict(type='MatchingHead'),
                 scm: Optional[dict] = dict(type='SelfCorrelationMap'),
                 match_kernel: int = 3,
                 center: bool = True,
                 temperature: float = 0.01,
                 chunk_size: Optional[int] = None,
                 warp_patch: bool = False,
                 upsample_mode: str = 'nearest',
                 impl: str = 'efficient') -> None:
        super().__init__()
        if impl not in IMPLS:
            raise ValueError(f'CorrespondenceNet: impl must be one of '
                             f'{IMPLS}, got {impl!r}')
        self.impl = impl
        self.cond_encoder = MODELS.build(cond_encoder)
        self.image_encoder = MODELS.build(image_encoder)
        self.matching = None
        if matching is not None:
            self.matching = MODELS.build(
                dict(dict(in_channels=self.image_encoder.out_channels),
                     **matching))
        self.scm = MODELS.build(scm) if scm is not None else None
        if match_kernel % 2 != 1:
            raise ValueError('CorrespondenceNet: match_kernel must be odd, '
                             f'got {match_kernel}')
        self.match_kernel = match_kernel
        self.center = center
        self.temperature = temperature
        self.chunk_size = chunk_size
        self.warp_patch = warp_patch
        self.upsample_mode = upsample_mode

    def matching_features(self, feat: torch.Tensor,
                          domain: str) -> torch.Tensor:
        """(B, C, H, W) normalised encoder features of ``domain`` ('cond' or
        'image') -> per-position matching features (B, C', H, W)."""
        if self.matching is not None:
            feat = self.matching(feat, domain)
        parts = [F.normalize(feat, dim=1)]
        if self.scm is not None:
            parts.append(F.normalize(self.scm(feat), dim=1))
        return torch.cat(parts, dim=1)

    def correlation_vectors(self, match: torch.Tensor) -> torch.Tensor:
        """(B, C', H, W) matching features -> (B, H·W, C'·k²) vectors whose
        dot products are the cosines of the correspondence (fp32)."""
        return neighbourhood_vectors(
            at_least_fp32(match), self.match_kernel, self.center)

    def warp(self, cond_match: torch.Tensor, exemplar_match: torch.Tensor,
             value: torch.Tensor) -> torch.Tensor:
        """Warp a (B, D, h, w) map on the exemplar's feature grid onto the
        condition's (``T·value``; both grids are h×w), ``*_match`` from
        ``matching_features``."""
        return self._on_grid(cond_match, exemplar_match, value)

    def warp_back(self, cond_match: torch.Tensor,
                  exemplar_match: torch.Tensor,
                  warped: torch.Tensor) -> torch.Tensor:
        """``Tᵀ`` of Eq. 4: a (B, D, h, w) map aligned to the condition back
        onto the exemplar's feature grid (the softmax of the same cosines
        over the condition's positions, as CoCosNet's)."""
        return self._on_grid(exemplar_match, cond_match, warped)

    def _on_grid(self, query_match: torch.Tensor, key_match: torch.Tensor,
                 value: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = value.shape
        if self.impl == 'materialized':
            warped = self._materialized_warp(query_match, key_match,
                                             _flatten(value))
        else:
            warped = neighbourhood_softmax_warp(
                query_match, key_match, _flatten(value), self.temperature,
                self.match_kernel, self.center, self.chunk_size)
        # (B, h·w, D) -> (B, D, h, w)
        return warped.transpose(1, 2).reshape(batch, channels, height, width)

    def _materialized_warp(self, query_match: torch.Tensor,
                           key_match: torch.Tensor,
                           value: torch.Tensor) -> torch.Tensor:
        query = self.correlation_vectors(query_match)
        key = self.correlation_vectors(key_match)
        # (B, N, C·k²) @ (B, C·k², M): the whole correspondence matrix
        corr_logits = torch.bmm(query, key.transpose(1, 2)) / self.temperature
        return torch.bmm(corr_logits.softmax(dim=-1), at_least_fp32(value))

    def forward(self,
                cond: torch.Tensor,
                exemplar: torch.Tensor,
                gt: Optional[torch.Tensor] = None,
                with_cycle: bool = False) -> Dict[str, torch.Tensor]:
        """Encode, match and warp.

        Args:
            cond: (B, label_nc, H, W) condition X.
            exemplar: (B, 3, H, W) exemplar Z.
            gt: optional (B, 3, H, W) ground truth Y.
            with_cycle: also warp the pooled warped exemplar back
                (``Tᵀ·T·Z`` of Eq. 4).

        Returns:
            dict with ``cond_feat``/``exemplar_feat`` (L2-normalised encoder
            outputs), ``cond_match``/``exemplar_match`` (matching features),
            ``exemplar_pooled`` and ``warped_exemplar_pooled`` (on the
            feature grid), ``warped_exemplar`` (image size), with ``gt``
            also ``gt_feat`` and ``gt_match``, with ``with_cycle`` also
            ``cycled_exemplar_pooled``.
        """
        if cond.shape[-2:] != exemplar.shape[-2:]:
            raise ValueError(
                'CorrespondenceNet: condition and exemplar must have the same'
                f' spatial size, got {tuple(cond.shape[-2:])} and '
                f'{tuple(exemplar.shape[-2:])}')
        # CoCosNet matches (and aligns, Eq. 3) L2-normalised features
        cond_feat = F.normalize(self.cond_encoder(cond), dim=1)
        exemplar_feat = F.normalize(self.image_encoder(exemplar), dim=1)
        cond_match = self.matching_features(cond_feat, 'cond')
        exemplar_match = self.matching_features(exemplar_feat, 'image')
        grid = exemplar_feat.shape[-2:]
        exemplar_pooled = F.adaptive_avg_pool2d(exemplar, grid)
        if self.warp_patch:
            factor = exemplar.shape[-1] // grid[-1]
            # (B, 3·d², h, w): each position's d×d patch at full resolution
            patches = F.pixel_unshuffle(exemplar, factor)
            warped_exemplar = F.pixel_shuffle(
                self.warp(cond_match, exemplar_match, patches), factor)
            # warping is linear in the values: the pooled warp is the pooled
            # patch warp
            warped_pooled = F.avg_pool2d(warped_exemplar, factor)
        else:
            warped_pooled = self.warp(cond_match, exemplar_match,
                                      exemplar_pooled)
            warped_exemplar = F.interpolate(
                warped_pooled, size=cond.shape[-2:], mode=self.upsample_mode)
        outputs = dict(
            cond_feat=cond_feat,
            exemplar_feat=exemplar_feat,
            cond_match=cond_match,
            exemplar_match=exemplar_match,
            exemplar_pooled=exemplar_pooled,
            warped_exemplar_pooled=warped_pooled,
            warped_exemplar=warped_exemplar)
        if with_cycle:
            outputs['cycled_exemplar_pooled'] = self.warp_back(
                cond_match, exemplar_match, warped_pooled)
        if gt is not None:
            outputs['gt_feat'] = F.normalize(self.image_encoder(gt), dim=1)
            outputs['gt_match'] = self.matching_features(
                outputs['gt_feat'], 'image')
        return outputs
