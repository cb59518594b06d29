"""The model of a config with the weights of a checkpoint, for translation;
a checkpoint that does not fit is an error."""
import copy
import pickle
import re
from typing import Dict, Tuple

import torch
from mmagic.registry import MODELS
from mmengine.config import Config
from mmengine.runner import load_checkpoint

from mclnet_plugin.models.mclnet import (VGG_LOSSES, complete_generators,
                                         without_wrapper_keys)
from mclnet_plugin.utils import check_checkpoint_file
from .inference_inputs import check_files

# Checkpoint entries of modules that translation does not build: VGG19
# (its weights come from their own file) and the losses using it.
UNUSED_WEIGHTS = ('vgg.', 'losses.')


def build_inference_model(cfg: Config, checkpoint: str, device: str,
                          config_name: str) -> torch.nn.Module:
    """``cfg.model`` without VGG19 (translation does not need its weights
    file), with the weights of ``checkpoint``, in eval mode on ``device``.

    MMEngine's non-strict loading only warns about weights that do not fit;
    here they are an error (``check_weights_fit``).
    """
    check_files([('checkpoint', checkpoint)])
    check_checkpoint_file(checkpoint)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.vgg = None
    for key in VGG_LOSSES:
        if model_cfg.get('losses', {}).get(key) is not None:
            model_cfg.losses[key] = None
    model = MODELS.build(model_cfg)
    try:
        loaded = load_checkpoint(
            model, checkpoint, map_location='cpu', logger='silent')
    except (RuntimeError, EOFError, pickle.UnpicklingError) as error:
        raise ValueError(f'checkpoint {checkpoint} is not a readable '
                         f'PyTorch checkpoint: {error}') from None
    check_weights_fit(model, loaded, checkpoint, config_name)
    return model.to(device).eval()


def check_weights_fit(model: torch.nn.Module, loaded: dict, checkpoint: str,
                      config_name: str) -> None:
    """Raise if the weights of ``loaded`` (a checkpoint dict or a state
    dict) do not fit ``model``, naming each module part that differs.

    The discriminator's weights may be absent (they do not translate;
    tools/publish_model.py drops them), and so may one of the online and
    the EMA generator (``complete_generators``)."""
    weights = without_ddp_prefix(loaded.get('state_dict', loaded))
    without_wrapper_keys(weights)  # as loading does
    if getattr(model, 'generator_ema', None) is not None:
        complete_generators(weights)
    mismatches = weight_mismatches(
        model.state_dict(), weights, optional=('discriminator.', ) +
        UNUSED_WEIGHTS)
    if mismatches:
        raise ValueError(
            f'checkpoint {checkpoint} does not fit config {config_name}: '
            f'{mismatches} (trained with another config?)')


def model_part(key: str) -> str:
    """The module a weight belongs to, three levels deep (not counting a
    wrapper's ``module``), e.g. ``generator.correspondence.scm``."""
    names = key.split('.')[:-1]
    depth = 3 + ('module' in names[:3])
    return '.'.join(names[:depth]) or key


def weight_mismatches(expected: Dict[str, torch.Tensor],
                      loaded: Dict[str, torch.Tensor],
                      optional: Tuple[str, ...] = ()) -> str:
    """What differs between a model's state dict and a checkpoint's, one
    clause per module part (weights missing from the checkpoint, weights
    the model does not have, weights of another shape with the first of
    them); '' if they fit. ``module.`` prefixes (DDP) and
    ``UNUSED_WEIGHTS`` in the checkpoint are ignored, and so are missing
    keys that start with one of ``optional``."""
    loaded = without_ddp_prefix(loaded)
    parts: Dict[str, Dict[str, list]] = {}

    def note(key: str, kind: str, detail: str = '') -> None:
        part = parts.setdefault(model_part(key), {})
        part.setdefault(kind, []).append(detail)

    for key, value in expected.items():
        if key not in loaded:
            if not key.startswith(optional):
                note(key, 'not in the checkpoint')
        elif tuple(getattr(loaded[key], 'shape', ())) != tuple(value.shape):
            note(
                key, 'of another shape',
                f'{key[len(model_part(key)) + 1:]}: '
                f'{tuple(loaded[key].shape)} in the checkpoint, '
                f'{tuple(value.shape)} in the model')
    for key in loaded:
        if key not in expected and not key.startswith(UNUSED_WEIGHTS):
            note(key, 'not in the model')
    clauses = []
    for part, kinds in parts.items():
        described = []
        for kind, details in kinds.items():
            count = f'{len(details)} weight{"s" * (len(details) > 1)}'
            first = f' (first: {details[0]})' if details[0] else ''
            described.append(f'{count} {kind}{first}')
        clauses.append(f'{part}: {", ".join(described)}')
    return '; '.join(clauses)


def without_ddp_prefix(
        weights: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """``weights`` with the ``module.`` prefix of DDP-wrapped models
    removed."""
    return {
        re.sub(r'^module\.', '', key): value
        for key, value in weights.items()
    }
