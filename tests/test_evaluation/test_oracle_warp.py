"""The oracle warp of a known affine against independent references: cv2's
own warp of the photo, plain pooling and upsampling, hand-made shifts."""
import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mclnet_plugin.evaluation.oracle_warp import (affine_correspondence,
                                                  oracle_warp_affine)
from tests.dataset_fixtures import photo

SIZE, STRIDE = 32, 4
IDENTITY = np.array([[1, 0, 0], [0, 1, 0]], np.float32)


def test_affine_correspondence_reads_the_photo_back_from_the_exemplar():
    image = photo(2, size=(SIZE, SIZE))
    matrix = cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), 12, 1.1)
    matrix[:, 2] += (2.5, -1.5)
    exemplar = cv2.warpAffine(image, matrix, (SIZE, SIZE),
                              flags=cv2.INTER_LINEAR)
    corr, valid = affine_correspondence(matrix, SIZE, SIZE)
    back = cv2.remap(exemplar, corr[..., 0], corr[..., 1], cv2.INTER_LINEAR)
    # away from the border, two bilinear resamplings of a smooth photo
    interior = valid.copy()
    interior[:3] = interior[-3:] = interior[:, :3] = interior[:, -3:] = False
    error = np.abs(back.astype(int) - image.astype(int))[interior]
    assert interior.sum() > SIZE * SIZE // 2
    assert np.median(error) <= 4
    # a point mapped outside the exemplar is invalid
    assert not valid.all()


@pytest.mark.parametrize('mode', ['bilinear', 'nearest'])
def test_oracle_of_the_identity_is_pooled_then_upsampled(mode):
    exemplar = torch.rand(3, SIZE, SIZE) * 255
    expected = F.interpolate(
        F.avg_pool2d(exemplar[None], STRIDE), size=SIZE, mode=mode)[0]
    torch.testing.assert_close(
        oracle_warp_affine(exemplar, IDENTITY, STRIDE, mode), expected)


def test_patch_oracle_of_the_identity_is_the_exemplar():
    exemplar = torch.rand(3, SIZE, SIZE)
    torch.testing.assert_close(
        oracle_warp_affine(exemplar, IDENTITY, STRIDE, warp_patch=True),
        exemplar)


def test_oracle_of_a_whole_cell_shift_reads_the_shifted_cells():
    exemplar = torch.rand(3, SIZE, SIZE)
    # photo pixel x is exemplar pixel x + (8, 4): two cells right, one down
    shift = np.array([[1, 0, 8], [0, 1, 4]], np.float32)
    warped = oracle_warp_affine(exemplar, shift, STRIDE, 'nearest')
    pooled = F.avg_pool2d(exemplar[None], STRIDE)[0]
    expected = F.interpolate(
        pooled[None, :, 1:, 2:], scale_factor=STRIDE)[0]
    torch.testing.assert_close(warped[:, :-STRIDE, :-2 * STRIDE], expected)
    patches = oracle_warp_affine(exemplar, shift, STRIDE, warp_patch=True)
    torch.testing.assert_close(patches[:, :-STRIDE, :-2 * STRIDE],
                               exemplar[:, STRIDE:, 2 * STRIDE:])


def test_size_not_a_multiple_of_the_stride_is_refused():
    with pytest.raises(ValueError, match='multiple of the stride'):
        oracle_warp_affine(torch.rand(3, 30, 32), IDENTITY, STRIDE)


def test_spread_oracle_reads_the_mean_of_the_cells_around_the_truth():
    exemplar = torch.rand(3, SIZE, SIZE)
    pooled = F.avg_pool2d(exemplar[None], STRIDE)[0].numpy()
    cells = SIZE // STRIDE
    # naive: for each cell, the mean of its 3×3 neighbours, indices clamped
    # at the border (grid_sample's border padding)
    expected = np.zeros_like(pooled)
    for y in range(cells):
        for x in range(cells):
            reads = [
                pooled[:, min(max(y + dy, 0), cells - 1),
                       min(max(x + dx, 0), cells - 1)]
                for dy in (-1, 0, 1) for dx in (-1, 0, 1)
            ]
            expected[:, y, x] = np.mean(reads, axis=0)
    warped = oracle_warp_affine(exemplar, IDENTITY, STRIDE, 'nearest',
                                spread=1)
    torch.testing.assert_close(
        warped, F.interpolate(torch.from_numpy(expected)[None],
                              scale_factor=STRIDE)[0])
    with pytest.raises(ValueError, match='spread must be >= 0'):
        oracle_warp_affine(exemplar, IDENTITY, STRIDE, spread=-1)
