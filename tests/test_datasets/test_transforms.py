import cv2
import numpy as np
import pytest

from mclnet_plugin.datasets import CannyEdges, PseudoExemplar


def square_image():
    image = np.zeros((32, 32, 3), np.uint8)
    image[8:24, 8:24] = (200, 120, 40)
    return image


def test_canny_edges_trace_the_square_border():
    results = CannyEdges(key='gt', out_key='cond')(dict(gt=square_image()))
    edges = results['cond']
    assert edges.shape == (32, 32, 1) and edges.dtype == np.float32
    rows, cols = np.nonzero(edges[..., 0])
    # every edge pixel lies within one pixel of the square's outline
    near_outline = (np.minimum(np.abs(rows - 8), np.abs(rows - 23)) <= 1) | (
        np.minimum(np.abs(cols - 8), np.abs(cols - 23)) <= 1)
    assert len(rows) > 40 and near_outline.all()
    assert edges[16, 16, 0] == 0 and edges[2, 2, 0] == 0
    grey = cv2.cvtColor(square_image(), cv2.COLOR_RGB2GRAY)
    expected = cv2.Canny(cv2.GaussianBlur(grey, (3, 3), 0), 60, 140) > 0
    np.testing.assert_array_equal(edges[..., 0] > 0, expected)


def test_canny_edges_rejects_float_images():
    with pytest.raises(ValueError, match='must be uint8'):
        CannyEdges()(dict(gt=np.zeros((4, 4, 3), np.float32)))


def test_pseudo_exemplar_without_augmentation_is_the_ground_truth():
    transform = PseudoExemplar(
        degrees=0, scale=(1, 1), translate=0, brightness=0, contrast=0, hue=0)
    results = transform(dict(gt=square_image()))
    assert results['is_pseudo_pair'] is True
    # only the RGB -> HSV -> RGB round trip may move a colour by a level
    assert np.abs(results['exemplar'].astype(int) -
                  square_image().astype(int)).max() <= 2


def test_pseudo_exemplar_moves_and_recolours():
    np.random.seed(0)
    results = PseudoExemplar(degrees=0, scale=(1, 1), translate=0.2,
                             brightness=0, contrast=0, hue=0)(
                                 dict(gt=square_image()))
    moved = results['exemplar']
    assert not np.array_equal(moved, square_image())
    np.random.seed(0)
    dim = square_image() // 2  # no clipping at 255 after brightening
    recoloured = PseudoExemplar(degrees=0, scale=(1, 1), translate=0,
                                brightness=0.5, contrast=0, hue=0)(
                                    dict(gt=dim))['exemplar']
    # a pure brightness factor: every channel scaled alike
    ratio = recoloured[16, 16].astype(float) / dim[16, 16]
    assert np.allclose(ratio, ratio[0], atol=0.05) and abs(ratio[0] - 1) > 0.01


def test_pseudo_exemplar_prob_zero_keeps_the_retrieved_exemplar():
    retrieved = np.full((32, 32, 3), 7, np.uint8)
    results = PseudoExemplar(prob=0.0)(
        dict(gt=square_image(), exemplar=retrieved))
    assert results['is_pseudo_pair'] is False
    assert results['exemplar'] is retrieved
    with pytest.raises(KeyError, match="no 'exemplar'"):
        PseudoExemplar(prob=0.0)(dict(gt=square_image()))
    with pytest.raises(ValueError, match='prob'):
        PseudoExemplar(prob=1.5)
