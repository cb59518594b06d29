"""MCL-Net's generator: correspondence network + SPADE generation network."""
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmagic.registry import MODELS


@MODELS.register_module()
class CorrespondenceGenerator(nn.Module):
    """Condition X + exemplar Z -> translated image (paper Fig. 2).

    The ``CorrespondenceNet`` warps the exemplar onto the condition's layout
    (§3.1-3.3); the SPADE generator (§3.4) paints the output from the warped
    exemplar concatenated with the condition, injected through SPADE
    normalisation. Everything the losses of Eq. 3-8 need is returned.

    Args:
        correspondence: config of the ``CorrespondenceNet``.
        generator: config of the ``SPADEGenerator``; its ``cond_channels``
            is set here to 3 (warped exemplar) + the condition's channels.
    """

    def __init__(self, correspondence: dict, generator: dict) -> None:
        super().__init__()
        self.correspondence = MODELS.build(correspondence)
        cond_channels = self.correspondence.cond_encoder.in_channels
        self.generator = MODELS.build(
            dict(generator, cond_channels=3 + cond_channels))

    def forward(self,
                cond: torch.Tensor,
                exemplar: torch.Tensor,
                gt: Optional[torch.Tensor] = None,
                with_cycle: bool = False) -> Dict[str, torch.Tensor]:
        """Translate ``cond`` in the style of ``exemplar``.

        Args:
            cond: (B, label_nc, H, W) condition.
            exemplar: (B, 3, H, W) exemplar in [-1, 1].
            gt: optional (B, 3, H, W) ground truth, encoded for the MCL
                (Alg. 1) and feature-consistency (Eq. 3) losses.
            with_cycle: also warp the warped exemplar back (``Tᵀ·T·Z`` of
                Eq. 4) as ``cycled_exemplar_pooled``.

        Returns:
            ``CorrespondenceNet``'s outputs plus ``fake_img`` (B, 3, H, W).
        """
        outputs = self.correspondence(cond, exemplar, gt, with_cycle)
        outputs['fake_img'] = self.generator(
            torch.cat([outputs['warped_exemplar'], cond], dim=1))
        return outputs
