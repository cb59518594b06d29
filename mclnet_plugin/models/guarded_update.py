"""An optimizer step that a non-finite loss or gradient never reaches."""
import logging
from typing import Dict, List

import torch
import torch.nn as nn
from mmengine.dist import all_reduce
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

# how many parameter names a warning lists
SHOWN = 3


def on_any_rank(flag: bool, device: torch.device) -> bool:
    """``flag`` or-ed over the processes of a distributed run, so that all
    of them skip together (DDP's gradient all-reduce would otherwise wait
    for a process that skipped its backward pass)."""
    value = torch.tensor(float(flag), device=device)
    all_reduce(value, op='max')  # a no-op without a process group
    return bool(value.item())


def nonfinite_gradients(module: nn.Module) -> List[str]:
    """Names of the parameters of ``module`` whose gradient holds a NaN or
    an infinity (one reduction over all of them first: the usual case, all
    finite, costs one pass)."""
    named = [(name, param.grad) for name, param in module.named_parameters()
             if param.grad is not None]
    if not named:
        return []
    total = torch.nn.utils.get_total_norm([grad for _, grad in named])
    if torch.isfinite(total):
        return []
    return [name for name, grad in named if not torch.isfinite(grad).all()]


def guarded_update(optim_wrapper: OptimWrapper, loss: torch.Tensor,
                   log_vars: Dict[str, torch.Tensor], module: nn.Module,
                   part: str) -> Dict[str, torch.Tensor]:
    """``optim_wrapper.update_params(loss)``, unless a loss or a gradient is
    not finite: then the step is skipped (gradients dropped, weights and
    optimizer states untouched) with a warning naming the losses or
    parameters, and the returned log entries hold ``skipped_<part>``
    (``NonFiniteLossHook`` counts them and stops the run if configured).

    With MMEngine's ``AmpOptimWrapper`` (fp16 with a dynamic loss scale)
    overflowing gradients are the GradScaler's business: it skips the step
    and lowers the scale, reported as ``scaler_skipped_<part>``.

    Args:
        optim_wrapper: the wrapper of ``module``'s optimizer.
        loss: the total loss to back-propagate.
        log_vars: every loss term by name (``parse_losses``'s log vars).
        module: the module whose gradients are checked.
        part: 'gen' or 'disc', for the log entries and the warning.
    """
    skipped = {f'skipped_{part}': loss.new_ones(())}
    nonfinite = [
        name for name, value in log_vars.items()
        if not torch.isfinite(value).all()
    ]
    if on_any_rank(bool(nonfinite), loss.device):
        what = ', '.join(f'{name}={float(log_vars[name].detach())}'
                         for name in nonfinite) or 'a loss on another rank'
        print_log(f'non-finite {what}: the {part} step is skipped',
                  logger='current', level=logging.WARNING)
        optim_wrapper.zero_grad()
        return skipped
    optim_wrapper.backward(optim_wrapper.scale_loss(loss))
    if not optim_wrapper.should_update():
        return {}
    scaler = getattr(optim_wrapper, 'loss_scaler', None)
    if scaler is not None:
        scale = scaler.get_scale()
        optim_wrapper.step()
        optim_wrapper.zero_grad()
        if scaler.get_scale() < scale:
            return {f'scaler_skipped_{part}': loss.new_ones(())}
        return {}
    # after DDP's all-reduce every process holds the same gradients
    broken = nonfinite_gradients(module)
    if broken:
        print_log(
            f'non-finite gradients of {len(broken)} parameters (first: '
            f'{", ".join(broken[:SHOWN])}): the {part} step is skipped',
            logger='current',
            level=logging.WARNING)
        optim_wrapper.zero_grad()
        return skipped
    optim_wrapper.step()
    optim_wrapper.zero_grad()
    return {}
