"""Discriminator feature matching (SPADE, pix2pixHD): part of L_adv, Eq. 8."""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmagic.registry import MODELS

from .loss_inputs import LossComponent

ScaleFeatures = Sequence[Sequence[torch.Tensor]]


@MODELS.register_module()
class DiscFeatureMatchingLoss(LossComponent):
    """L1 between the discriminator's intermediate features of fake and real.

    For a multi-scale discriminator returning, per scale, the list of every
    layer's output (the last being the patch prediction), the loss is
    ``w / num_scales · Σ_scales Σ_layers≠last ‖D_l(fake) − D_l(real)‖₁``
    (w = ``loss_weight``), with the real features detached: they are
    targets here, not trained.

    Args:
        loss_weight: 10 in SPADE and CoCosNet.
        data_info: MMagic loss-component mapping, e.g.
            ``dict(fake_feats='disc_fake', real_feats='disc_real')``.
        loss_name: name in the log.
    """

    arg_names = ('fake_feats', 'real_feats')

    def __init__(self,
                 loss_weight: float = 10.0,
                 data_info: Optional[dict] = None,
                 loss_name: str = 'loss_disc_feat_match') -> None:
        super().__init__(loss_weight, data_info, loss_name)

    def forward(self, *args, **kwargs) -> torch.Tensor:
        """``forward(fake_feats, real_feats)`` or ``forward(outputs_dict)``."""
        fake_feats, real_feats = self.inputs(args, kwargs)
        return self.loss_weight * feature_matching(fake_feats, real_feats)


def feature_matching(fake_feats: ScaleFeatures,
                     real_feats: ScaleFeatures) -> torch.Tensor:
    """Mean over scales of the summed per-layer L1 (last layer excluded)."""
    if len(fake_feats) != len(real_feats):
        raise ValueError(
            'DiscFeatureMatchingLoss: fake and real features come from '
            f'{len(fake_feats)} and {len(real_feats)} discriminator scales')
    per_scale: List[torch.Tensor] = []
    for fake_layers, real_layers in zip(fake_feats, real_feats):
        if len(fake_layers) != len(real_layers) or len(fake_layers) < 2:
            raise ValueError(
                'DiscFeatureMatchingLoss: each scale needs the same number '
                '(≥ 2) of fake and real layer outputs, got '
                f'{len(fake_layers)} and {len(real_layers)}')
        per_scale.append(
            sum(
                F.l1_loss(fake, real.detach())
                for fake, real in zip(fake_layers[:-1], real_layers[:-1])))
    return torch.stack(per_scale).mean()
