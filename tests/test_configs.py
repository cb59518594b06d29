"""Every config loads, its model builds, and its data feeds the model."""
from pathlib import Path

import pytest
import torch
from mmagic.registry import MODELS
from mmengine.config import Config
from mmengine.runner import Runner

from tests.dataset_fixtures import make_ade20k, make_celebahq, make_deepfashion

CONFIGS = Path(__file__).resolve().parents[1] / 'configs'
LEAVES = sorted(CONFIGS.glob('*.py')) + sorted(CONFIGS.glob('mclnet/*.py'))


def test_every_leaf_config_is_covered():
    names = {p.name for p in LEAVES}
    assert {'mclnet_ade20k.py', 'mclnet_deepfashion.py',
            'mclnet_celebahq.py', 'mclnet_demo.py'} <= names
    assert len(LEAVES) == 9


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


@pytest.mark.parametrize('name, make_data', [
    ('mclnet_ade20k.py', make_ade20k),
    ('mclnet_deepfashion.py', make_deepfashion),
    ('mclnet_celebahq.py', make_celebahq),
    ('mclnet/mclnet_spade_4xb8-52kiters_celebahq-parts-256x256.py',
     make_celebahq),
])
def test_task_configs_feed_their_model_the_right_condition(
        tmp_path, name, make_data):
    make_data(str(tmp_path))
    cfg = Config.fromfile(CONFIGS / name)
    loader = cfg.train_dataloader
    loader.update(num_workers=0, persistent_workers=False, batch_size=2)
    loader.dataset.data_root = str(tmp_path)
    batch = next(iter(Runner.build_dataloader(loader, seed=0)))
    data = MODELS.build(cfg.model.data_preprocessor)(batch, training=True)
    cond, exemplar = data['inputs']['cond'], data['inputs']['exemplar']
    label_nc = cfg.model.generator.correspondence.cond_encoder.in_channels
    assert cond.shape == (2, label_nc, 256, 256)
    assert cond.dtype == torch.float32 and 0 <= cond.min() <= cond.max() <= 1
    assert exemplar.shape == (2, 3, 256, 256)
    assert -1 <= exemplar.min() < exemplar.max() <= 1


def test_corr128_variant_matches_at_half_the_image_size():
    cfg = Config.fromfile(
        CONFIGS / 'mclnet' /
        'mclnet_spade-corr128_4xb8-126kiters_ade20k-256x256.py')
    corr = cfg.model.generator.correspondence
    assert corr.scm.num_positions == 128 * 128
    encoder = MODELS.build(
        dict(corr.image_encoder, channels=(4, 4, 4, 4, 4), out_channels=4,
             spade_hidden_channels=4))
    assert encoder(torch.zeros(1, 3, 32, 32)).shape == (1, 4, 16, 16)


def test_the_readmes_checkpointing_options_reach_every_residual_block():
    readme = (CONFIGS / 'mclnet' / 'README.md').read_text()
    line = next(line for line in readme.splitlines()
                if 'with_cp=True' in line and '--cfg-options' in line)
    options = line.split('--cfg-options')[1].split('#')[0].split()
    cfg = Config.fromfile(CONFIGS / 'mclnet_ade20k.py')
    cfg.merge_from_dict(
        {key: value == 'True'
         for key, value in (option.split('=') for option in options)})
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    blocks = [
        module for module in model.modules()
        if type(module).__name__ in ('SPADEResBlock', 'MatchingResBlock',
                                     '_ResidualBlock')
    ]
    # 3 + 3 encoder blocks, 4 matching blocks, 7 generator blocks
    assert len(blocks) == 17
    assert all(block.with_cp for block in blocks)
