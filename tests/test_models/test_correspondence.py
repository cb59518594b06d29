import pytest
import torch
import torch.nn.functional as F

from mclnet_plugin.models.correspondence import (auto_chunk_size,
                                                 cosine_softmax_warp,
                                                 cosine_softmax_warp_back)


def naive_correspondence(query, key, temperature):
    """T of the paper: softmax over exemplar positions of the cosines."""
    similarity = F.normalize(query, dim=-1) @ F.normalize(key, dim=-1).t()
    return (similarity / temperature).softmax(dim=-1)  # (N, M)


def naive_warp(query, key, value, temperature):
    return torch.stack([
        naive_correspondence(q, k, temperature) @ v
        for q, k, v in zip(query, key, value)
    ])


def random_inputs(batch=2, num_queries=13, num_keys=11, channels=6, depth=3,
                  dtype=torch.float64):
    make = lambda *shape: torch.randn(  # noqa: E731
        *shape, dtype=dtype, requires_grad=True)
    return (make(batch, num_queries, channels),
            make(batch, num_keys, channels), make(batch, num_keys, depth))


@pytest.mark.parametrize('chunk_size', [None, 1, 4, 13, 100])
def test_warp_equals_plain_formula_values_and_gradients(chunk_size):
    query, key, value = random_inputs()
    ours = cosine_softmax_warp(query, key, value, 0.1, chunk_size)
    reference = naive_warp(query, key, value, 0.1)
    torch.testing.assert_close(ours, reference, rtol=1e-10, atol=1e-10)
    upstream = torch.randn_like(ours)
    grads = torch.autograd.grad((ours * upstream).sum(), (query, key, value))
    ref_grads = torch.autograd.grad((reference * upstream).sum(),
                                    (query, key, value))
    for ours_grad, ref_grad in zip(grads, ref_grads):
        torch.testing.assert_close(ours_grad, ref_grad, rtol=1e-10,
                                   atol=1e-10)


def test_gradcheck_chunked_float64():
    query, key, value = random_inputs(batch=1, num_queries=5, num_keys=4,
                                      channels=3, depth=2)
    assert torch.autograd.gradcheck(
        lambda q, k, v: cosine_softmax_warp(q, k, v, 0.5, chunk_size=2),
        (query, key, value))


def test_fp32_result_close_to_fp64_at_paper_temperature():
    query, key, value = random_inputs(num_queries=64, num_keys=64,
                                      channels=32)
    ours = cosine_softmax_warp(query.float(), key.float(), value.float(),
                               0.01, chunk_size=16)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours.double(),
                               naive_warp(query, key, value, 0.01),
                               rtol=1e-4, atol=1e-4)


def test_warp_back_is_transposed_correspondence_eq4():
    query, key, value = random_inputs()
    warped = cosine_softmax_warp(query, key, value, 0.2, chunk_size=3)
    cycled = cosine_softmax_warp_back(query, key, warped, 0.2, chunk_size=3)
    reference = []
    for q, k, v in zip(query, key, value):
        forward = naive_correspondence(q, k, 0.2)  # (N, M)
        # Tᵀ: the same cosines, softmax over the condition axis.
        backward = naive_correspondence(k, q, 0.2)  # (M, N)
        reference.append(backward @ (forward @ v))
    assert cycled.shape == value.shape
    torch.testing.assert_close(cycled, torch.stack(reference), rtol=1e-10,
                               atol=1e-10)


def test_identical_features_warp_onto_themselves():
    feat = F.normalize(torch.randn(1, 50, 64), dim=-1)
    value = torch.randn(1, 50, 3)
    warped = cosine_softmax_warp(feat, feat.clone(), value, 0.01, 7)
    torch.testing.assert_close(warped, value, rtol=0, atol=1e-4)


def test_bf16_autocast_still_computes_in_fp32():
    query, key, value = random_inputs(dtype=torch.float32)
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        ours = cosine_softmax_warp(query, key, value, 0.01, 4)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, naive_warp(query, key, value, 0.01))


def test_chunked_forward_never_saves_the_full_matrix():
    num_queries, num_keys = 96, 80
    query, key, value = random_inputs(1, num_queries, num_keys, 8, 3,
                                      torch.float32)
    saved_sizes = []

    def pack(tensor):
        saved_sizes.append(tensor.numel())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        cosine_softmax_warp(query, key, value, 0.01, chunk_size=16)
    assert max(saved_sizes) < num_queries * num_keys
    saved_sizes.clear()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        naive_warp(query, key, value, 0.01)
    assert max(saved_sizes) >= num_queries * num_keys  # the check can fail


def test_auto_chunk_bounds_the_matrix():
    assert auto_chunk_size(4096) == 256  # 2**20 values at 64×64
    assert auto_chunk_size(1024) == 1024
    assert auto_chunk_size(16384) == 256  # the floor, not 64


def test_clear_errors():
    query, key, value = random_inputs()
    with pytest.raises(ValueError, match='same channel count C'):
        cosine_softmax_warp(query, key[..., :4], value)
    with pytest.raises(ValueError, match='one row per key position'):
        cosine_softmax_warp(query, key, value[:, :5])
    with pytest.raises(ValueError, match='batch size'):
        cosine_softmax_warp(query[:1], key, value)
    with pytest.raises(ValueError, match=r'query \(B, N, C\)'):
        cosine_softmax_warp(query[0], key, value)
    with pytest.raises(ValueError, match='temperature'):
        cosine_softmax_warp(query, key, value, temperature=0)
