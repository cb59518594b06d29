"""The configs of docs/mcl_loss_in_mmagic.md train with MMagic's own models.

Each config is loaded as the doc gives it, shrunk (8-channel networks, two
tiny synthetic facades-style images) and trained by a real Runner.
"""
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mclnet_plugin.models import Pix2PixWithAuxLoss

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOC = osp.join(ROOT, 'docs', 'mcl_loss_in_mmagic.md')
PIX2PIX = 'configs/mcl_in_mmagic/pix2pix-mcl_vanilla-unet-bn_1xb1-80kiters_facades.py'  # noqa: E501
CYCLEGAN = 'configs/mcl_in_mmagic/cyclegan-mcl_lsgan-resnet-in_1xb1-80kiters_facades.py'  # noqa: E501


def test_doc_shows_exactly_these_configs():
    with open(DOC) as f:
        doc = f.read()
    shown = re.findall(r'`(configs/mcl_in_mmagic/[\w.-]+\.py)`', doc)
    assert shown == [PIX2PIX, CYCLEGAN]
    blocks = re.findall(r'```python\n(.*?)```', doc, flags=re.S)[:2]
    for path, block in zip(shown, blocks):
        assert Config.fromstring(block, '.py').model == Config.fromfile(
            osp.join(ROOT, path)).model


def write_images(data_root, paired: bool) -> None:
    """Two 32x32 images per domain: AB-concatenated pairs in ``train/``
    (PairedImageDataset) or ``trainA/``, ``trainB/`` (UnpairedImageDataset).
    """
    rng = np.random.default_rng(0)
    for index in range(2):
        a = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        b = cv2.GaussianBlur(a, (5, 5), 0)
        if paired:
            path = osp.join(data_root, 'train', f'{index}.png')
            os.makedirs(osp.dirname(path), exist_ok=True)
            cv2.imwrite(path, np.concatenate([a, b], axis=1))
        else:
            for domain, img in (('A', a), ('B', b)):
                path = osp.join(data_root, f'train{domain}', f'{index}.png')
                os.makedirs(osp.dirname(path), exist_ok=True)
                cv2.imwrite(path, img)


def shrink_pipeline(transforms) -> None:
    """Resize to 36 and crop 32 where MMagic's pipelines use 286 and 256."""
    for transform in transforms:
        if transform.get('scale') == (286, 286):
            transform.scale = (36, 36)
        if transform.get('crop_size') == (256, 256):
            transform.crop_size = (32, 32)
        shrink_pipeline(transform.get('transforms', []))


def tiny_config(path, tmp_path, loss_weight=1.0) -> Config:
    """The doc's config with 8-channel networks on 32x32 crops, 2
    iterations, no evaluation."""
    cfg = Config.fromfile(osp.join(ROOT, path))
    paired = 'Pix2Pix' in cfg.model.type
    data_root = str(tmp_path / 'data')
    write_images(data_root, paired)
    cfg.work_dir = str(tmp_path / 'work_dir')
    cfg.model.generator.base_channels = 8
    cfg.model.discriminator.base_channels = 8
    losses = cfg.model.loss_config.gen_auxiliary_loss
    for loss in losses if isinstance(losses, list) else [losses]:
        loss.layer_channels = [c // 8 for c in loss.layer_channels]
        loss.head_channels = 16
        loss.loss_weight = loss_weight
    if paired:
        cfg.model.generator.num_down = 5  # 32x32 -> 1x1
    else:
        cfg.model.generator.num_blocks = 3
    shrink_pipeline(cfg.train_dataloader.dataset.pipeline)
    cfg.train_dataloader.update(
        batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_cfg.max_iters = 2
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.custom_hooks = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=0)
    return cfg


def head_weights(model):
    return [
        head[0].weight.detach().clone()
        for loss in model.gen_auxiliary_losses for head in loss.heads
    ]


@pytest.mark.parametrize('path', [PIX2PIX, CYCLEGAN])
def test_config_trains_the_loss_and_its_heads(path, tmp_path):
    runner = Runner.from_cfg(tiny_config(path, tmp_path))
    model = runner.model
    before = head_weights(model)
    runner.train()

    assert runner.message_hub.get_scalar('train/loss_mcl').current() > 0
    gen_params = {
        id(p)
        for group in runner.optim_wrapper['generators'].param_groups
        for p in group['params']
    }
    heads = [loss.heads for loss in model.gen_auxiliary_losses]
    assert all(id(p) in gen_params for h in heads for p in h.parameters())
    after = head_weights(model)
    assert all(not torch.equal(b, a) for b, a in zip(before, after))


def generator_grad(model, batch, seed):
    """Gradient of the generator loss on ``batch`` w.r.t. the generator."""
    torch.manual_seed(seed)
    data = model.data_preprocessor(batch, True)['inputs']
    fake = model(data['img_mask'], target_domain='photo')['target']
    outputs = dict(
        real_mask=data['img_mask'], fake_photo=fake,
        real_photo=data['img_photo'])
    model.generators.zero_grad()
    loss, log_vars = model._get_gen_loss(outputs)
    loss.backward()
    grad = torch.cat([
        p.grad.flatten() for p in model.generators['photo'].parameters()
        if p.grad is not None
    ])
    return grad, log_vars


def test_loss_weight_changes_the_generator_gradient(tmp_path):
    grads = {}
    for weight in (0.0, 1.0):
        cfg = tiny_config(PIX2PIX, tmp_path, loss_weight=weight)
        runner = Runner.from_cfg(cfg)
        model = runner.model
        assert isinstance(model, Pix2PixWithAuxLoss)
        torch.manual_seed(0)
        model.init_weights()
        batch = next(iter(runner.train_dataloader))
        grads[weight], log_vars = generator_grad(model, batch, seed=1)
        assert 'loss_mcl' in log_vars
    assert grads[0.0].shape == grads[1.0].shape
    assert not torch.allclose(grads[0.0], grads[1.0])


def test_unknown_layer_is_named(tmp_path):
    cfg = tiny_config(PIX2PIX, tmp_path)
    cfg.model.loss_config.gen_auxiliary_loss.layers[0] = 'model.model.O'
    runner = Runner.from_cfg(cfg)
    with pytest.raises(KeyError,
                       match=r"'model\.model\.O'.*'model\.model\.0'"):
        runner.train()


def test_missing_outputs_key_is_named(tmp_path):
    cfg = tiny_config(PIX2PIX, tmp_path)
    cfg.model.loss_config.gen_auxiliary_loss.data_info.source_img = 'real_A'
    runner = Runner.from_cfg(cfg)
    with pytest.raises(KeyError, match=r"no \['real_A'\].*real_mask"):
        runner.train()


@pytest.mark.parametrize('path,model,variant', [
    (PIX2PIX, 'Pix2Pix', 'Pix2PixWithAuxLoss'),
    (CYCLEGAN, 'CycleGAN', 'CycleGANWithAuxLoss'),
])
def test_plain_mmagic_model_refuses_auxiliary_loss(path, model, variant,
                                                   tmp_path):
    cfg = tiny_config(path, tmp_path)
    cfg.model.type = model
    with pytest.raises(ValueError, match=f'{model} never .*{variant}'):
        Runner.from_cfg(cfg)
