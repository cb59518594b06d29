"""Test (evaluate) a checkpoint with MMEngine's Runner.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE.json]
        [--save-outputs [DIR]] [--grid] [--diversity K --lpips-backbone FILE]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi]

Runs the config's test dataloader through the model and its
``test_evaluator`` (the paper's metrics: docs/evaluation.md), prints a table
of the results and, with ``--out``, writes them as JSON. ``--save-outputs``
writes each output and warped exemplar as PNG (and with ``--grid`` a row
condition | exemplar | warped | output | ground truth). What the Runner
logs at start (environment, config, hook order) goes to the log file in the
work dir only, not to the console.

``--diversity K`` runs the LPIPS-diversity protocol instead: each test query
is translated with its first K retrieved exemplars and the mean pairwise
LPIPS of those outputs is reported (``LPIPSDiversity``; its backbone file is
``--lpips-backbone``).
"""
import argparse
import json
import logging
import math
import numbers
import os
import os.path as osp

import torch
from mmengine.config import DictAction
from mmengine.dist import is_main_process
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

import mclnet_plugin  # noqa: F401  (registers the plugin, applies compat)
from mclnet_plugin.apis.inference_model import check_weights_fit
from mclnet_plugin.utils import (check_checkpoint_file, end_distributed,
                                 load_runner_config)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where to save the results')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument(
        '--save-outputs',
        nargs='?',
        const='translations',
        help='save outputs and warped exemplars as PNG in this folder '
        '(default: <work_dir>/translations)')
    parser.add_argument(
        '--grid',
        action='store_true',
        help='with --save-outputs, also save a row of pictures per sample')
    parser.add_argument(
        '--diversity',
        type=int,
        metavar='K',
        help='LPIPS diversity over K exemplars per query instead of the '
        'test evaluator')
    parser.add_argument(
        '--lpips-backbone',
        help='torchvision AlexNet file for --diversity '
        '(alexnet-owt-7be5be79.pth)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


class QuietRunner(Runner):
    """MMEngine's Runner that leaves what it logs at start (environment,
    the whole config, hook order: some 750 lines) out of the console, where
    the metrics table is what a test run shows; the log file in the work
    dir keeps it."""

    def build_logger(self, *args, **kwargs) -> MMLogger:
        logger = super().build_logger(*args, **kwargs)
        for handler in logger.handlers:
            if not isinstance(handler, logging.FileHandler):
                handler.addFilter(is_not_a_startup_dump)
        return logger


# how the messages of Runner._log_env and Runner.__init__ begin
STARTUP_DUMPS = ('\n' + '-' * 60 + '\nSystem environment:', 'Config:\n',
                 'Hooks will be executed in the following order:')


def is_not_a_startup_dump(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(STARTUP_DUMPS)


def metrics_table(metrics: dict) -> str:
    """The metrics as an aligned two-column text table."""
    rows = [(name, format_value(value)) for name, value in metrics.items()]
    width = max([len('metric')] + [len(name) for name, _ in rows])
    lines = [f'{"metric":<{width}}  value', f'{"-" * width}  {"-" * 10}']
    lines += [f'{name:<{width}}  {value}' for name, value in rows]
    return '\n'.join(lines)


def format_value(value) -> str:
    if isinstance(value, float):
        return 'inf' if math.isinf(value) else f'{value:.4f}'
    return str(value)


def use_diversity_protocol(cfg, exemplars_per_query: int,
                           backbone_path) -> None:
    """Test set: each query with its first K exemplars; metric: LPIPS
    diversity (grouped by query)."""
    if exemplars_per_query < 2:
        raise ValueError('--diversity needs at least 2 exemplars per query')
    cfg.test_dataloader.dataset.exemplars_per_query = exemplars_per_query
    cfg.test_evaluator = dict(
        type='mmengine.Evaluator',
        metrics=[
            dict(
                type='LPIPSDiversity',
                net='alex',
                backbone_path=backbone_path)
        ])


def main(argv=None) -> dict:
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} not found')
    check_checkpoint_file(args.checkpoint)
    cfg = load_runner_config(args.config, args.cfg_options, args.launcher,
                             args.work_dir)
    if cfg.get('test_dataloader') is None or cfg.get(
            'test_evaluator') is None:
        raise ValueError(f'{args.config} has no test_dataloader/'
                         'test_evaluator to evaluate with')
    cfg.load_from = args.checkpoint
    if args.diversity is not None:
        use_diversity_protocol(cfg, args.diversity, args.lpips_backbone)
    if args.save_outputs is not None:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(
                type='SaveTranslationsHook',
                out_dir=args.save_outputs,
                grid=args.grid)
        ]
    runner = QuietRunner.from_cfg(cfg)
    # MMEngine's loading only warns about weights that do not fit
    check_weights_fit(
        runner.model.module
        if is_model_wrapper(runner.model) else runner.model,
        torch.load(args.checkpoint, map_location='cpu', weights_only=False),
        args.checkpoint, args.config)
    metrics = {
        name: float(value) if isinstance(value, numbers.Real) else value
        for name, value in runner.test().items()
    }
    if is_main_process():
        print(metrics_table(metrics))
        if args.out:
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
            with open(args.out, 'w') as file:
                json.dump(
                    dict(config=args.config, checkpoint=args.checkpoint,
                         metrics=metrics), file, indent=2)
            print(f'wrote {args.out}')
    return metrics


if __name__ == '__main__':
    main()
    end_distributed()
