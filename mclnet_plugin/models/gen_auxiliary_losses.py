"""``loss_config.gen_auxiliary_loss`` for MMagic's translation models.

MMagic's ``BaseGAN`` builds ``loss_config.gen_auxiliary_loss`` and calls each
entry with a dict of its outputs; ``Pix2Pix`` and ``CycleGAN`` (both
``BaseTranslationModel``) never read it, so a loss put there is silently
ignored. ``GenAuxiliaryLossMixin`` adds the BaseGAN behaviour to them, and
``check_auxiliary_losses_are_called`` turns the silent no-op on the plain
models into an error when they are built.
"""
import functools
from typing import Dict, Tuple

import mmengine.registry
import torch
import torch.nn as nn
from mmagic.models.base_models import BaseTranslationModel
from mmagic.registry import MODELS

# Key of the auxiliary losses inside ``generators``: the generator optimizer
# (``optim_wrapper.generators``) then trains their parameters (MLP heads).
AUX_LOSSES_KEY = 'auxiliary_losses'

# Plain MMagic model -> the variant that calls its auxiliary losses.
AUX_LOSS_VARIANTS = {
    'Pix2Pix': 'Pix2PixWithAuxLoss',
    'CycleGAN': 'CycleGANWithAuxLoss',
}


class GenAuxiliaryLossMixin:
    """Builds ``loss_config.gen_auxiliary_loss`` and adds it to the generator
    loss of a ``BaseTranslationModel``.

    Each entry (a dict or a list of dicts, as in ``BaseGAN``) is built from
    ``MODELS`` and called in the generator step with the model's outputs
    dict plus its generators (see ``auxiliary_loss_inputs``); its value is
    added to the generator loss and logged under ``loss_name()`` (entries
    with the same name are summed). The losses live in
    ``generators['auxiliary_losses']``, so their parameters are trained by
    the ``generators`` optimizer.
    """

    def _build_gen_auxiliary_losses(self) -> None:
        if self.loss_config.get('disc_auxiliary_loss'):
            raise ValueError(
                f'{type(self).__name__} calls loss_config.gen_auxiliary_loss '
                'only; disc_auxiliary_loss would be ignored')
        configs = self.loss_config.get('gen_auxiliary_loss') or []
        if isinstance(configs, dict):
            configs = [configs]
        generators = self.get_module(self.generators)
        if AUX_LOSSES_KEY in self._reachable_domains:
            raise ValueError(f'{type(self).__name__}: a domain may not be '
                             f'named {AUX_LOSSES_KEY!r}')
        generators[AUX_LOSSES_KEY] = nn.ModuleList(
            MODELS.build(config) for config in configs)

    @property
    def gen_auxiliary_losses(self) -> nn.ModuleList:
        """The built ``loss_config.gen_auxiliary_loss`` entries."""
        return self.get_module(self.generators)[AUX_LOSSES_KEY]

    def auxiliary_loss_inputs(self, outputs: dict) -> dict:
        """What the auxiliary losses may name in their ``data_info``.

        The model's own outputs (``real_<domain>``, ``fake_<domain>``, and
        for CycleGAN ``cycle_<domain>``, ``identity_<domain>``), plus
        ``gen_<domain>`` (the generator translating into ``<domain>``) for
        each reachable domain and ``gen`` (that of the default domain).
        """
        generators = self.get_module(self.generators)
        inputs = dict(outputs, gen=generators[self._default_domain])
        for domain in self._reachable_domains:
            inputs[f'gen_{domain}'] = generators[domain]
        return inputs

    def _get_gen_loss(self, outputs: dict) -> Tuple[torch.Tensor, dict]:
        loss_g, log_vars = super()._get_gen_loss(outputs)
        aux_losses: Dict[str, torch.Tensor] = {}
        inputs = self.auxiliary_loss_inputs(outputs)
        for loss_module in self.gen_auxiliary_losses:
            name = loss_module.loss_name()
            value = loss_module(inputs)
            aux_losses[name] = aux_losses[name] + value if (
                name in aux_losses) else value
        if not aux_losses:
            return loss_g, log_vars
        aux_total, aux_log_vars = self.parse_losses(aux_losses)
        aux_log_vars.pop('loss')
        log_vars.update(aux_log_vars)
        log_vars['loss'] = log_vars['loss'] + aux_total
        return loss_g + aux_total, log_vars


def check_auxiliary_losses_are_called(model) -> None:
    """Raise if ``model`` is a translation model that would ignore its
    ``loss_config`` auxiliary losses."""
    if not isinstance(model, BaseTranslationModel) or isinstance(
            model, GenAuxiliaryLossMixin):
        return
    loss_config = getattr(model, 'loss_config', None) or {}
    for key in ('gen_auxiliary_loss', 'disc_auxiliary_loss'):
        if loss_config.get(key):
            name = type(model).__name__
            variant = AUX_LOSS_VARIANTS.get(name)
            hint = (f"use model type='{variant}' (import mclnet_plugin)"
                    if variant else 'no variant of it calls them')
            raise ValueError(
                f'{name} never builds or calls loss_config.{key}, so it would '
                f'be silently ignored: {hint}')


def _checking_build(build_func):
    """``build_func`` followed by ``check_auxiliary_losses_are_called``."""
    if getattr(build_func, 'checks_auxiliary_losses', False):
        return build_func

    @functools.wraps(build_func)
    def build(*args, **kwargs):
        obj = build_func(*args, **kwargs)
        check_auxiliary_losses_are_called(obj)
        return obj

    build.checks_auxiliary_losses = True
    return build


def install_auxiliary_loss_check() -> None:
    """Check every model built from the model registries.

    The Runner builds from MMEngine's root ``MODELS``, code (and nested
    configs) from MMagic's; each keeps its own ``build_func``, so both are
    wrapped. The wrapper only adds a type check after the normal build.
    """
    for registry in (mmengine.registry.MODELS, MODELS):
        registry.build_func = _checking_build(registry.build_func)
