"""A tiny version of configs/mclnet_demo.py (32×32, 3 iterations) for tests
that run the real Runner, hooks and tools."""
import copy
from pathlib import Path

from mmengine.config import Config

REPO = Path(__file__).resolve().parents[1]
SIZE = 32


def shrink_model(cfg: Config) -> None:
    """Narrow widths and a 32×32 image size for an MCL-Net config."""
    corr = cfg.model.generator.correspondence
    for encoder in (corr.cond_encoder, corr.image_encoder):
        encoder.update(
            channels=(8, 8, 8, 16, 16),
            out_channels=16,
            num_res_blocks=1,
            spade_hidden_channels=8)
    corr.matching.update(out_channels=16, num_blocks=1)
    corr.scm.update(num_positions=(SIZE // 4)**2, out_channels=16)
    cfg.model.generator.generator.update(
        base_channels=4,
        hidden_channels=8,
        num_upsamples=4,
        use_attention=False)
    cfg.model.discriminator.update(
        base_channels=4, num_layers=2, use_attention=False)
    cfg.model.vgg.layers = ('relu1_2', 'relu2_2', 'relu3_2', 'relu4_2')
    losses = cfg.model.losses
    losses.contextual.layer_weights = dict(relu3_2=2.0, relu4_2=4.0)
    if losses.get('perceptual') and 'relu5_2' in \
            losses.perceptual.layer_weights:
        losses.perceptual.layer_weights = dict(relu4_2=1.0)
    if losses.get('vgg_feature_matching'):
        losses.vgg_feature_matching.layer_weights = dict(
            relu1_2=1 / 16, relu2_2=1 / 8, relu3_2=1 / 4, relu4_2=1.0)


def tiny_task_config(name: str, data_root, work_dir) -> Config:
    """A task config (e.g. ``mclnet_ade20k.py``) shrunk to 32×32 on the
    fixture data in ``data_root``, tested with one batch of 2."""
    cfg = Config.fromfile(REPO / 'configs' / name)
    shrink_model(cfg)
    test = cfg.test_dataloader
    test.update(num_workers=0, persistent_workers=False, batch_size=2)
    test.dataset.data_root = str(data_root)
    for transform in test.dataset.pipeline:
        if transform.type == 'Resize':
            transform.scale = (SIZE, SIZE)
    cfg.work_dir = str(work_dir)
    return copy.deepcopy(cfg)


def tiny_demo_config(work_dir, max_iters=3) -> Config:
    cfg = Config.fromfile(REPO / 'configs/mclnet_demo.py')
    shrink_model(cfg)
    cfg.train_dataloader.dataset.pipeline[1].crop_size = (SIZE, SIZE)
    hook = cfg.custom_hooks[0]
    hook.dataloader.dataset.pipeline[2].scale = (SIZE, SIZE)
    cfg.test_dataloader.dataset.pipeline[2].scale = (SIZE, SIZE)
    hook.interval = 2
    for other in cfg.custom_hooks:
        if other.type == 'CorrespondenceWarmupHook':
            # the hook runs, briefly (its own tests set their counts)
            other.iters = 2
    cfg.train_cfg.max_iters = max_iters
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    return copy.deepcopy(cfg)
