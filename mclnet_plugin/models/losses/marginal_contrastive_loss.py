"""Marginal contrastive loss (paper §3.2, Eq. 1 and Alg. 1)."""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmagic.registry import MODELS

from ..correspondence import at_least_fp32, map_in_chunks
from .loss_inputs import LossComponent

# sinθ = sqrt(max(1 - cos²θ, EPS)): keeps the loss and its gradient finite
# when |cosθ| rounds to 1 (the authors' code returns NaN there).
SIN_EPS = 1e-6


def additive_angular_margin(cos_theta: torch.Tensor, margin: float,
                            eps: float = SIN_EPS) -> torch.Tensor:
    """``cos(θ + m)`` for ``θ = arccos(cos_theta)`` (Alg. 1, steps 4-5).

    Uses ``cos(θ+m) = cosθ·cos m − sinθ·sin m`` with a clamped ``sinθ``
    (``arccos`` has an infinite gradient at ±1). Where ``θ + m > π`` the
    ArcFace fall-back ``cosθ − m·sin m`` is used instead, so the positive
    logit keeps decreasing in θ and in m rather than wrapping around. One
    exception, too small to matter: for margins below 1e-3 and θ within
    1e-3 of π the clamped ``sinθ`` makes the logit rise by up to about 2e-7
    as m grows (a strict xfail in the property tests records it).
    """
    if margin == 0:
        return cos_theta
    sin_theta = torch.sqrt((1.0 - cos_theta * cos_theta).clamp(min=eps))
    cos_theta_m = cos_theta * math.cos(margin) - sin_theta * math.sin(margin)
    # θ + m > π  <=>  cosθ < cos(π − m) = −cos m
    fallback = cos_theta - margin * math.sin(margin)
    return torch.where(cos_theta > -math.cos(margin), cos_theta_m, fallback)


def _anchor_losses(anchors: torch.Tensor, positives: torch.Tensor,
                   positive_index: torch.Tensor, targets: torch.Tensor,
                   scale: float, margin: float) -> torch.Tensor:
    """Per-anchor cross-entropy of one chunk of anchors.

    anchors, positives: (B, n, C) unit vectors, positives[:, r] = targets[:,
    positive_index[0, r]]; targets: (B, N, C) unit vectors; returns (B, n).
    """
    logits = torch.bmm(anchors, targets.transpose(1, 2)) * scale  # (B, n, N)
    positive_cos = (anchors * positives).sum(dim=-1)  # (B, n)
    positive_logit = additive_angular_margin(positive_cos, margin) * scale
    index = positive_index.expand(anchors.shape[0], -1).unsqueeze(-1)
    logits = logits.scatter(2, index, positive_logit.unsqueeze(-1))
    return torch.logsumexp(logits, dim=-1) - positive_logit


def marginal_contrastive_loss(anchors: torch.Tensor,
                              targets: torch.Tensor,
                              margin: float = 0.4,
                              temperature: float = 0.05,
                              chunk_size: Optional[int] = None
                              ) -> torch.Tensor:
    """One direction of the marginal contrastive loss (Alg. 1; Eq. 1 at m=0).

    For L2-normalised anchors x_i and targets y_j of the same sample:
    l_i = −log(e^{s·cos(θ_ii+m)} / (e^{s·cos(θ_ii+m)} + Σ_{j≠i} e^{s·cosθ_ij}))
    with ``s = 1/temperature``. The positive of x_i is y_i (same position);
    the negatives are the other N−1 positions of the same sample.

    Args:
        anchors: (B, N, C) features, normalised here.
        targets: (B, N, C) features, normalised here.
        chunk_size: anchors per chunk; chunks are recomputed in backward so
            only ``chunk_size × N`` logits are alive at a time. None: all.

    Returns:
        (B, N) per-anchor losses, fp32 (fp64 for fp64 inputs).
    """
    anchors = F.normalize(at_least_fp32(anchors), dim=-1)
    targets = F.normalize(at_least_fp32(targets), dim=-1)
    num_positions = anchors.shape[1]
    positive_index = torch.arange(
        num_positions, device=anchors.device).unsqueeze(0)  # (1, N)
    return map_in_chunks(
        lambda a, p, i, t: _anchor_losses(a, p, i, t, 1.0 / temperature,
                                          margin),
        rows=(anchors, targets, positive_index),
        shared=(targets, ),
        chunk_size=chunk_size or num_positions)


def _as_vectors(feat: torch.Tensor, name: str) -> torch.Tensor:
    """(B, C, H, W) maps or (B, N, C) vectors -> (B, N, C)."""
    if feat.dim() == 4:
        return feat.flatten(2).transpose(1, 2)
    if feat.dim() == 3:
        return feat
    raise ValueError(
        f'MarginalContrastiveLoss: {name} must be (B, C, H, W) or (B, N, C), '
        f'got shape {tuple(feat.shape)}')


