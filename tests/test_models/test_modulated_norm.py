import pytest
import torch
import torch.nn.functional as F

from mclnet_plugin.models.modulated_norm import modulated_norm
from mclnet_plugin.models.spade_modules import SPADE, SPADEResBlock
from tests.saved_tensors import saved_bytes


def plain_formula(x, gamma, beta, dims, eps, negative_slope):
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean)**2).mean(dim=dims, keepdim=True)
    out = (x - mean) / torch.sqrt(var + eps) * (1 + gamma) + beta
    return out if negative_slope is None else F.leaky_relu(
        out, negative_slope)


@pytest.mark.parametrize('dims', [(1, ), (2, 3)])
@pytest.mark.parametrize('negative_slope', [None, 0.2])
def test_values_and_gradients_match_the_formula(dims, negative_slope):
    generator = torch.Generator().manual_seed(0)
    tensors = [
        3 * torch.randn(2, 6, 5, 4, generator=generator, dtype=torch.float64)
        + 1 for _ in range(3)
    ]
    grad_out = torch.randn(2, 6, 5, 4, generator=generator,
                           dtype=torch.float64)
    results = []
    for function in (modulated_norm, plain_formula):
        inputs = [t.clone().requires_grad_() for t in tensors]
        out = function(*inputs, dims, 1e-5, negative_slope)
        out.backward(grad_out)
        results.append([out] + [t.grad for t in inputs])
    for fused, reference in zip(*results):
        torch.testing.assert_close(fused, reference)
    assert torch.autograd.gradcheck(
        lambda *t: modulated_norm(*t, dims, 1e-5, negative_slope),
        [t[:1, :3, :3, :3].clone().requires_grad_() for t in tensors])


def test_keeps_fewer_tensors_for_backward():
    x, gamma, beta = (torch.randn(1, 32, 16, 16, requires_grad=True)
                      for _ in range(3))
    full_size = x.numel() * x.element_size()

    def saved_by(function):
        return saved_bytes(lambda: function(x, gamma, beta, (1, ), 1e-5, 0.2))

    # x, γ and the output, plus per-position statistics
    assert saved_by(modulated_norm) < 3.2 * full_size
    assert saved_by(plain_formula) > 5 * full_size


def test_gradients_where_only_some_inputs_need_them():
    x = torch.randn(1, 4, 3, 3, requires_grad=True)
    gamma, beta = torch.randn(1, 4, 3, 3), torch.randn(1, 4, 3, 3)
    modulated_norm(x, gamma, beta, (1, ), negative_slope=0.2).sum().backward()
    expected = torch.autograd.grad(
        plain_formula(x, gamma, beta, (1, ), 1e-5, 0.2).sum(), x)[0]
    torch.testing.assert_close(x.grad, expected)


def test_rejects_a_slope_whose_sign_it_cannot_read():
    x = torch.randn(1, 2, 2, 2)
    with pytest.raises(ValueError, match='negative_slope'):
        modulated_norm(x, x, x, (1, ), negative_slope=0.0)


@pytest.mark.parametrize('norm_type', ['positional', 'instance', 'batch'])
def test_spade_activation_is_the_blocks_leaky_relu(norm_type):
    torch.manual_seed(0)
    spade = SPADE(6, cond_channels=3, norm_type=norm_type, hidden_channels=8)
    x = torch.randn(2, 6, 8, 8)
    cond = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(
        spade(x, cond, negative_slope=0.2),
        F.leaky_relu(spade(x, cond), 0.2))


def test_resblock_gradients_under_bf16_autocast_stay_close_to_fp32():
    torch.manual_seed(0)
    block = SPADEResBlock(8, 4, 3, hidden_channels=8,
                          with_spectral_norm=False)
    x = torch.randn(2, 8, 8, 8, requires_grad=True)
    cond = torch.randn(2, 3, 8, 8)
    block(x, cond).square().mean().backward()
    reference = x.grad.clone()
    x.grad = None
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = block(x, cond)
    out.float().square().mean().backward()
    assert x.grad.dtype == torch.float32
    cosine = F.cosine_similarity(x.grad.flatten(), reference.flatten(), 0)
    assert cosine > 0.99
