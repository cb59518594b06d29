"""Perceptual loss on precomputed VGG19 features (paper Eq. 6)."""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmagic.registry import MODELS

from .loss_inputs import LossComponent

_CRITERIA = dict(l1=F.l1_loss, mse=F.mse_loss)


@MODELS.register_module()
class VGGFeatureLoss(LossComponent):
    """``Σ_l w_l · ‖φ_l(G(X, Z)) − φ_l(Y)‖`` over VGG19 layers (Eq. 6).

    Takes the feature dicts of a ``VGG19FeatureExtractor`` (computed once per
    image and shared with the contextual loss), unlike MMagic's
    ``PerceptualLoss``, which owns a torchvision-normalised VGG and so cannot
    use the Caffe-converted weights CoCosNet and MCL-Net were trained with.

    Args:
        layer_weights: weight per layer; the default is CoCosNet's VGG
            feature-matching weighting (1/32, 1/16, 1/8, 1/4, 1).
        criterion: 'l1' (Eq. 6) or 'mse'.
        loss_weight: multiplies the sum.
        data_info: MMagic loss-component mapping of ``pred_feats`` and
            ``target_feats`` to keys of an outputs dict.
        loss_name: name in the log.
    """

    arg_names = ('pred_feats', 'target_feats')

    def __init__(self,
                 layer_weights: Optional[Dict[str, float]] = None,
                 criterion: str = 'l1',
                 loss_weight: float = 1.0,
                 data_info: Optional[dict] = None,
                 loss_name: str = 'loss_perc') -> None:
        super().__init__(loss_weight, data_info, loss_name)
        if criterion not in _CRITERIA:
            raise ValueError(f'VGGFeatureLoss: criterion must be one of '
                             f'{sorted(_CRITERIA)}, got {criterion!r}')
        self.layer_weights = layer_weights or dict(
            relu1_2=1 / 32, relu2_2=1 / 16, relu3_2=1 / 8, relu4_2=1 / 4,
            relu5_2=1.0)
        self.criterion = criterion

    def forward(self, *args, **kwargs) -> torch.Tensor:
        """``forward(pred_feats, target_feats)`` (dicts layer -> features) or
        ``forward(outputs_dict)``: the weighted distance, target detached."""
        pred_feats, target_feats = self.inputs(args, kwargs)
        criterion = _CRITERIA[self.criterion]
        total = 0
        for layer, weight in self.layer_weights.items():
            if layer not in pred_feats or layer not in target_feats:
                raise KeyError(
                    f'VGGFeatureLoss: layer {layer!r} is missing from the '
                    f'features (have {sorted(pred_feats)}); add it to the '
                    "VGG19FeatureExtractor's layers")
            total = total + weight * criterion(pred_feats[layer],
                                               target_feats[layer].detach())
        return self.loss_weight * total
