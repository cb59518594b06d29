"""The correspondence network: E_X, E_Z, SCM and the warp (paper §3.1-3.3)."""
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.registry import MODELS

from .correspondence import cosine_softmax_warp, cosine_softmax_warp_back


def _flatten(feature_map: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H·W, C)."""
    return feature_map.flatten(2).transpose(1, 2)


@MODELS.register_module()
class CorrespondenceNet(nn.Module):
    """Warps an exemplar onto the layout of a condition.

    condition X --E_X--> cond_feat ─┐
                                    ├─ ⊕ SCM ─ cosine / temperature ─ softmax
    exemplar Z --E_Z--> exem_feat ──┘                                  │
    exemplar Z pooled to the feature grid ─────────────── weighted sum ┴─>
    warped exemplar

    The matching features are the encoder feature and its SCM feature, each
    L2-normalised over channels and concatenated, so both contribute equally
    to the cosine (the paper concatenates them without saying how they are
    scaled). E_Z also encodes the ground truth when given, for the MCL
    (Alg. 1) and feature-consistency (Eq. 3) losses.

    Args:
        cond_encoder: config of E_X.
        image_encoder: config of E_Z (shared by exemplar and ground truth).
        scm: config of the ``SelfCorrelationMap``; None disables SCM.
        temperature: softmax temperature of the correspondence.
        chunk_size: see ``cosine_softmax_warp``.
        upsample_mode: interpolation of the warped exemplar back to the image
            size ('bilinear' or 'nearest').
    """

    def __init__(self,
                 cond_encoder: dict,
                 image_encoder: dict,
                 scm: Optional[dict] = dict(type='SelfCorrelationMap'),
                 temperature: float = 0.01,
                 chunk_size: Optional[int] = None,
                 upsample_mode: str = 'bilinear') -> None:
        super().__init__()
        self.cond_encoder = MODELS.build(cond_encoder)
        self.image_encoder = MODELS.build(image_encoder)
        self.scm = MODELS.build(scm) if scm is not None else None
        self.temperature = temperature
        self.chunk_size = chunk_size
        self.upsample_mode = upsample_mode

    def matching_features(self, feat: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) encoder features -> features used for matching."""
        parts = [F.normalize(feat, dim=1)]
        if self.scm is not None:
            parts.append(F.normalize(self.scm(feat), dim=1))
        return torch.cat(parts, dim=1)

    def warp(self, cond_match: torch.Tensor, exemplar_match: torch.Tensor,
             value: torch.Tensor) -> torch.Tensor:
        """Warp a (B, D, h, w) map on the exemplar's feature grid onto the
        condition's feature grid."""
        batch, _, height, width = cond_match.shape
        warped = cosine_softmax_warp(
            _flatten(cond_match), _flatten(exemplar_match), _flatten(value),
            self.temperature, self.chunk_size)  # (B, h·w, D)
        return warped.transpose(1, 2).reshape(batch, -1, height, width)

    def warp_back(self, cond_match: torch.Tensor, exemplar_match: torch.Tensor,
                  warped: torch.Tensor) -> torch.Tensor:
        """``Tᵀ`` of Eq. 4: a (B, D, h, w) map aligned to the condition back
        onto the exemplar's feature grid."""
        batch, _, height, width = exemplar_match.shape
        cycled = cosine_softmax_warp_back(
            _flatten(cond_match), _flatten(exemplar_match), _flatten(warped),
            self.temperature, self.chunk_size)  # (B, h·w, D)
        return cycled.transpose(1, 2).reshape(batch, -1, height, width)

    def forward(self,
                cond: torch.Tensor,
                exemplar: torch.Tensor,
                gt: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """Encode, match and warp.

        Args:
            cond: (B, label_nc, H, W) condition X.
            exemplar: (B, 3, H, W) exemplar Z.
            gt: optional (B, 3, H, W) ground truth Y.

        Returns:
            dict with ``cond_feat``/``exemplar_feat`` (encoder outputs),
            ``cond_match``/``exemplar_match`` (matching features),
            ``exemplar_pooled`` and ``warped_exemplar_pooled`` (on the feature
            grid), ``warped_exemplar`` (image size), and with ``gt`` also
            ``gt_feat`` and ``gt_match``.
        """
        if cond.shape[-2:] != exemplar.shape[-2:]:
            raise ValueError(
                'CorrespondenceNet: condition and exemplar must have the same'
                f' spatial size, got {tuple(cond.shape[-2:])} and '
                f'{tuple(exemplar.shape[-2:])}')
        cond_feat = self.cond_encoder(cond)
        exemplar_feat = self.image_encoder(exemplar)
        cond_match = self.matching_features(cond_feat)
        exemplar_match = self.matching_features(exemplar_feat)
        exemplar_pooled = F.adaptive_avg_pool2d(exemplar,
                                                exemplar_feat.shape[-2:])
        warped_pooled = self.warp(cond_match, exemplar_match, exemplar_pooled)
        outputs = dict(
            cond_feat=cond_feat,
            exemplar_feat=exemplar_feat,
            cond_match=cond_match,
            exemplar_match=exemplar_match,
            exemplar_pooled=exemplar_pooled,
            warped_exemplar_pooled=warped_pooled,
            warped_exemplar=F.interpolate(
                warped_pooled, size=cond.shape[-2:], mode=self.upsample_mode))
        if gt is not None:
            outputs['gt_feat'] = self.image_encoder(gt)
            outputs['gt_match'] = self.matching_features(outputs['gt_feat'])
        return outputs
