import pytest
import torch

from mclnet_plugin.models.correspondence import (cosine_softmax_warp,
                                                 neighbourhood_softmax_warp)
from mclnet_plugin.models.neighbourhood_similarity import neighbourhood_cosine
from .test_correspondence_net import naive_vectors


def feature_maps(seed=0, query_hw=(5, 6), key_hw=(4, 7), channels=3):
    generator = torch.Generator().manual_seed(seed)
    make = lambda hw: torch.randn(  # noqa: E731
        2, channels, *hw, dtype=torch.float64, generator=generator,
        requires_grad=True)
    return make(query_hw), make(key_hw)


@pytest.mark.parametrize('kernel, center', [(3, True), (3, False), (1, True),
                                            (5, True), (5, False)])
def test_cosine_equals_unfolded_vectors(kernel, center):
    query, key = feature_maps()
    expected = naive_vectors(query, kernel, center) @ naive_vectors(
        key, kernel, center).transpose(1, 2)
    ours = neighbourhood_cosine(query, key, kernel, center)
    torch.testing.assert_close(ours, expected)
    # a band of query rows is the same band of the whole matrix
    torch.testing.assert_close(
        neighbourhood_cosine(query, key, kernel, center, rows=(1, 4)),
        expected[:, 6:24])
    upstream = torch.randn_like(expected)
    grads = torch.autograd.grad((ours * upstream).sum(), (query, key))
    expected_grads = torch.autograd.grad((expected * upstream).sum(),
                                         (query, key))
    for grad, expected_grad in zip(grads, expected_grads):
        torch.testing.assert_close(grad, expected_grad)


def test_cosine_gradcheck():
    query, key = feature_maps(query_hw=(3, 4), key_hw=(3, 3), channels=2)
    assert torch.autograd.gradcheck(
        lambda q, k: neighbourhood_cosine(q, k, 3, True, rows=(1, 3)),
        (query, key))


def test_constant_neighbourhoods_stay_finite():
    """A centred constant neighbourhood has norm 0: the cosine is 0, as
    F.normalize's eps gives, and gradients are finite."""
    query = torch.ones(1, 4, 5, 5, requires_grad=True)
    key = torch.randn(1, 4, 5, 5, requires_grad=True)
    cosine = neighbourhood_cosine(query, key, 3, True)
    cosine.sum().backward()
    assert torch.isfinite(cosine).all()
    assert torch.isfinite(query.grad).all() and torch.isfinite(key.grad).all()


@pytest.mark.parametrize('chunk_size', [None, 1, 6, 7, 100])
def test_warp_equals_the_vector_warp(chunk_size):
    query, key = feature_maps()
    value = torch.randn(2, 28, 4, dtype=torch.float64, requires_grad=True)
    expected = cosine_softmax_warp(naive_vectors(query), naive_vectors(key),
                                   value, 0.1)
    ours = neighbourhood_softmax_warp(query, key, value, 0.1, 3, True,
                                      chunk_size)
    torch.testing.assert_close(ours, expected)
    upstream = torch.randn_like(expected)
    inputs = (query, key, value)
    grads = torch.autograd.grad((ours * upstream).sum(), inputs)
    expected_grads = torch.autograd.grad((expected * upstream).sum(), inputs)
    for grad, expected_grad in zip(grads, expected_grads):
        torch.testing.assert_close(grad, expected_grad)


def test_warp_runs_in_fp32_under_bf16_autocast():
    query, key = (t.detach().float() for t in feature_maps())
    value = torch.randn(2, 28, 3)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        warped = neighbourhood_softmax_warp(query.bfloat16(), key, value,
                                            0.01)
    assert warped.dtype == torch.float32
    torch.testing.assert_close(
        warped,
        neighbourhood_softmax_warp(query.bfloat16().float(), key, value,
                                   0.01))


def test_warp_bad_inputs_are_clear_errors():
    query, key = feature_maps()
    value = torch.randn(2, 28, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match='feature maps'):
        neighbourhood_softmax_warp(query.flatten(2), key, value)
    with pytest.raises(ValueError, match='one row per key position'):
        neighbourhood_softmax_warp(query, key, value[:, :5])
    with pytest.raises(ValueError, match='odd'):
        neighbourhood_cosine(query, key, 2)
