"""The oracle warp: the exemplar warped by its *true* correspondence at the
network's feature-grid resolution, the best any learned correspondence can
do (used by the demo's report and the known-flow benchmark).

Coordinates are (x, y) pixel coordinates with pixel centres at integers, as
``cv2.remap`` takes them. On a feature grid of stride s, cell c's centre is
the pixel ``s·(c + 0.5) − 0.5``; cell correspondences are in cell units, so
an error of 1 is one feature-grid cell.
"""
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F

# the affine of an exemplar that is the photo itself
IDENTITY_AFFINE = np.array([[1, 0, 0], [0, 1, 0]], np.float32)


def identity_map(height: int, width: int) -> np.ndarray:
    """(H, W, 2) pixel coordinates (x, y) of every pixel."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([xs, ys], axis=-1)


def apply_affine(matrix: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Affine 2×3 applied to (..., 2) (x, y) coordinates."""
    return coords @ matrix[:, :2].T + matrix[:, 2]


def inside(coords: np.ndarray) -> np.ndarray:
    """(H, W) whether (H, W, 2) pixel coordinates lie in an H×W image."""
    height, width = coords.shape[:2]
    return ((coords[..., 0] >= -0.5) & (coords[..., 0] <= width - 0.5) &
            (coords[..., 1] >= -0.5) & (coords[..., 1] <= height - 0.5))


def affine_correspondence(matrix: np.ndarray, height: int,
                          width: int) -> Tuple[np.ndarray, np.ndarray]:
    """The true correspondence of an exemplar made by
    ``cv2.warpAffine(photo, matrix, (width, height))`` (``PseudoExemplar``):
    photo pixel x shows up at exemplar pixel ``matrix·x``. Returns the
    (H, W, 2) exemplar pixel of every photo (= condition) pixel and its
    (H, W) validity (inside the exemplar)."""
    coords = apply_affine(np.asarray(matrix, np.float32),
                          identity_map(height, width))
    return coords.astype(np.float32), inside(coords)


def pool_correspondence(corr: np.ndarray, valid: np.ndarray, stride: int,
                        min_valid: float = 0.5
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel correspondence (H, W, 2) → feature-grid correspondence
    (H/s, W/s, 2) in cell units: the mean over each s×s cell's valid
    pixels; a cell is valid when at least ``min_valid`` of its pixels are."""
    height, width = valid.shape
    cells = (height // stride, stride, width // stride, stride)
    weight = valid.astype(np.float32).reshape(cells)
    total = weight.sum(axis=(1, 3))
    pooled = (corr.reshape(*cells, 2) * weight[..., None]).sum(axis=(1, 3))
    pooled = pooled / np.maximum(total, 1)[..., None]
    return (((pooled + 0.5) / stride - 0.5).astype(np.float32),
            total >= min_valid * stride * stride)


def grid_sample_cells(value: torch.Tensor,
                      cell_corr: torch.Tensor) -> torch.Tensor:
    """(B, D, h, w) map read bilinearly at (B, h', w', 2) cell coordinates
    (x, y), clamped to the border."""
    height, width = value.shape[-2:]
    scale = cell_corr.new_tensor([width, height])
    grid = (cell_corr + 0.5) / scale * 2 - 1
    return F.grid_sample(value, grid, mode='bilinear',
                         padding_mode='border', align_corners=False)


def oracle_warp(exemplar: torch.Tensor, cell_corr: torch.Tensor,
                upsample_mode: str = 'bilinear',
                warp_patch: bool = False,
                spread: int = 0) -> torch.Tensor:
    """The exemplar warped by the true correspondence at the network's
    resolution, as ``CorrespondenceNet`` warps: pooled to the feature grid,
    read at the true (B, h, w, 2) cell correspondence and upsampled back to
    (B, 3, H, W) with ``upsample_mode``; or, with ``warp_patch``, each
    cell's full-resolution patch read there (bilinear between patches).

    ``spread`` k > 0: a reference for a correspondence that is right but
    soft, each cell reading the mean of the (2k+1)² cells around its true
    match, i.e. a softmax warp whose weight lies uniformly within k cells of
    the truth."""
    if warp_patch:
        factor = exemplar.shape[-1] // cell_corr.shape[2]
        patches = F.pixel_unshuffle(exemplar, factor)
        return F.pixel_shuffle(
            _read_spread(patches, cell_corr, spread), factor)
    pooled = F.adaptive_avg_pool2d(exemplar, cell_corr.shape[1:3])
    warped = _read_spread(pooled, cell_corr, spread)
    # the call CorrespondenceNet makes (align_corners left at its default)
    return F.interpolate(warped, size=exemplar.shape[-2:], mode=upsample_mode)


def _read_spread(value: torch.Tensor, cell_corr: torch.Tensor,
                 spread: int) -> torch.Tensor:
    """``grid_sample_cells`` averaged over the cell offsets in
    [−spread, spread]²."""
    if spread < 0:
        raise ValueError(f'oracle_warp: spread must be >= 0, got {spread}')
    offsets = range(-spread, spread + 1)
    reads = [
        grid_sample_cells(value, cell_corr + cell_corr.new_tensor([dx, dy]))
        for dy in offsets for dx in offsets
    ]
    return torch.stack(reads).mean(dim=0)


def oracle_warp_affine(exemplar: torch.Tensor,
                       matrix: np.ndarray,
                       stride: int,
                       upsample_mode: str = 'bilinear',
                       warp_patch: bool = False,
                       spread: int = 0) -> torch.Tensor:
    """``oracle_warp`` of one (3, H, W) exemplar made from its photo by the
    affine ``matrix`` (``PseudoExemplar``'s ``exemplar_affine``), on the
    feature grid of ``stride``; returns (3, H, W)."""
    height, width = exemplar.shape[-2:]
    if height % stride or width % stride:
        raise ValueError(f'oracle_warp_affine: image size {height}×{width} '
                         f'is not a multiple of the stride {stride}')
    corr, _ = affine_correspondence(matrix, height, width)
    # every cell is warped: those mapped outside read the border, as the
    # network's warp can only read exemplar cells
    cell_corr, _ = pool_correspondence(corr, np.ones((height, width), bool),
                                       stride)
    return oracle_warp(exemplar[None].float(),
                       torch.from_numpy(cell_corr)[None].to(exemplar.device),
                       upsample_mode, warp_patch, spread)[0]