@MODELS.register_module()
class MarginalContrastiveLoss(LossComponent):
    """Marginal contrastive loss between condition and ground-truth features.

    ``L_mcl = L_xy + L_yx`` (Alg. 1 and §3.2): each condition feature x_i
    is an anchor whose positive is the ground-truth feature y_i at the same
    position, with an additive angular margin m on the positive pair; the
    other positions of the same sample are negatives. ``bidirectional``
    adds the y→x direction. Always computed in fp32 (fp64 for fp64 inputs),
    also under autocast.

    Defaults follow the paper (m = 0.4). The authors' released code uses
    m = 0.25, temperature 0.05, 64 sampled positions, a detached target and
    one direction: ``margin=0.25, num_samples=64, detach_target=True,
    bidirectional=False``.

    Args:
        margin: additive angular margin m (radians); 0 gives InfoNCE (Eq. 1).
        temperature: τ, the logit scale is s = 1/τ.
        bidirectional: add the y→x direction (L_xy + L_yx).
        num_samples: if set, K random positions (shared by the batch) are the
            only anchors and negatives of this call.
        detach_target: stop gradients into the ground-truth features.
        loss_weight: multiplies the loss.
        reduction: 'mean' (over anchors and batch, per direction, then the
            directions summed), 'sum', or 'none' ((B, N), directions summed).
        chunk_size: anchors per chunk (same result, lower peak memory).
        data_info: MMagic loss-component mapping, e.g.
            ``dict(cond_feat='cond_match', gt_feat='gt_match')``; then the
            loss is called with the model's outputs dict.
        loss_name: name in the log; the ``loss_`` prefix puts it in backward.
    """

    arg_names = ('cond_feat', 'gt_feat')

    def __init__(self,
                 margin: float = 0.4,
                 temperature: float = 0.05,
                 bidirectional: bool = True,
                 num_samples: Optional[int] = None,
                 detach_target: bool = False,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 chunk_size: Optional[int] = None,
                 data_info: Optional[dict] = None,
                 loss_name: str = 'loss_mcl') -> None:
        super().__init__(loss_weight, data_info, loss_name)
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError("MarginalContrastiveLoss: reduction must be "
                             f"'mean', 'sum' or 'none', got {reduction!r}")
        if not 0 <= margin < math.pi / 2:
            raise ValueError('MarginalContrastiveLoss: margin must be in '
                             f'[0, pi/2) radians, got {margin}')
        if temperature <= 0:
            raise ValueError('MarginalContrastiveLoss: temperature must be '
                             f'> 0, got {temperature}')
        self.margin = margin
        self.temperature = temperature
        self.bidirectional = bidirectional
        self.num_samples = num_samples
        self.detach_target = detach_target
        self.reduction = reduction
        self.chunk_size = chunk_size

    def forward(self, *args, **kwargs) -> torch.Tensor:
        """``forward(cond_feat, gt_feat)``, or ``forward(outputs_dict)`` when
        ``data_info`` is set (as MMagic calls its auxiliary losses)."""
        cond_feat, gt_feat = self.inputs(args, kwargs)
        with torch.autocast(device_type=cond_feat.device.type, enabled=False):
            return self.loss_weight * self._reduced_loss(cond_feat, gt_feat)

    def _reduced_loss(self, cond_feat: torch.Tensor,
                      gt_feat: torch.Tensor) -> torch.Tensor:
        cond = _as_vectors(cond_feat, 'cond_feat')
        gt = _as_vectors(gt_feat, 'gt_feat')
        if cond.shape != gt.shape:
            raise ValueError(
                'MarginalContrastiveLoss: cond_feat and gt_feat must have the '
                'same batch size, positions N and channels C; got (B, N, C) '
                f'{tuple(cond.shape)} vs {tuple(gt.shape)}')
        if self.detach_target:
            gt = gt.detach()
        if self.num_samples is not None:
            cond, gt = self._sample_positions(cond, gt)
        directions = [(cond, gt), (gt, cond)] if self.bidirectional else [
            (cond, gt)
        ]
        losses = [
            marginal_contrastive_loss(anchors, targets, self.margin,
                                      self.temperature, self.chunk_size)
            for anchors, targets in directions
        ]
        if self.reduction == 'mean':
            return sum(loss.mean() for loss in losses)
        if self.reduction == 'sum':
            return sum(loss.sum() for loss in losses)
        return sum(losses)

    def _sample_positions(
            self, cond: torch.Tensor,
            gt: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        num_positions = cond.shape[1]
        if not 0 < self.num_samples <= num_positions:
            raise ValueError(
                f'MarginalContrastiveLoss: num_samples={self.num_samples} '
                f'must be in [1, N={num_positions}] positions')
        index = torch.randperm(
            num_positions, device=cond.device)[:self.num_samples]
        return cond[:, index], gt[:, index]
