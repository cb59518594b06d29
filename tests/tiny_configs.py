"""A tiny version of configs/mclnet_demo.py (32×32, 3 iterations) for tests
that run the real Runner, hooks and tools."""
import copy
from pathlib import Path

from mmengine.config import Config

REPO = Path(__file__).resolve().parents[1]
SIZE = 32


def tiny_demo_config(work_dir, max_iters=3) -> Config:
    cfg = Config.fromfile(REPO / 'configs/mclnet_demo.py')
    corr = cfg.model.generator.correspondence
    for encoder in (corr.cond_encoder, corr.image_encoder):
        encoder.update(channels=(8, 8, 8, 16, 16), out_channels=16)
    corr.scm.update(num_positions=(SIZE // 4)**2, out_channels=16)
    cfg.model.generator.generator.update(
        base_channels=4, hidden_channels=8, num_upsamples=4)
    cfg.model.discriminator.update(base_channels=4, num_layers=2)
    cfg.model.vgg.layers = ('relu1_2', 'relu2_2', 'relu3_2', 'relu4_2')
    cfg.train_dataloader.dataset.pipeline[1].crop_size = (SIZE, SIZE)
    hook = cfg.custom_hooks[0]
    hook.dataloader.dataset.pipeline[2].scale = (SIZE, SIZE)
    hook.interval = 2
    cfg.train_cfg.max_iters = max_iters
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    return copy.deepcopy(cfg)
