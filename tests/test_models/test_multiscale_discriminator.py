import pytest
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS

from mclnet_plugin.models.multiscale_discriminator import \
    MultiScaleDiscriminator


def test_scales_layers_and_spatial_sizes():
    disc = MODELS.build(
        dict(type='MultiScaleDiscriminator', in_channels=6, base_channels=4))
    x = torch.randn(2, 6, 64, 64, requires_grad=True)
    outputs = disc(x)
    assert len(outputs) == 2 and all(len(o) == 5 for o in outputs)
    # kernel 4, padding 1 (CoCosNet): stride 2 halves H, stride 1 gives H − 1
    full, half = ([tuple(f.shape[1:]) for f in scale] for scale in outputs)
    assert full == [(4, 32, 32), (8, 16, 16), (16, 8, 8), (32, 7, 7),
                    (1, 6, 6)]
    assert half == [(4, 16, 16), (8, 8, 8), (16, 4, 4), (32, 3, 3), (1, 2, 2)]
    # padding 2 (SPADE): stride 2 gives H/2 + 1, stride 1 gives H + 1
    spade = MultiScaleDiscriminator(6, base_channels=4, padding=2)
    assert [tuple(f.shape[1:]) for f in spade(x)[0]] == [
        (4, 33, 33), (8, 17, 17), (16, 9, 9), (32, 10, 10), (1, 11, 11)]
    sum(o[-1].mean() for o in outputs).backward()
    assert x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in disc.parameters())


def test_widths_capped_and_norms():
    disc = MultiScaleDiscriminator(
        3, num_discriminators=3, base_channels=2, num_layers=6, padding=2)
    layers = disc.discriminators[0].layers
    assert [layer.out_channels for layer in layers] == [2, 4, 8, 16, 16, 16, 1]
    assert [layer.stride for layer in layers] == [(2, 2)] * 5 + [(1, 1)] * 2
    with_norm = [layer.with_norm for layer in layers]
    assert with_norm == [False] + [True] * 5 + [False]
    assert layers[-1].with_activation is False
    convs = [m for m in disc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 21 and all(hasattr(c, 'weight_orig') for c in convs)
    assert len(disc(torch.randn(1, 3, 32, 32))) == 3


def test_downsampling_between_scales():
    disc = MultiScaleDiscriminator(
        2, base_channels=2, with_spectral_norm=False, padding=2)
    x = torch.randn(1, 2, 16, 16)
    seen = []
    disc.discriminators[1].register_forward_pre_hook(
        lambda module, args: seen.append(args[0]))
    disc(x)
    # count_include_pad=False: border windows average only real pixels
    summed = F.avg_pool2d(x, 3, 2, 1, count_include_pad=True) * 9
    counts = F.avg_pool2d(
        torch.ones_like(x), 3, 2, 1, count_include_pad=True) * 9
    torch.testing.assert_close(seen[0], summed / counts)
    assert not any(hasattr(m, 'weight_orig') for m in disc.modules())


def test_attention_before_the_last_inner_conv():
    from mmagic.models.editors.biggan.biggan_modules import SelfAttentionBlock
    disc = MultiScaleDiscriminator(6, base_channels=8, use_attention=True)
    seen = []
    for scale in disc.discriminators:
        assert isinstance(scale.attention, SelfAttentionBlock)
        with torch.no_grad():
            scale.attention.gamma.fill_(0.5)
        scale.attention.register_forward_hook(
            lambda m, args, out: seen.append(tuple(args[0].shape[1:])))
    x = torch.randn(1, 6, 64, 64, requires_grad=True)
    outputs = disc(x)
    # CoCosNet: on the 4b-wide output of the third conv, 1/8 of each scale
    assert seen == [(32, 8, 8), (32, 4, 4)]
    sum(o[-1].mean() for o in outputs).backward()
    for name, param in disc.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match='even size'):
        MultiScaleDiscriminator(
            6, base_channels=8, padding=2, use_attention=True)(x)
    with pytest.raises(ValueError, match='num_layers ≥ 2'):
        MultiScaleDiscriminator(6, num_layers=1, use_attention=True)
    with pytest.raises(ValueError, match='C/8'):
        MultiScaleDiscriminator(
            6, base_channels=4, num_layers=2, use_attention=True)


def test_clear_errors():
    disc = MultiScaleDiscriminator(6, base_channels=2)
    with pytest.raises(ValueError, match=r'\(B, 6, H, W\)'):
        disc(torch.randn(1, 3, 16, 16))
    with pytest.raises(ValueError, match='must be ≥ 1'):
        MultiScaleDiscriminator(6, num_discriminators=0)
