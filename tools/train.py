"""Train MCL-Net (or any MMagic model) with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi]

Multi-GPU / multi-node: tools/dist_train.sh CONFIG GPUS (on a machine
without GPUs it runs GPUS processes with the gloo backend).
"""
import argparse
import os

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import mclnet_plugin  # noqa: F401  (registers the plugin, applies compat)
from mclnet_plugin.utils import load_runner_config


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='resume from the latest checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='mixed-precision training')
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
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def use_amp(cfg: Config) -> None:
    """Turn every optimizer wrapper of the config into an AmpOptimWrapper."""
    optim_wrapper = cfg.optim_wrapper
    wrappers = [optim_wrapper] if 'optimizer' in optim_wrapper else [
        value for value in optim_wrapper.values()
        if isinstance(value, dict) and 'optimizer' in value
    ]
    for wrapper in wrappers:
        wrapper['type'] = 'AmpOptimWrapper'
        wrapper.setdefault('loss_scale', 'dynamic')


def main():
    args = parse_args()
    cfg = load_runner_config(args.config, args.cfg_options, args.launcher,
                             args.work_dir)
    if args.amp:
        use_amp(cfg)
    if args.resume:
        cfg.resume = True
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
