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
from typing import Callable, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from .neighbourhood_similarity import neighbourhood_cosine

# Elements of the correspondence matrix held at once when ``chunk_size`` is
# None: 2**20 fp32 values = 4 MiB per sample (16 chunks of 256 queries at
# 64×64 features). Backward holds a few such buffers at a time.
DEFAULT_CHUNK_ELEMENTS = 2**20
# Thinner chunks cost more time (many small matmuls, each recomputed) than
# they save memory: at 128×128 features 64-query chunks made the warp 2.3×
# slower than the plain formula, 256-query chunks 1.5×.
MIN_CHUNK_QUERIES = 256
# Matrix elements per chunk of ``neighbourhood_softmax_warp``: 2**22 fp32
# values (16 MiB per sample, 16 rows of a 64×64 grid); a chunk computes a few
# matrices of this size (the Gram matrix with its halo rows, the sums, the
# softmax), freed after its forward and recomputed in its backward. A chunk
# has at least MIN_CHUNK_ROWS grid rows: each chunk's Gram matrix also
# covers k − 1 halo rows, which thin chunks would pay for over and over.
DEFAULT_ROW_CHUNK_ELEMENTS = 2**22
MIN_CHUNK_ROWS = 8


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


def _attend_rows(query_feat: torch.Tensor, key_feat: torch.Tensor,
                 value: torch.Tensor, rows: Tuple[int, int], scale: float,
                 kernel_size: int, center: bool) -> torch.Tensor:
    corr_logits = neighbourhood_cosine(query_feat, key_feat, kernel_size,
                                       center, rows=rows) * scale
    return torch.bmm(corr_logits.softmax(dim=-1), value)


def neighbourhood_softmax_warp(query_feat: torch.Tensor,
                               key_feat: torch.Tensor,
                               value: torch.Tensor,
                               temperature: float = 0.01,
                               kernel_size: int = 3,
                               center: bool = True,
                               chunk_size: Optional[int] = None
                               ) -> torch.Tensor:
    """``cosine_softmax_warp`` of the k×k neighbourhood vectors of two
    feature maps (CoCosNet's matching), computed as
    ``neighbourhood_cosine`` does: C-wide products instead of C·k²-wide.

    Queries are processed in chunks of whole grid rows; in training every
    chunk, also a single one, is recomputed in backward instead of stored,
    so no N×M matrix outlives its chunk.

    Args:
        query_feat: (B, C, H, W) matching features of the positions to fill.
        key_feat: (B, C, H', W') matching features of the positions to read.
        value: (B, H'·W', D) what to warp.
        chunk_size: queries per chunk, rounded up to whole rows; None:
            ``DEFAULT_ROW_CHUNK_ELEMENTS`` matrix values per chunk, but at
            least ``MIN_CHUNK_ROWS`` rows.

    Returns:
        (B, H·W, D) warped values, in fp32 (fp64 for fp64 inputs).
    """
    if query_feat.dim() != 4 or key_feat.dim() != 4:
        raise ValueError(
            'neighbourhood_softmax_warp expects (B, C, H, W) feature maps; '
            f'got {tuple(query_feat.shape)} and {tuple(key_feat.shape)}')
    _check_warp_inputs(query_feat.flatten(2).transpose(1, 2),
                       key_feat.flatten(2).transpose(1, 2), value,
                       temperature)
    with torch.autocast(device_type=query_feat.device.type, enabled=False):
        query_feat, key_feat = at_least_fp32(query_feat), at_least_fp32(
            key_feat)
        value = at_least_fp32(value)
        height, width = query_feat.shape[-2:]
        if chunk_size is None:
            rows_per_chunk = max(
                MIN_CHUNK_ROWS,
                DEFAULT_ROW_CHUNK_ELEMENTS // (width * value.shape[1]))
        else:
            rows_per_chunk = max(1, -(-chunk_size // width))
        grad = torch.is_grad_enabled() and any(
            t.requires_grad for t in (query_feat, key_feat, value))
        outputs = []
        for first in range(0, height, rows_per_chunk):
            args = (query_feat, key_feat, value,
                    (first, min(height, first + rows_per_chunk)),
                    1.0 / temperature, kernel_size, center)
            outputs.append(
                checkpoint(_attend_rows, *args, use_reentrant=False)
                if grad else _attend_rows(*args))
        return torch.cat(outputs, dim=1)
