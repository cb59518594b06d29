"""Contextual loss (paper Eq. 7; Mechrez et al., ECCV 2018)."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmagic.registry import MODELS

from ..correspondence import at_least_fp32, map_in_chunks
from .loss_inputs import LossComponent


def _check_feature_pair(pred_feat: torch.Tensor, target_feat: torch.Tensor,
                        layer: str = 'feature') -> None:
    for name, feat in (('pred', pred_feat), ('target', target_feat)):
        if feat.dim() != 4:
            raise ValueError(
                f'ContextualLoss: {name} {layer} must be (B, C, H, W), got '
                f'shape {tuple(feat.shape)}')
    if pred_feat.shape[:2] != target_feat.shape[:2]:
        raise ValueError(
            f'ContextualLoss: pred and target {layer} must have the same '
            f'batch size and channels, got (B, C) {tuple(pred_feat.shape[:2])}'
            f' vs {tuple(target_feat.shape[:2])}')


def _best_affinity(pred: torch.Tensor, target: torch.Tensor,
                   band_width: float, eps: float) -> torch.Tensor:
    """max_j A_ij for pred (B, n, C) and target (B, C, M) unit vectors."""
    # Rounding can push the cosine just above 1; a distance is never < 0.
    distance = (1.0 - torch.bmm(pred, target)).clamp(min=0)  # (B, n, M)
    relative = distance / (distance.amin(dim=2, keepdim=True) + eps)
    # softmax_j((1 − d̃_ij)/h) = w_ij / Σ_k w_ik without overflowing exp.
    affinity = torch.softmax((1.0 - relative) / band_width, dim=2)
    return affinity.amax(dim=2)  # (B, n)


CENTERINGS = ('channel', 'position', 'none')


def contextual_similarity(pred_feat: torch.Tensor,
                          target_feat: torch.Tensor,
                          band_width: float = 0.1,
                          eps: float = 1e-3,
                          chunk_size: Optional[int] = None,
                          centering: str = 'channel') -> torch.Tensor:
    """Contextual similarity CX(pred, target) of one feature layer (Eq. 7).

    Per sample, with pred positions i and target positions j: both are
    centred (``centering``) and each position's vector is L2-normalised
    over channels; then
    ``d_ij = 1 − cos(pred_i, target_j)``,
    ``d̃_ij = d_ij / (min_k d_ik + eps)``,
    ``w_ij = exp((1 − d̃_ij) / band_width)``,
    ``A_ij = w_ij / Σ_k w_ik`` and ``CX = mean_i max_j A_ij``.
    CX lies in [1/M, 1] (M target positions) and is 1 when every pred
    vector has its own exact match in the target; it ignores where in the
    target the match is. The loss of a layer is ``−log CX``.

    Args:
        pred_feat: (B, C, H, W) features.
        target_feat: (B, C, H', W') features; H'×W' may differ from H×W.
        band_width: h, how sharply the best match is preferred.
        eps: keeps d̃ finite when a pred vector matches a target one exactly.
        chunk_size: pred positions per chunk (same result, lower peak
            memory: each chunk's (chunk, M) matrix is recomputed in
            backward). None: all at once.
        centering: what both are centred by before normalising:
            ``'channel'``: the target's per-channel mean over its positions
            (Mechrez et al.); ``'position'``: at each position, the
            target's mean over its channels there (CoCosNet's positional
            normalisation, PONO; pred and target must then have the same
            H×W); ``'none'``.

    Returns:
        (B,) CX values, fp32 (fp64 for fp64 inputs).
    """
    _check_feature_pair(pred_feat, target_feat)
    if centering not in CENTERINGS:
        raise ValueError(f'ContextualLoss: centering must be one of '
                         f'{CENTERINGS}, got {centering!r}')
    if centering == 'position' and \
            pred_feat.shape[-2:] != target_feat.shape[-2:]:
        raise ValueError(
            "ContextualLoss: centering='position' centres each pred "
            'position by the target position at the same place, so both '
            'must have one H×W, got '
            f'{tuple(pred_feat.shape[-2:])} and '
            f'{tuple(target_feat.shape[-2:])}')
    pred = at_least_fp32(pred_feat).flatten(2)  # (B, C, N)
    target = at_least_fp32(target_feat).flatten(2)  # (B, C, M)
    if centering == 'channel':
        target_mean = target.mean(dim=2, keepdim=True)  # (B, C, 1)
    elif centering == 'position':
        target_mean = target.mean(dim=1, keepdim=True)  # (B, 1, M)
    else:
        target_mean = target.new_zeros(())
    pred = F.normalize(pred - target_mean, dim=1).transpose(1, 2)
    target = F.normalize(target - target_mean, dim=1)
    best = map_in_chunks(
        lambda p, t: _best_affinity(p, t, band_width, eps),
        rows=(pred, ),
        shared=(target, ),
        chunk_size=chunk_size or pred.shape[1])
    return best.mean(dim=1)


@MODELS.register_module()
class ContextualLoss(LossComponent):
    """Contextual loss over VGG19 layers (Eq. 7), as CoCosNet uses it.

    ``loss_weight × Σ_l weight_l × mean_b(−log CX_l)`` where CX_l is
    :func:`contextual_similarity` of layer l. Layers in ``pool_layers`` are
    2× average-pooled first (to save memory on the large relu3_2 maps). The
    target is the exemplar's features, detached by default. Always computed
    in fp32 (fp64 for fp64 inputs), also under autocast.

    Args:
        layer_weights: VGG layer name -> weight; the feature dicts must hold
            these keys (others are ignored).
        band_width: h in w_ij = exp((1 − d̃_ij)/h).
        eps: added to min_k d_ik in d̃.
        pool_layers: layers average-pooled 2× before the similarity (names
            not in ``layer_weights`` have no effect).
        detach_target: stop gradients into the target features.
        loss_weight: multiplies the loss.
        reduction: 'mean' or 'sum' over the batch, or 'none' ((B,), the
            weighted layers summed per sample).
        chunk_size: pred positions per chunk (same result, lower memory).
        centering: ``'channel'`` (Mechrez et al.'s per-channel mean of the
            target), ``'position'`` (CoCosNet's: the target's channel mean
            at each position) or ``'none'``; see
            :func:`contextual_similarity`.
        data_info: MMagic loss-component mapping, e.g.
            ``dict(pred_feats='fake_vgg', target_feats='ref_vgg')``; then the
            loss is called with the model's outputs dict.
        loss_name: name in the log; the ``loss_`` prefix puts it in backward.
    """

    arg_names = ('pred_feats', 'target_feats')

    def __init__(self,
                 layer_weights: Optional[Dict[str, float]] = None,
                 band_width: float = 0.1,
                 eps: float = 1e-3,
                 pool_layers: Sequence[str] = ('relu3_2', ),
                 detach_target: bool = True,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 chunk_size: Optional[int] = None,
                 centering: str = 'channel',
                 data_info: Optional[dict] = None,
                 loss_name: str = 'loss_cx') -> None:
        super().__init__(loss_weight, data_info, loss_name)
        if layer_weights is None:
            layer_weights = dict(relu3_2=2.0, relu4_2=4.0, relu5_2=8.0)
        if not layer_weights:
            raise ValueError('ContextualLoss: layer_weights is empty')
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError("ContextualLoss: reduction must be 'mean', "
                             f"'sum' or 'none', got {reduction!r}")
        if centering not in CENTERINGS:
            raise ValueError(f'ContextualLoss: centering must be one of '
                             f'{CENTERINGS}, got {centering!r}')
        if band_width <= 0 or eps <= 0:
            raise ValueError('ContextualLoss: band_width and eps must be > 0,'
                             f' got {band_width} and {eps}')
        self.layer_weights = dict(layer_weights)
        self.band_width = band_width
        self.eps = eps
        self.pool_layers = tuple(pool_layers)
        self.detach_target = detach_target
        self.reduction = reduction
        self.chunk_size = chunk_size
        self.centering = centering

    def forward(self, *args, **kwargs) -> torch.Tensor:
        """``forward(pred_feats, target_feats)`` (dicts layer -> (B, C, H,
        W)), or ``forward(outputs_dict)`` when ``data_info`` is set."""
        pred_feats, target_feats = self.inputs(args, kwargs)
        return self._weighted_loss(pred_feats, target_feats)

    def _weighted_loss(self, pred_feats: Dict[str, torch.Tensor],
                       target_feats: Dict[str, torch.Tensor]) -> torch.Tensor:
        for name, feats in (('pred_feats', pred_feats),
                            ('target_feats', target_feats)):
            if not isinstance(feats, dict):
                raise TypeError(
                    f'ContextualLoss: {name} must be a dict layer name -> '
                    f'(B, C, H, W) features, got {type(feats).__name__}')
            missing = [key for key in self.layer_weights if key not in feats]
            if missing:
                raise KeyError(
                    f'ContextualLoss: {name} has no layer {missing}; '
                    f'available: {sorted(feats)}')
        total = 0
        for layer, weight in self.layer_weights.items():
            pred, target = pred_feats[layer], target_feats[layer]
            _check_feature_pair(pred, target, layer)
            if self.detach_target:
                target = target.detach()
            with torch.autocast(device_type=pred.device.type, enabled=False):
                pred, target = at_least_fp32(pred), at_least_fp32(target)
                if layer in self.pool_layers:
                    pred = F.avg_pool2d(pred, 2)
                    target = F.avg_pool2d(target, 2)
                similarity = contextual_similarity(pred, target,
                                                   self.band_width, self.eps,
                                                   self.chunk_size,
                                                   self.centering)
                # CX ≥ 1/M in exact arithmetic; the clamp guards the log.
                loss = -torch.log(similarity.clamp(min=1e-12))
            total = total + weight * loss
        if self.reduction == 'mean':
            total = total.mean()
        elif self.reduction == 'sum':
            total = total.sum()
        return self.loss_weight * total
