"""Cosine-softmax correspondence and warping (paper §3.1, Eq. 4).

The correspondence matrix ``T`` between N condition positions and M exemplar
positions is ``T = softmax_j(cos(q_i, k_j) / temperature)``; warping a value
map means ``T @ value``. At 64×64 features N = M = 4096, and the full matrix
plus what autograd keeps of it costs hundreds of MB per sample (several GB at
128×128). The functions here compute exactly the same values and gradients
while holding only ``chunk_size × M`` of the matrix at a time: queries are
processed in chunks, and in training each chunk is recomputed in backward
(activation checkpointing) instead of being stored.

All arithmetic runs in fp32 (fp64 for fp64 inputs), also under autocast: with
a temperature of 0.01 the logits span ±100, where half-precision rounding of
the cosine changes the softmax visibly.
"""
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

# Elements of the correspondence matrix held at once when ``chunk_size`` is
# None: 2**20 fp32 values = 4 MiB per sample (16 chunks of 256 queries at
# 64×64 features). Backward holds a few such buffers at a time.
DEFAULT_CHUNK_ELEMENTS = 2**20
# Thinner chunks cost more time (many small matmuls, each recomputed) than
# they save memory: at 128×128 features 64-query chunks made the warp 2.3×
# slower than the plain formula, 256-query chunks 1.5×.
MIN_CHUNK_QUERIES = 256


def auto_chunk_size(num_keys: int,
                    budget: int = DEFAULT_CHUNK_ELEMENTS) -> int:
    """Queries per chunk: one chunk's matrix holds ``budget`` values, but a
    chunk has at least ``MIN_CHUNK_QUERIES`` queries."""
    return max(MIN_CHUNK_QUERIES, budget // max(1, num_keys))


def at_least_fp32(tensor: torch.Tensor) -> torch.Tensor:
    """Half-precision tensors as fp32; fp32 and fp64 unchanged."""
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))


def map_in_chunks(fn: Callable[..., torch.Tensor],
                  rows: Sequence[torch.Tensor],
                  shared: Sequence[torch.Tensor],
                  chunk_size: int,
                  dim: int = 1) -> torch.Tensor:
    """Apply ``fn(*row_chunks, *shared)`` to chunks of ``rows`` along ``dim``.

    ``rows`` are split together (same length along ``dim``); ``shared`` are
    passed whole to every call. When autograd is recording and there is more
    than one chunk, each chunk runs under non-reentrant checkpointing, so its
    intermediates (its slice of an N×M matrix) are freed after forward and
    recomputed, one chunk at a time, in backward. Results are concatenated
    along ``dim``.
    """
    if rows[0].shape[dim] <= chunk_size:
        return fn(*rows, *shared)
    grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (*rows, *shared))
    outputs = []
    for row_chunks in zip(*(t.split(chunk_size, dim=dim) for t in rows)):
        if grad:
            outputs.append(
                checkpoint(fn, *row_chunks, *shared, use_reentrant=False))
        else:
            outputs.append(fn(*row_chunks, *shared))
    return torch.cat(outputs, dim=dim)


def _softmax_attend(query: torch.Tensor, key: torch.Tensor,
                    value: torch.Tensor, scale: float) -> torch.Tensor:
    # (B, n, C) @ (B, C, M) -> (B, n, M): one chunk of the logits.
    corr_logits = torch.bmm(query, key.transpose(1, 2)) * scale
    return torch.bmm(corr_logits.softmax(dim=-1), value)


def _check_warp_inputs(query: torch.Tensor, key: torch.Tensor,
                       value: torch.Tensor, temperature: float) -> None:
    if query.dim() != 3 or key.dim() != 3 or value.dim() != 3:
        raise ValueError(
            'cosine_softmax_warp expects query (B, N, C), key (B, M, C) and '
            f'value (B, M, D); got query {tuple(query.shape)}, key '
            f'{tuple(key.shape)}, value {tuple(value.shape)}')
    if query.shape[0] != key.shape[0] or key.shape[0] != value.shape[0]:
        raise ValueError(
            'query, key and value must have the same batch size; got '
            f'{query.shape[0]}, {key.shape[0]}, {value.shape[0]}')
    if query.shape[2] != key.shape[2]:
        raise ValueError(
            'query and key must have the same channel count C; got '
            f'query C={query.shape[2]}, key C={key.shape[2]}')
    if key.shape[1] != value.shape[1]:
        raise ValueError(
            'value must have one row per key position; got key M='
            f'{key.shape[1]}, value M={value.shape[1]}')
    if temperature <= 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')


def cosine_softmax_warp(query: torch.Tensor,
                        key: torch.Tensor,
                        value: torch.Tensor,
                        temperature: float = 0.01,
                        chunk_size: Optional[int] = None) -> torch.Tensor:
    """Warp ``value`` from key positions onto query positions (paper §3.1).

    ``out_i = Σ_j softmax_j(cos(q_i, k_j) / temperature) · v_j``, i.e. ``T·Z``
    with ``T`` the correspondence matrix (used in Eq. 4 and Eq. 5). Query and
    key vectors are L2-normalised here. The full N×M matrix is never held:
    see the module docstring.

    Args:
        query: (B, N, C) features of the positions to fill (the condition).
        key: (B, M, C) features of the positions to read (the exemplar).
        value: (B, M, D) what to warp (e.g. exemplar colours).
        temperature: softmax temperature (0.01 as in CoCosNet).
        chunk_size: queries per chunk; None: ``auto_chunk_size``.

    Returns:
        (B, N, D) warped values, in fp32 (fp64 for fp64 inputs).
    """
    _check_warp_inputs(query, key, value, temperature)
    with torch.autocast(device_type=query.device.type, enabled=False):
        query = F.normalize(at_least_fp32(query), dim=-1)
        key = F.normalize(at_least_fp32(key), dim=-1)
        chunk = chunk_size or auto_chunk_size(key.shape[1])
        return map_in_chunks(
            lambda q, k, v: _softmax_attend(q, k, v, 1.0 / temperature),
            rows=(query, ),
            shared=(key, at_least_fp32(value)),
            chunk_size=chunk)


def cosine_softmax_warp_back(query: torch.Tensor,
                             key: torch.Tensor,
                             warped: torch.Tensor,
                             temperature: float = 0.01,
                             chunk_size: Optional[int] = None) -> torch.Tensor:
    """Warp query-aligned values back onto key positions (``Tᵀ`` of Eq. 4).

    As in CoCosNet, the reverse correspondence is the softmax of the same
    cosine similarities taken over the other axis (over queries for each key),
    so ``cosine_softmax_warp_back(q, k, cosine_softmax_warp(q, k, z))`` is the
    ``Tᵀ·T·Z`` of the cycle-consistency loss (Eq. 4).

    Args:
        query: (B, N, C) features the values are currently aligned to.
        key: (B, M, C) features of the positions to return to.
        warped: (B, N, D) values aligned to ``query``.

    Returns:
        (B, M, D) values aligned to ``key``, in fp32 (fp64 for fp64 inputs).
    """
    return cosine_softmax_warp(key, query, warped, temperature, chunk_size)
