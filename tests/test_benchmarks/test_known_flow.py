"""The known-flow pieces of the correspondence benchmark against
independent references (cv2, plain pooling, hand-made correspondences)."""
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F

from mclnet_plugin.evaluation.oracle_warp import (identity_map, oracle_warp,
                                                  pool_correspondence)

sys.path.insert(
    0, osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), 'benchmarks'))
from known_flow import (KnownWarp, argmax_correspondence,  # noqa: E402
                        end_point_error, remap, stereo_correspondence)

SIZE, STRIDE = 32, 4
CELLS = SIZE // STRIDE


def cell_correspondence(pixel_corr, valid=None):
    valid = np.ones(pixel_corr.shape[:2], bool) if valid is None else valid
    corr, cell_valid = pool_correspondence(pixel_corr, valid, STRIDE)
    return torch.from_numpy(corr)[None], torch.from_numpy(cell_valid)[None]


def test_identity_pools_to_cell_indices():
    corr, valid = cell_correspondence(identity_map(SIZE, SIZE))
    ys, xs = torch.meshgrid(torch.arange(CELLS), torch.arange(CELLS),
                            indexing='ij')
    torch.testing.assert_close(corr[0], torch.stack([xs, ys], -1).float())
    assert valid.all()


@pytest.mark.parametrize('mode', ['bilinear', 'nearest'])
def test_oracle_with_identity_flow_is_pooled_then_upsampled(mode):
    exemplar = torch.rand(1, 3, SIZE, SIZE)
    corr, _ = cell_correspondence(identity_map(SIZE, SIZE))
    expected = F.interpolate(F.avg_pool2d(exemplar, STRIDE), size=SIZE,
                             mode=mode)
    torch.testing.assert_close(oracle_warp(exemplar, corr, mode), expected)


def test_oracle_with_cell_translation_shifts_the_pooled_exemplar():
    exemplar = torch.rand(1, 3, SIZE, SIZE)
    corr, _ = cell_correspondence(identity_map(SIZE, SIZE) + [8, 4])
    pooled = F.avg_pool2d(exemplar, STRIDE)
    warped = oracle_warp(exemplar, corr, 'nearest')
    # cell (r, c) reads exemplar cell (r + 1, c + 2) where that exists
    expected = F.interpolate(pooled[..., 1:, 2:], scale_factor=STRIDE)
    torch.testing.assert_close(warped[..., :-STRIDE, :-2 * STRIDE], expected)


def test_translation_epe_of_perfect_and_off_by_one_argmax():
    corr, valid = cell_correspondence(identity_map(SIZE, SIZE) + [8, 4])
    # one-hot features: condition cell (r, c) is most similar to exemplar
    # cell (r + 1, c + 2), as the translation says
    index = torch.arange(CELLS * CELLS).reshape(CELLS, CELLS)
    target = index.roll(shifts=(-1, -2), dims=(0, 1)).flatten()
    exemplar_corr = torch.eye(CELLS * CELLS)[None]
    cond_corr = exemplar_corr[:, target]
    predicted = argmax_correspondence(cond_corr, exemplar_corr, CELLS,
                                      chunk_size=5)
    inside = (corr[..., 0] <= CELLS - 1) & (corr[..., 1] <= CELLS - 1)
    valid = valid & inside
    epe, within = end_point_error(predicted, corr.flatten(1, 2),
                                  valid.flatten(1))
    assert epe.item() == 0 and within.item() == 1
    epe, within = end_point_error(predicted + torch.tensor([1.0, 0.0]),
                                  corr.flatten(1, 2), valid.flatten(1))
    assert epe.item() == pytest.approx(1) and within.item() == 1


def test_sampling_map_is_the_affine_composed_with_the_elastic_field():
    warp = KnownWarp.random(SIZE, np.random.default_rng(0))
    # reference: cv2.warpAffine of the coordinate ramps (exact for a linear
    # field inside the image), read at identity + elastic by cv2.remap
    ramps = identity_map(SIZE, SIZE)
    affine_field = np.stack([
        cv2.warpAffine(ramps[..., i], warp.affine.astype(np.float64),
                       (SIZE, SIZE),
                       flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                       borderMode=cv2.BORDER_REPLICATE) for i in range(2)
    ], -1)
    points = ramps + warp.elastic
    expected = cv2.remap(affine_field, points[..., 0], points[..., 1],
                         cv2.INTER_LINEAR)
    # where neither cv2 read leaves the image (border values are not linear)
    interior = ((points >= 0) & (points <= SIZE - 1)).all(-1)
    interior &= ((expected >= 0.5) & (expected <= SIZE - 1.5)).all(-1)
    assert interior.mean() > 0.3
    # cv2's bilinear weights are quantised to 1/32 pixel
    np.testing.assert_allclose(warp.sampling_map()[interior],
                               expected[interior], atol=0.06)


def test_correspondence_inverts_the_sampling_map():
    size = 64
    warp = KnownWarp.random(size, np.random.default_rng(1))
    corr, valid = warp.correspondence()
    assert valid.mean() > 0.6
    np.testing.assert_allclose(warp.map_at(corr)[valid],
                               identity_map(size, size)[valid], atol=0.05)
    # the exemplar read at the correspondence gives the photo back
    photo = cv2.resize(skimage.data.astronaut(), (size, size),
                       interpolation=cv2.INTER_AREA).astype(np.float32)
    photo = cv2.GaussianBlur(photo, (0, 0), 2)
    exemplar = remap(photo, warp.sampling_map())
    back = remap(exemplar, corr)
    interior = valid & cv2.erode(valid.astype(np.uint8), np.ones((5, 5))
                                 ).astype(bool)
    error = np.abs(back - photo)[interior].mean()
    assert error < 0.1 * np.abs(exemplar - photo)[interior].mean()


def test_stereo_correspondence_reads_the_left_image_from_the_right():
    left, right, disparity = skimage.data.stereo_motorcycle()
    corr, valid = stereo_correspondence(disparity)
    assert 0.8 < valid.mean() < 1
    read = remap(right.astype(np.float32), corr)
    error = np.abs(read - left).mean(-1)[valid].mean()
    unshifted = np.abs(right.astype(np.float32) - left).mean(-1)[valid].mean()
    assert error < 0.3 * unshifted


def test_pooling_ignores_invalid_pixels_and_marks_sparse_cells():
    corr = identity_map(SIZE, SIZE)
    valid = np.ones((SIZE, SIZE), bool)
    corr[:STRIDE, :STRIDE] = 1000  # garbage under an invalid mask ...
    valid[:STRIDE, :STRIDE] = False
    valid[STRIDE:STRIDE + 1, :STRIDE] = False  # ... and a 3/4-valid cell
    cells, cell_valid = cell_correspondence(corr, valid)
    assert not cell_valid[0, 0, 0] and cell_valid[0, 1, 0]
    assert cells[0, 1, 0].tolist() == pytest.approx([0.0, 1 + 0.5 / STRIDE])
