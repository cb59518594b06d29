"""Activation checkpointing (OpenMMLab's ``with_cp``) for blocks with
spectral norm.

``torch.utils.checkpoint`` runs a block's forward again in backward. A
spectral-normed conv in training mode does a power iteration in place on its
singular-vector buffers on every forward, so a plain recomputation would
advance them a second time and rebuild the weight from them: the gradients
would belong to a slightly different weight than the output, and every step
would iterate twice. (Evaluation mode does not help: E_Z runs on the exemplar
and on the ground truth, so by backward the buffers hold the second pass's
vectors.) Here each recomputation restores the vectors the block's own forward
started from, replays the same iteration, and puts back what the buffers held
before, so the weight, the gradients and the buffers are exactly those of the
step without checkpointing (tests/test_models/test_checkpointing.py).
"""
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List

import torch
import torch.nn as nn
from torch.nn.utils.spectral_norm import SpectralNorm
from torch.utils.checkpoint import checkpoint


def checkpointed(module: nn.Module, forward: Callable[..., torch.Tensor],
                 *args: torch.Tensor) -> torch.Tensor:
    """``forward(*args)``, keeping only ``args`` for backward and running it
    again there, when gradients are being recorded; ``module`` holds the
    spectral norms that ``forward`` runs."""
    if not torch.is_grad_enabled():
        return forward(*args)
    buffers = _power_iteration_buffers(module)
    started_from: List[torch.Tensor] = []

    @contextmanager
    def first_forward() -> Iterator[None]:
        started_from[:] = [buffer.clone() for buffer in buffers]
        yield

    @contextmanager
    def recomputation() -> Iterator[None]:
        current = [buffer.clone() for buffer in buffers]
        for buffer, start in zip(buffers, started_from):
            buffer.copy_(start)
        try:
            yield
        finally:
            for buffer, value in zip(buffers, current):
                buffer.copy_(value)

    return checkpoint(
        forward,
        *args,
        use_reentrant=False,
        context_fn=lambda: (first_forward(), recomputation()))


def _power_iteration_buffers(module: nn.Module) -> List[torch.Tensor]:
    """The u and v buffers of every torch spectral norm in ``module``."""
    buffers: Dict[int, torch.Tensor] = {}
    for child in module.modules():
        for hook in child._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm):
                for suffix in ('_u', '_v'):
                    buffer = getattr(child, hook.name + suffix)
                    buffers[id(buffer)] = buffer
    return list(buffers.values())


def reject_generic_checkpointing(model: nn.Module) -> None:
    """Raise where MMEngine's ``activation_checkpointing`` setting wrapped a
    module that runs spectral norms: its plain recomputation iterates them
    again (module docstring), so training would go on with gradients of
    another weight. ``with_cp=True`` is the exact way."""
    for name, module in model.named_modules():
        forward = module.__dict__.get('forward')
        if getattr(forward, '__code__', None) is _MMENGINE_WRAPPER_CODE and \
                _power_iteration_buffers(module):
            raise RuntimeError(
                f"activation_checkpointing wraps '{name}', which has spectral "
                'norms: its recomputation would run their power iteration '
                'again and the gradients would not match the forward. Remove '
                "it from the config's activation_checkpointing and set "
                'with_cp=True on the encoders, the matching head and the '
                'generator instead (configs/mclnet/README.md).')


def _mmengine_wrapper_code():
    from mmengine.runner.activation_checkpointing import wrap_forward
    return wrap_forward(lambda: None).__code__


_MMENGINE_WRAPPER_CODE = _mmengine_wrapper_code()
