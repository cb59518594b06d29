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

from mclnet_plugin.models.mclnet import VGG_LOSSES, complete_generators
from .inference_inputs import check_files

# Checkpoint entries of modules that translation does not build: VGG19
# (its weights come from their own file) and the losses using it.
UNUSED_WEIGHTS = ('vgg.', 'losses.')


def build_inference_model(cfg: Config, checkpoint: str, device: str,
                          config_name: str) -> torch.nn.Module:
    """``cfg.model`` without VGG19 (translation does not need its weights
    file), with the weights of ``checkpoint``, in eval mode on ``device``.

    MMEngine's non-strict loading only warns about weights that do not fit;
    here they are an error naming the first of them. The discriminator's
    weights may be absent (they do not translate), and so may one of the
    online and the EMA generator (``complete_generators``: the one there
    translates).
    """
    check_files([('checkpoint', checkpoint)])
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
    weights = without_ddp_prefix(loaded.get('state_dict', loaded))
    if model.generator_ema is not None:
        complete_generators(weights)  # as loading did
    # the discriminator does not translate (tools/publish_model.py drops it)
    mismatches = weight_mismatches(
        model.state_dict(), weights, optional=('discriminator.', ))
    if mismatches:
        raise ValueError(
            f'checkpoint {checkpoint} does not fit config {config_name}: '
            f'{mismatches} (trained with another config?)')
    return model.to(device).eval()


def weight_mismatches(expected: Dict[str, torch.Tensor],
                      loaded: Dict[str, torch.Tensor],
                      shown: int = 3,
                      optional: Tuple[str, ...] = ()) -> str:
    """What differs between a model's state dict and a checkpoint's (keys
    missing, unexpected, or of another shape), the first ``shown`` of each;
    '' if they fit. ``module.`` prefixes (DDP) and ``UNUSED_WEIGHTS`` in the
    checkpoint are ignored, and so are missing keys that start with one of
    ``optional``."""
    loaded = without_ddp_prefix(loaded)
    missing = [
        key for key in expected
        if key not in loaded and not key.startswith(optional)
    ]
    unexpected = [
        key for key in loaded
        if key not in expected and not key.startswith(UNUSED_WEIGHTS)
    ]
    reshaped = [
        f'{key} {tuple(loaded[key].shape)} in the checkpoint, '
        f'{tuple(value.shape)} in the model'
        for key, value in expected.items() if key in loaded
        and tuple(getattr(loaded[key], 'shape', ())) != tuple(value.shape)
    ]
    return '; '.join(
        f'{len(keys)} weights {what} (first: {", ".join(keys[:shown])})'
        for what, keys in (('missing', missing), ('unexpected', unexpected),
                           ('of another shape', reshaped)) if keys)


def without_ddp_prefix(
        weights: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """``weights`` with the ``module.`` prefix of DDP-wrapped models
    removed."""
    return {
        re.sub(r'^module\.', '', key): value
        for key, value in weights.items()
    }
