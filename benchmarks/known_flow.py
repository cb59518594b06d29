"""Known-flow pairs for the correspondence benchmark.

A photo (the ground truth Y, from which the condition X is derived) is
resampled through a random smooth map to give the exemplar Z:
``Z(y) = Y(sampling_map(y))``. The correspondence the network should find
is the inverse: for each condition pixel x, the exemplar pixel
``y = corr(x)`` with ``sampling_map(y) = x``. Maps and correspondences are
(H, W, 2) float32 arrays of (x, y) pixel coordinates, as ``cv2.remap``
takes them; pixel centres are at integers.

On the feature grid (stride s) a cell's centre is the pixel
``s·(c + 0.5) − 0.5``; correspondences are pooled to cells and given in
cell units, so an error of 1 is one feature-grid cell.
"""
from typing import Optional, Tuple

import cv2
import numpy as np
import torch

from mclnet_plugin.evaluation.oracle_warp import (apply_affine, identity_map,
                                                  inside)

# Fixed-point iterations of the map inversion and the residual (pixels)
# above which a correspondence counts as not found.
INVERT_ITERATIONS = 40
INVERT_TOLERANCE = 0.05


def random_affine(size: int, rng: np.random.Generator,
                  degrees: float = 20.0,
                  scale: Tuple[float, float] = (0.85, 1.15),
                  translate: float = 0.12) -> np.ndarray:
    """A random 2×3 affine about the image centre, ranged as
    ``PseudoExemplar``'s (rotation, isotropic scale, shift)."""
    centre = ((size - 1) / 2, (size - 1) / 2)
    matrix = cv2.getRotationMatrix2D(centre, rng.uniform(-degrees, degrees),
                                     rng.uniform(*scale))
    matrix[:, 2] += rng.uniform(-translate, translate, size=2) * size
    return matrix.astype(np.float32)


def random_elastic(size: int, rng: np.random.Generator, cells: int = 4,
                   magnitude: float = 0.06) -> np.ndarray:
    """(H, W, 2) smooth displacement: a (cells+1)² grid of uniform random
    displacements (± magnitude·size pixels) upsampled bicubically."""
    coarse = rng.uniform(-magnitude, magnitude,
                         size=(cells + 1, cells + 1, 2)) * size
    return cv2.resize(coarse.astype(np.float32), (size, size),
                      interpolation=cv2.INTER_CUBIC)


def sample_field(field: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Bilinear samples of an (H, W, C) field at (H', W', 2) coordinates,
    extended beyond the border by its edge values."""
    return cv2.remap(field, coords[..., 0], coords[..., 1],
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class KnownWarp:
    """``sampling_map(y) = affine(y + elastic(y))``: an elastic field
    composed with an affine, evaluable at any point (so its inverse is
    exact up to the fixed-point tolerance, also near the border)."""

    def __init__(self, affine: np.ndarray, elastic: np.ndarray) -> None:
        self.affine = affine
        self.elastic = elastic

    @classmethod
    def random(cls, size: int, rng: np.random.Generator,
               **elastic_args) -> 'KnownWarp':
        return cls(random_affine(size, rng),
                   random_elastic(size, rng, **elastic_args))

    def map_at(self, coords: np.ndarray) -> np.ndarray:
        """The sampling map at (H', W', 2) coordinates."""
        return apply_affine(self.affine,
                            coords + sample_field(self.elastic, coords))

    def sampling_map(self) -> np.ndarray:
        """(H, W, 2): where each exemplar pixel is read from the photo."""
        return self.map_at(identity_map(*self.elastic.shape[:2]))

    def correspondence(self) -> Tuple[np.ndarray, np.ndarray]:
        """(H, W, 2) exemplar pixel of each condition pixel (the inverse of
        the sampling map) and its (H, W) validity: inside the exemplar and
        converged."""
        target = identity_map(*self.elastic.shape[:2])
        # Newton's step with the Jacobian taken as the identity: converges
        # for maps within rotation ±20°, scale ±15° and a smooth elastic
        # field (‖I − J‖ < 1)
        coords = target.copy()
        for _ in range(INVERT_ITERATIONS):
            coords = coords + (target - self.map_at(coords))
        residual = np.linalg.norm(self.map_at(coords) - target, axis=-1)
        return coords, (residual < INVERT_TOLERANCE) & inside(coords)


def remap(image: np.ndarray, sampling_map: np.ndarray) -> np.ndarray:
    """``image`` read at ``sampling_map`` (bilinear, reflected border, as
    ``PseudoExemplar``'s affine)."""
    return cv2.remap(image, sampling_map[..., 0], sampling_map[..., 1],
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def stereo_correspondence(disparity: np.ndarray
                          ) -> Tuple[np.ndarray, np.ndarray]:
    """Left-image pixel (r, c) ↔ right-image pixel (r, c − d(r, c)), as
    ``skimage.data.stereo_motorcycle``'s disparity (checked: the left image
    matches the right one read there); non-finite d has no ground truth.
    Returns the (H, W, 2) correspondence and its validity."""
    valid = np.isfinite(disparity)
    coords = identity_map(*disparity.shape)
    coords[..., 0] -= np.where(valid, disparity, 0).astype(np.float32)
    return coords, valid & inside(coords)


def argmax_correspondence(cond_corr: torch.Tensor,
                          exemplar_corr: torch.Tensor, width: int,
                          chunk_size: int = 256) -> torch.Tensor:
    """For each condition position, the (x, y) cell of the exemplar position
    of highest similarity ``cond_corr·exemplar_corr`` (B, N, C) → (B, N, 2),
    computed in chunks of condition positions."""
    best = torch.cat([
        torch.bmm(chunk, exemplar_corr.transpose(1, 2)).argmax(dim=-1)
        for chunk in cond_corr.split(chunk_size, dim=1)
    ], dim=1)  # (B, N)
    return torch.stack([best % width, best // width], dim=-1).float()


def end_point_error(predicted: torch.Tensor, truth: torch.Tensor,
                    valid: torch.Tensor,
                    within: Optional[float] = 1.0
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-sample mean end-point error (B,) over valid positions and the
    fraction of them within ``within`` of the truth; (B, N, 2) coordinates,
    (B, N) validity."""
    error = (predicted - truth).norm(dim=-1)
    weight = valid.float()
    count = weight.sum(dim=1).clamp(min=1)
    return ((error * weight).sum(dim=1) / count,
            ((error <= within).float() * weight).sum(dim=1) / count)
