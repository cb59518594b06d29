import pytest
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS

from mclnet_plugin.models.spade_modules import (SPADE, PositionalNorm2d,
                                                SPADEResBlock)


def test_positional_norm_matches_formula():
    x = 3 * torch.randn(2, 6, 5, 4) + 1
    mean = x.mean(dim=1, keepdim=True)
    var = ((x - mean)**2).mean(dim=1, keepdim=True)
    expected = (x - mean) / torch.sqrt(var + 1e-5)
    torch.testing.assert_close(PositionalNorm2d()(x), expected)
    assert not list(PositionalNorm2d().parameters())


@pytest.mark.parametrize('norm_type', ['instance', 'batch', 'positional'])
def test_spade_is_modulated_norm(norm_type):
    spade = SPADE(6, cond_channels=3, norm_type=norm_type, hidden_channels=8)
    x = torch.randn(2, 6, 8, 8)
    cond = torch.randn(2, 3, 8, 8)
    reference = {
        'instance': lambda t: F.instance_norm(t, eps=1e-5),
        'batch': lambda t: F.batch_norm(t, None, None, training=True),
        'positional': PositionalNorm2d(),
    }[norm_type]
    hidden = F.relu(spade.shared.conv(cond))
    gamma, beta = spade.to_gamma(hidden), spade.to_beta(hidden)
    expected = reference(x) * (1 + gamma) + beta
    torch.testing.assert_close(spade(x, cond), expected)
    assert not list(spade.norm.parameters())


def test_spade_depends_on_cond_resized_nearest():
    spade = SPADE(4, cond_channels=2, hidden_channels=8)
    x = torch.randn(1, 4, 8, 8)
    cond = torch.randn(1, 2, 4, 4)
    # nearest ×2 is each value repeated on a 2×2 block
    upsampled = cond.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    torch.testing.assert_close(spade(x, cond), spade(x, upsampled))
    assert not torch.allclose(spade(x, cond), spade(x, cond + 1))
    with pytest.raises(ValueError, match='norm_type'):
        SPADE(4, 2, norm_type='layer')


def test_resblock_identity_and_learned_shortcut():
    cond = torch.randn(2, 3, 4, 4)
    x = torch.randn(2, 8, 8, 8)
    same = SPADEResBlock(8, 8, 3, hidden_channels=8)
    assert not same.learned_shortcut and not hasattr(same, 'shortcut_conv')
    assert same.shortcut(x, cond) is x
    assert same.conv1.out_channels == 8

    # eval: spectral norm then reuses its power-iteration vector
    changed = SPADEResBlock(8, 4, 3, hidden_channels=8).eval()
    assert changed.learned_shortcut
    assert changed.conv1.out_channels == 4  # mid = min(in, out)
    assert changed.shortcut_conv.conv.bias is None
    assert changed.shortcut_conv.kernel_size == (1, 1)
    expected_shortcut = changed.shortcut_conv(changed.shortcut_norm(x, cond))
    residual = changed.conv1(F.leaky_relu(changed.norm1(x, cond), 0.2))
    residual = changed.conv2(F.leaky_relu(changed.norm2(residual, cond), 0.2))
    out = changed(x, cond)
    assert out.shape == (2, 4, 8, 8)
    torch.testing.assert_close(out, expected_shortcut + residual)


def test_resblock_spectral_norm_on_block_convs_only():
    block = MODELS.build(
        dict(
            type='SPADEResBlock',
            in_channels=8,
            out_channels=4,
            cond_channels=3,
            hidden_channels=8))
    for conv in (block.conv1, block.conv2, block.shortcut_conv):
        assert hasattr(conv.conv, 'weight_orig')
    assert not hasattr(block.norm1.to_gamma, 'weight_orig')
    plain = SPADEResBlock(8, 4, 3, hidden_channels=8, with_spectral_norm=False)
    assert not any(hasattr(m, 'weight_orig') for m in plain.modules())
