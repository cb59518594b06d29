"""A hook for the distributed tests (loaded by their configs through
``custom_imports``): which samples and pseudo-pair affines each rank trained
on, and the weights training started from."""
import json
import os.path as osp

import torch
from mmagic.registry import HOOKS
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.runner.checkpoint import get_state_dict, weights_to_cpu


@HOOKS.register_module()
class DistProbeHook(Hook):

    def before_train(self, runner) -> None:
        if get_rank() == 0:
            # as checkpoints hold it: without the DDP wrappers' prefixes
            torch.save(
                weights_to_cpu(get_state_dict(runner.model)),
                osp.join(runner.work_dir, 'initial.pth'))

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        samples = [
            dict(
                photo=osp.basename(sample.metainfo['gt_path']),
                affine=sample.metainfo['exemplar_affine'].tolist())
            for sample in data_batch['data_samples']
        ]
        path = osp.join(runner.work_dir, f'batches_rank{get_rank()}.jsonl')
        with open(path, 'a') as f:
            f.write(json.dumps(dict(iter=runner.iter, samples=samples)) + '\n')


@HOOKS.register_module()
class RankWeightsProbeHook(Hook):
    """Each rank's weights as training starts, after every other hook's
    ``before_train`` (e.g. the correspondence warm-up)."""

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        torch.save(
            weights_to_cpu(get_state_dict(runner.model)),
            osp.join(runner.work_dir, f'start_rank{get_rank()}.pth'))
