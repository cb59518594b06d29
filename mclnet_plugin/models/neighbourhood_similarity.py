"""Cosines between the k×k neighbourhoods of two feature maps, without
unfolding them (CoCosNet's matching, which MCL-Net keeps, paper §3.1).

``neighbourhood_vectors`` (matching.py) unfolds each position's k×k
neighbourhood of C channels into one C·k² vector, centres and normalises it;
the correspondence compares them by dot products. With C = 512 and k = 3 the
vectors are 4608 wide, and every N×M dot-product matrix costs 9× the
multiply-adds of the per-position one. The same matrix follows from the
per-position Gram matrix ``A = F_qᵀ F_k``: the dot product of two
neighbourhoods is the sum of ``A`` over the k² aligned shifts,

    ⟨u_i, u_j⟩ = Σ_s A[i + s, j + s]   (zero beyond the borders),

and centring and normalising only need each neighbourhood's sum and sum of
squares (box sums of per-position scalars):

    cos_ij = (⟨u_i, u_j⟩ − S_i S_j / D) / (‖u_i − μ_i‖ ‖u_j − μ_j‖),
    ‖u_i − μ_i‖² = Q_i − S_i² / D,  D = C·k².

So the big matrix product is C wide instead of C·k², and the k² shifts are
additions over the N×M matrix.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch.autograd import Function

# A centred squared norm below this many ulps of the uncentred one is
# cancellation noise: the neighbourhood counts as constant (its vector as 0).
# Summing D = 4608 rounded terms errs by about sqrt(D) ≈ 70 ulps; 1024 leave
# a margin and, in fp32, treat a neighbourhood whose variance is under 0.01%
# of its energy as flat.
ZERO_VARIANCE_ULPS = 1024


def _shift_slices(radius: int, dy: int, dx: int,
                  out_shape: Tuple[int, int, int, int]) -> tuple:
    rows, cols, key_rows, key_cols = out_shape
    return (slice(None), slice(radius + dy, radius + dy + rows),
            slice(radius + dx, radius + dx + cols),
            slice(radius + dy, radius + dy + key_rows),
            slice(radius + dx, radius + dx + key_cols))


class _AlignedShiftSum(Function):
    """``out[y, x, y', x'] = Σ_{|dy|,|dx| ≤ r} gram[y+r+dy, x+r+dx, y'+r+dy,
    x'+r+dx]`` of a (B, h+2r, W+2r, H'+2r, W'+2r) Gram matrix over zero-padded
    grids; backward scatters the gradient back the same way, into one
    buffer (autograd's slicing would allocate a full-size buffer per
    shift)."""

    @staticmethod
    def forward(ctx, gram: torch.Tensor, radius: int,
                out_shape: Tuple[int, int, int, int]) -> torch.Tensor:
        ctx.radius, ctx.out_shape = radius, out_shape
        ctx.gram_shape = gram.shape
        total = None
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                piece = gram[_shift_slices(radius, dy, dx, out_shape)]
                total = piece.clone() if total is None else total.add_(piece)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        radius = ctx.radius
        grad_gram = grad.new_zeros(ctx.gram_shape)
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                grad_gram[_shift_slices(radius, dy, dx,
                                        ctx.out_shape)].add_(grad)
        return grad_gram, None, None


def _box_sum(per_position: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """(B, 1, H, W) → the sum over each position's k×k window (zero beyond
    the border), flattened to (B, H·W)."""
    window = per_position.new_ones(1, 1, kernel_size, kernel_size)
    return F.conv2d(per_position, window,
                    padding=kernel_size // 2).flatten(1)


def _centred_inverse_norms(feat: torch.Tensor, kernel_size: int,
                           center: bool, eps: float
                           ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Each neighbourhood's sum S (B, H·W) and 1 / max(‖u‖, eps) of its
    (centred) vector u, as ``F.normalize`` divides by, or 0 where u is
    zero up to rounding.

    Centring subtracts S²/D from the sum of squares Q, which cancels to
    rounding noise of about ulp·Q when the neighbourhood is (nearly)
    constant: the unfolded vector is then a zero vector (``F.normalize``
    gives 0, so every cosine with it is 0), and dividing by the noise would
    turn the noise of the dot products into cosines far outside [-1, 1].
    Below ``ZERO_VARIANCE_ULPS`` ulps of Q the vector counts as zero.
    """
    sums = _box_sum(feat.sum(dim=1, keepdim=True), kernel_size)
    squares = _box_sum(feat.square().sum(dim=1, keepdim=True), kernel_size)
    if not center:
        return sums, squares.clamp(min=eps * eps).rsqrt()
    width = feat.shape[1] * kernel_size * kernel_size
    centred = squares - sums.square() / width
    noise = ZERO_VARIANCE_ULPS * torch.finfo(feat.dtype).eps * squares
    # clamped inside too: the branch not taken must have a finite gradient
    inverse = centred.clamp(min=eps * eps).rsqrt()
    return sums, torch.where(centred > noise, inverse,
                             torch.zeros_like(inverse))


def neighbourhood_cosine(query_feat: torch.Tensor,
                         key_feat: torch.Tensor,
                         kernel_size: int = 3,
                         center: bool = True,
                         eps: float = 1e-12,
                         rows: Optional[Tuple[int, int]] = None
                         ) -> torch.Tensor:
    """``neighbourhood_vectors(query_feat) @ neighbourhood_vectors(key_feat)ᵀ``
    (the correspondence's cosines) without the unfolded vectors.

    Args:
        query_feat: (B, C, H, W) per-position matching features.
        key_feat: (B, C, H', W') per-position matching features.
        kernel_size: k, odd.
        center: centre each neighbourhood vector on its mean (CoCosNet).
        rows: only the queries of grid rows ``[rows[0], rows[1])``; None: all.

    Returns:
        (B, n, H'·W') cosines, n the number of queries (rows × W), in the
        dtype of the inputs.
    """
    if kernel_size % 2 != 1:
        raise ValueError(f'match kernel size must be odd, got {kernel_size}')
    radius = kernel_size // 2
    batch, _, height, width = query_feat.shape
    key_rows, key_cols = key_feat.shape[-2:]
    first, last = rows or (0, height)
    query_sums, query_inverse = _centred_inverse_norms(
        query_feat, kernel_size, center, eps)
    key_sums, key_inverse = _centred_inverse_norms(key_feat, kernel_size,
                                                   center, eps)
    padded_key = F.pad(key_feat, (radius, ) * 4)
    # the chunk's rows with a halo of `radius` rows, zero beyond the grid
    slab = F.pad(query_feat, (radius, ) * 4)[:, :, first:last + 2 * radius]
    gram = torch.bmm(slab.flatten(2).transpose(1, 2), padded_key.flatten(2))
    out_shape = (last - first, width, key_rows, key_cols)
    dots = _AlignedShiftSum.apply(
        gram.view(batch, slab.shape[2], slab.shape[3], key_rows + 2 * radius,
                  key_cols + 2 * radius), radius, out_shape)
    dots = dots.view(batch, (last - first) * width, key_rows * key_cols)
    query_sums = query_sums[:, first * width:last * width]
    query_inverse = query_inverse[:, first * width:last * width]
    if center:
        depth = query_feat.shape[1] * kernel_size * kernel_size
        dots = dots - query_sums.unsqueeze(2) * (key_sums / depth).unsqueeze(1)
    return dots * (query_inverse.unsqueeze(2) * key_inverse.unsqueeze(1))
