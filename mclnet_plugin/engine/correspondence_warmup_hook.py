"""Trains MCL-Net's correspondence network alone before the joint
training (a demo setting, not the paper's schedule)."""
import copy
import time
from typing import Iterable, Iterator, Optional

import torch
from mmagic.registry import HOOKS
from mmengine.dist import all_reduce, all_reduce_params, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import OPTIMIZERS

from ..utils import separate_random_streams


@HOOKS.register_module()
class CorrespondenceWarmupHook(Hook):
    """Before the first iteration, ``iters`` steps that train only the
    correspondence network (E_X, E_Z, matching, SCM) on the training data
    with its own losses (``MCLNet.correspondence_losses``: MCL, Eq. 3, 4,
    5), with its own optimiser; then the joint training starts as usual.

    Neither the paper nor CoCosNet warm up; the embedded demo does because
    it trains for minutes, not days: 500 correspondence-only steps with
    Adam β (0.9, 0.999) (the warp's softmax trains poorly with the GAN's
    β₁ = 0) take the share of the oracle's gain that the held-out warp
    reaches from 0.35 to 0.45–0.62 for about 100 s
    (docs/correspondence_quality.md, "What limits the demo's share").

    The warm-up does not count as training iterations (the runner's
    ``iter`` stays 0, schedules and checkpoints are unchanged) and is
    skipped when a run resumes (its weights are in the checkpoint). It
    draws from its own dataloader, built from ``train_dataloader``, under
    the run's seed with the random generators restored afterwards: the
    joint training sees the same batches and random draws with or without
    it, so a resumed run repeats an uninterrupted one. Under
    distributed training the gradients are averaged over the ranks, so
    every rank keeps the same weights. Runs after ``TranslationGridHook``
    (priority), whose ``before_training`` grid stays the untrained network.

    Args:
        iters: correspondence-only steps (0: none).
        optimizer: config of the optimiser over the correspondence
            network's parameters.
        log_interval: steps between log lines.
    """

    priority = 'VERY_LOW'

    def __init__(self,
                 iters: int = 500,
                 optimizer: Optional[dict] = None,
                 log_interval: int = 50) -> None:
        if iters < 0:
            raise ValueError(
                f'CorrespondenceWarmupHook: iters must be >= 0, got {iters}')
        self.iters = iters
        self.optimizer_cfg = optimizer or dict(
            type='Adam', lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        self.log_interval = log_interval

    def before_train(self, runner) -> None:
        if not self.iters:
            return
        if runner.iter > 0:
            runner.logger.info(
                f'[correspondence warm-up] skipped: the run resumes at '
                f'iteration {runner.iter}')
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        generator = model.generator.module if is_model_wrapper(
            model.generator) else model.generator
        params = [
            p for p in generator.correspondence.parameters()
            if p.requires_grad
        ]
        # its own data stream and random draws: the joint training sees the
        # same batches and draws with or without the warm-up, and a resumed
        # run (which skips it) the same as an uninterrupted one
        with separate_random_streams(runner.seed):
            loader = runner.build_dataloader(
                copy.deepcopy(runner.cfg.train_dataloader), seed=runner.seed)
            self._warm_up(runner, model, params, _endless(loader))

    def _warm_up(self, runner, model, params: list,
                 batches: Iterator) -> None:
        optimizer = OPTIMIZERS.build(
            dict(self.optimizer_cfg, params=params))
        distributed = get_world_size() > 1
        start = time.time()
        model.train()
        for step in range(1, self.iters + 1):
            losses = model.correspondence_losses(next(batches))
            loss, log_vars = model.parse_losses(losses)
            optimizer.zero_grad()
            # every rank skips, or none (the gradient all-reduce)
            finite = torch.isfinite(loss.detach()).float()
            if distributed:
                all_reduce(finite, op='min')
            if not finite:
                runner.logger.warning(
                    f'[correspondence warm-up] step {step}: loss not finite '
                    f'({loss.item()} here), step skipped')
                continue
            loss.backward()
            if distributed:
                all_reduce_params(
                    [p.grad for p in params if p.grad is not None],
                    op='mean')
            optimizer.step()
            if step % self.log_interval == 0 or step == self.iters:
                terms = ', '.join(f'{name}: {value.item():.4f}'
                                  for name, value in log_vars.items())
                runner.logger.info(
                    f'[correspondence warm-up] step {step}/{self.iters} '
                    f'({time.time() - start:.0f} s): {terms}')
        optimizer.zero_grad(set_to_none=True)


def _endless(loader: Iterable) -> Iterator:
    """The loader's batches, restarted at its end (a finite sampler)."""
    while True:
        yield from loader
