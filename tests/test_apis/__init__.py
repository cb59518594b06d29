"""Tiny translation configs and checkpoints, shared with the tool tests."""
import copy

import torch
from mmagic.registry import MODELS
from mmengine.config import Config

from mclnet_plugin.models.mclnet import VGG_LOSSES
from tests.tiny_configs import tiny_demo_config, tiny_task_config

CONFIGS = dict(
    ade20k='mclnet_ade20k.py',
    deepfashion='mclnet_deepfashion.py',
    celebahq='mclnet_celebahq.py',
    celebahq_parts='mclnet/'
    'mclnet_spade_4xb8-52kiters_celebahq-parts-256x256.py')


def tiny_config(name: str, work_dir) -> Config:
    """``tiny_demo_config`` or ``tiny_task_config`` of a ``CONFIGS`` key
    (32×32 test images)."""
    if name == 'demo':
        return tiny_demo_config(work_dir)
    return tiny_task_config(CONFIGS[name], work_dir, work_dir)


def save_checkpoint(cfg: Config, path, **extra_weights) -> str:
    """A checkpoint of a randomly initialised model of ``cfg`` (built
    without VGG19, whose weights checkpoints never hold)."""
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.vgg = None
    model_cfg.losses.update(dict.fromkeys(VGG_LOSSES))
    state_dict = MODELS.build(model_cfg).state_dict()
    state_dict.update(extra_weights)
    torch.save(dict(state_dict=state_dict, meta={}), path)
    return str(path)
