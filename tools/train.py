"""Train MCL-Net (or any MMagic model) with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CHECKPOINT]]
        [--amp [--amp-dtype float16|bfloat16]] [--auto-scale-lr]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi]

``--amp`` trains in mixed precision: on a GPU with MMEngine's
``AmpOptimWrapper`` (fp16 with a dynamic loss scale unless ``--amp-dtype
bfloat16``), without one with ``AutocastOptimWrapper`` (bf16 autocast on the
CPU; no scaler needed).

Without a GPU, glibc is told to keep freed memory for reuse
(``mclnet_plugin.utils.keep_freed_memory``: a 256×256 step 1.8× faster on
our CPUs, docs/benchmarks.md); ``MCLNET_SYSTEM_MALLOC=1`` leaves malloc as
it is.

``--resume`` continues from the checkpoint the work dir's
``last_checkpoint`` names (or from scratch if there is none), ``--resume
CHECKPOINT`` from that file: weights, optimizer states, EMA, iteration and
the data loader's position (docs/reliability.md). A checkpoint that is
missing, truncated or corrupt is an error naming it.

``--auto-scale-lr`` scales every optimizer's learning rate by the batch
actually used (GPUs × batch per GPU) over the config's
``auto_scale_lr.base_batch_size``, the batch its learning rates are for
(MMEngine's linear scaling rule).

Multi-GPU / multi-node: tools/dist_train.sh CONFIG GPUS (on a machine
without GPUs it runs GPUS processes with the gloo backend).
"""
import argparse
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner, find_latest_checkpoint

import mclnet_plugin  # noqa: F401  (registers the plugin, applies compat)
from mclnet_plugin.utils import (check_checkpoint_file, end_distributed,
                                 keep_freed_memory, load_runner_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        metavar='CHECKPOINT',
        help='resume from CHECKPOINT, or without one from the latest '
        'checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='mixed-precision training')
    parser.add_argument(
        '--amp-dtype',
        choices=['float16', 'bfloat16'],
        help='with --amp: the autocast dtype (default: float16 on a GPU, '
        'bfloat16 on the CPU)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rates by (GPUs × batch per GPU) / the '
        "config's auto_scale_lr.base_batch_size")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=10')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def use_amp(cfg: Config, dtype: Optional[str] = None,
            on_gpu: Optional[bool] = None) -> None:
    """Turn every optimizer wrapper of the config into a mixed-precision
    one: MMEngine's ``AmpOptimWrapper`` on a GPU (fp16 and a dynamic loss
    scale by default), the plugin's ``AutocastOptimWrapper`` (bf16 by
    default) on the CPU, where ``AmpOptimWrapper`` refuses to run."""
    if on_gpu is None:
        on_gpu = torch.cuda.is_available()
    optim_wrapper = cfg.optim_wrapper
    wrappers = [optim_wrapper] if 'optimizer' in optim_wrapper else [
        value for value in optim_wrapper.values()
        if isinstance(value, dict) and 'optimizer' in value
    ]
    for wrapper in wrappers:
        if on_gpu:
            wrapper['type'] = 'AmpOptimWrapper'
            wrapper.setdefault('loss_scale', 'dynamic')
            if dtype is not None:
                wrapper['dtype'] = dtype
        else:
            wrapper['type'] = 'AutocastOptimWrapper'
            wrapper['dtype'] = dtype or 'bfloat16'


def enable_auto_scale_lr(cfg: Config, config: str) -> None:
    """Turn on MMEngine's ``auto_scale_lr``, whose ``base_batch_size`` the
    config must give."""
    if 'base_batch_size' not in (cfg.get('auto_scale_lr') or {}):
        raise ValueError(
            f'--auto-scale-lr: {config} does not say which batch size its '
            'learning rates are for; add auto_scale_lr = dict(enable=False, '
            'base_batch_size=<GPUs × batch per GPU>) to it, or pass '
            '--cfg-options auto_scale_lr.base_batch_size=<N>')
    cfg.auto_scale_lr.enable = True


def resume_from(cfg: Config, checkpoint: str) -> None:
    """Set the config to resume from ``checkpoint`` ('auto': the one the
    work dir's ``last_checkpoint`` names, if any), after checking that the
    file is complete."""
    cfg.resume = True
    if checkpoint != 'auto':
        check_checkpoint_file(checkpoint, 'checkpoint to resume from')
        cfg.load_from = checkpoint
        return
    cfg.load_from = None
    latest = find_latest_checkpoint(cfg.work_dir)
    if latest is not None:
        check_checkpoint_file(
            latest, f'{osp.join(cfg.work_dir, "last_checkpoint")} names '
            'the checkpoint to resume from,')


def main(argv=None) -> Runner:
    args = parse_args(argv)
    if not torch.cuda.is_available() and not os.environ.get(
            'MCLNET_SYSTEM_MALLOC'):
        keep_freed_memory()
    cfg = load_runner_config(args.config, args.cfg_options, args.launcher,
                             args.work_dir)
    if args.amp_dtype and not args.amp:
        raise ValueError('--amp-dtype needs --amp')
    if args.amp:
        use_amp(cfg, args.amp_dtype)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg, args.config)
    if args.resume:
        resume_from(cfg, args.resume)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    main()
    end_distributed()
