"""SPADE's normalise-modulate-activate in one autograd node that keeps less.

Written as separate operations, ``leaky_relu(norm(x) · (1 + γ) + β)`` keeps
five full-size tensors for backward: x, x − μ, the normalised x, 1 + γ and
the activation's input. This node keeps x, γ, the statistics and its own
output (which the following convolution keeps anyway) and recomputes the
normalised x in backward, so a SPADE unit holds two full-size tensors of its
own instead of five. In the 256×256 configs that is about 0.8 GB less per
sample (docs/benchmarks.md); the values and gradients are the same
formula's (tests/test_models/test_modulated_norm.py).
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable


class _ModulatedNorm(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, gamma, beta, dims, eps, negative_slope):
        var, mean = torch.var_mean(x, dim=dims, correction=0, keepdim=True)
        rstd = torch.rsqrt(var + eps)
        normalized = (x - mean).mul_(rstd)
        # normalized · (1 + γ) + β without materialising 1 + γ
        out = torch.addcmul(beta, normalized, gamma).add_(normalized)
        del normalized
        saved = [x, gamma, mean, rstd]
        if negative_slope is not None:
            out = F.leaky_relu_(out, negative_slope)
            # the sign of the output is the sign of its input (slope > 0)
            saved.append(out)
        ctx.save_for_backward(*saved)
        ctx.dims, ctx.negative_slope = dims, negative_slope
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, gamma, mean, rstd, *activated = ctx.saved_tensors
        if activated:
            grad_out = torch.where(activated[0] > 0, grad_out,
                                   grad_out * ctx.negative_slope)
        normalized = (x - mean).mul_(rstd)
        grad_gamma = grad_out * normalized if ctx.needs_input_grad[1] \
            else None
        grad_x = None
        if ctx.needs_input_grad[0]:
            # backward of (x − μ)·rstd with the biased variance over dims
            grad_norm = torch.addcmul(grad_out, grad_out, gamma)
            dims = ctx.dims
            grad_x = grad_norm - grad_norm.mean(dims, keepdim=True)
            grad_x -= normalized * (grad_norm * normalized).mean(
                dims, keepdim=True)
            grad_x *= rstd
        return grad_x, grad_gamma, grad_out, None, None, None


def modulated_norm(x: torch.Tensor,
                   gamma: torch.Tensor,
                   beta: torch.Tensor,
                   dims: Sequence[int],
                   eps: float = 1e-5,
                   negative_slope: Optional[float] = None) -> torch.Tensor:
    """``(x − μ) / √(σ² + eps) · (1 + γ) + β``, then LeakyReLU when
    ``negative_slope`` is given (SPADE paper, Eq. 1, and the activation that
    follows it in a SPADE residual block).

    μ and σ² are the mean and biased variance of x over ``dims``: (1,) is
    PONO, (2, 3) instance norm. γ and β have x's shape.
    """
    if negative_slope is not None and negative_slope <= 0:
        raise ValueError('modulated_norm: negative_slope must be > 0 (the '
                         'backward reads the sign from the output), got '
                         f'{negative_slope}')
    return _ModulatedNorm.apply(x, gamma, beta, tuple(dims), eps,
                                negative_slope)
