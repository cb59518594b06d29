"""MMagic's Pix2Pix and CycleGAN, calling ``loss_config.gen_auxiliary_loss``.

Configs switch to them with one line, ``model=dict(type=...)``; everything
else (generators, optimizers, datasets) stays as MMagic's config has it.
"""
from mmagic.models import CycleGAN, Pix2Pix
from mmagic.registry import MODELS

from .gen_auxiliary_losses import GenAuxiliaryLossMixin


@MODELS.register_module()
class Pix2PixWithAuxLoss(GenAuxiliaryLossMixin, Pix2Pix):
    """``Pix2Pix`` plus ``loss_config.gen_auxiliary_loss``.

    Outputs-dict keys for ``data_info``: ``gen`` (the generator),
    ``real_<source>``, ``fake_<target>``, ``real_<target>``, and
    ``gen_<target>``; e.g. ``real_mask``, ``fake_photo``, ``real_photo`` in
    MMagic's facades config.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._build_gen_auxiliary_losses()


@MODELS.register_module()
class CycleGANWithAuxLoss(GenAuxiliaryLossMixin, CycleGAN):
    """``CycleGAN`` plus ``loss_config.gen_auxiliary_loss``.

    Outputs-dict keys for ``data_info``, for each domain d: ``gen_<d>`` (the
    generator translating into d), ``real_<d>``, ``fake_<d>``, ``cycle_<d>``
    and ``identity_<d>``; ``gen`` is ``gen_<default_domain>``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._build_gen_auxiliary_losses()
