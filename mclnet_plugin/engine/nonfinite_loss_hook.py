"""Count the training steps skipped for non-finite losses or gradients, and
stop a run that keeps producing them."""
import math
import os.path as osp
from typing import Optional

import torch
from mmagic.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from .atomic_checkpoint_hook import PARTIAL, publish

PARTS = dict(gen='generator', disc='discriminator')
ACTIONS = ('skip', 'stop')


class NonFiniteLossError(RuntimeError):
    """A run stopped by ``NonFiniteLossHook``."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """What to do when a step was skipped because a loss or a gradient was
    NaN or infinite (``MCLNet.train_step`` never applies such a step: see
    ``guarded_update``).

    Each skipped step is logged with the iteration and the losses that were
    not finite, and counted (the count is in the message hub, so in
    checkpoints, and carries over a resume). With ``action='stop'``, or when
    ``max_consecutive`` steps in a row were skipped (the run has diverged),
    the hook saves the model as it is — every weight from a finite update —
    to ``<work_dir>/last_finite_iter_<N>.pth`` and stops the run with a
    ``NonFiniteLossError`` naming it. Skips of fp16's GradScaler (an
    overflow lowers the loss scale; normal in mixed precision) are counted
    and logged apart and never stop the run.

    Args:
        action: 'skip' (default) or 'stop'.
        max_consecutive: with 'skip', stop after this many skipped steps in
            a row; None never stops.
    """

    priority = 'NORMAL'

    def __init__(self, action: str = 'skip',
                 max_consecutive: Optional[int] = 20) -> None:
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteLossHook: action must be one of '
                             f'{ACTIONS}, got {action!r}')
        if max_consecutive is not None and max_consecutive < 1:
            raise ValueError('NonFiniteLossHook: max_consecutive must be '
                             f'>= 1 or None, got {max_consecutive}')
        self.action = action
        self.max_consecutive = max_consecutive
        self.consecutive = 0

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        outputs = outputs or {}
        hub = runner.message_hub
        for part, name in PARTS.items():
            if outputs.get(f'scaler_skipped_{part}'):
                count = hub.get_info('scaler_skips', 0) + 1
                hub.update_info('scaler_skips', count)
                runner.logger.info(
                    f'iteration {runner.iter + 1}: fp16 gradients overflowed;'
                    f' the GradScaler skipped the {name} step and lowered '
                    f'its scale ({count} such skips so far)')
        skipped = [
            name for part, name in PARTS.items()
            if outputs.get(f'skipped_{part}')
        ]
        if not skipped:
            self.consecutive = 0
            return
        self.consecutive += 1
        count = hub.get_info('nonfinite_skips', 0) + 1
        hub.update_info('nonfinite_skips', count)
        values = {
            key: float(torch.as_tensor(value).detach())
            for key, value in outputs.items() if key.startswith('loss')
        }
        losses = [
            f'{key}={value}' for key, value in values.items()
            if not math.isfinite(value)
        ]
        message = (f'iteration {runner.iter + 1}: non-finite '
                   f'{", ".join(losses) or "gradients"}; the '
                   f'{" and ".join(skipped)} step skipped ({count} skipped '
                   f'steps so far, {self.consecutive} in a row)')
        if self.action == 'stop' or (self.max_consecutive is not None and
                                     self.consecutive >= self.max_consecutive):
            path = self.save_last_finite(runner)
            raise NonFiniteLossError(
                f'{message}. Stopped; the last finite weights and optimizer '
                f'states are in {path}')
        runner.logger.warning(message)

    @staticmethod
    def save_last_finite(runner) -> str:
        filename = f'last_finite_iter_{runner.iter}.pth'
        partial = PARTIAL.format(filename)
        runner.save_checkpoint(runner.work_dir, partial)
        path = osp.join(runner.work_dir, filename)
        if is_main_process():
            publish(osp.join(runner.work_dir, partial), path)
        return path
