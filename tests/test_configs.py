"""Every config loads, and its model builds."""
from pathlib import Path

import pytest
import torch
from mmagic.registry import MODELS
from mmengine.config import Config

CONFIGS = Path(__file__).resolve().parents[1] / 'configs'
LEAVES = sorted(CONFIGS.glob('*.py')) + sorted(CONFIGS.glob('mclnet/*.py'))


def test_every_leaf_config_is_covered():
    names = {p.name for p in LEAVES}
    assert {'mclnet_ade20k.py', 'mclnet_deepfashion.py',
            'mclnet_celebahq.py', 'mclnet_demo.py'} <= names
    assert len(LEAVES) == 7


@pytest.mark.filterwarnings('ignore:for .*copying from a non-meta parameter')
@pytest.mark.parametrize('path', LEAVES, ids=lambda p: p.stem)
def test_config_loads_and_builds_its_model(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'] == ['mclnet_plugin']
    label_nc = cfg.model.generator.correspondence.cond_encoder.in_channels
    with torch.device('meta'):  # structure only: no memory, no init cost
        model = MODELS.build(cfg.model)

    def first_conv(module):
        return next(m for m in module.modules()
                    if isinstance(m, torch.nn.Conv2d))

    encoder = model.generator.correspondence.cond_encoder
    assert first_conv(encoder).in_channels == label_nc
    assert first_conv(model.discriminator).in_channels == label_nc + 3
    betas = [
        wrapper.optimizer.betas for key, wrapper in cfg.optim_wrapper.items()
        if isinstance(wrapper, dict)
    ]
    assert all(isinstance(b, float) for pair in betas for b in pair)


def test_paper_settings_in_the_full_configs():
    cfg = Config.fromfile(CONFIGS / 'mclnet_ade20k.py')
    assert cfg.optim_wrapper.generator.optimizer.lr == 1e-4
    assert cfg.optim_wrapper.discriminator.optimizer.lr == 4e-4
    assert cfg.optim_wrapper.generator.optimizer.betas == (0.0, 0.999)
    assert cfg.model.losses.mcl.margin == 0.4
    corr = cfg.model.generator.correspondence
    assert corr.scm.num_positions == 4096 and corr.scm.out_channels == 256
    assert corr.cond_encoder.in_channels == 151
    assert Config.fromfile(
        CONFIGS / 'mclnet_deepfashion.py').model.losses.pseudo_pair[
            'loss_weight'] == 100.0
