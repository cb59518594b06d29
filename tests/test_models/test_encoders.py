import pytest
import torch
from mmagic.registry import MODELS

from mclnet_plugin.models import CorrespondenceEncoder
from mclnet_plugin.models.spade_modules import SPADE

TINY = dict(channels=(8, 16, 16, 32, 32), num_res_blocks=2)


def test_quarter_resolution_features_and_gradients():
    encoder = CorrespondenceEncoder(in_channels=5, out_channels=12, **TINY)
    cond = torch.randn(2, 5, 32, 48, requires_grad=True)
    feat = encoder(cond)
    assert feat.shape == (2, 12, 8, 12)
    assert encoder.downsample_factor == 4
    feat.square().mean().backward()
    assert cond.grad.abs().sum() > 0
    assert all(p.grad is not None for p in encoder.parameters())


def test_paper_defaults_give_64x64_features_for_256_inputs():
    encoder = MODELS.build(dict(type='CorrespondenceEncoder', in_channels=3))
    assert encoder.out_channels == 256 and encoder.downsample_factor == 4
    with torch.no_grad():
        assert encoder(torch.randn(1, 3, 32, 32)).shape == (1, 256, 8, 8)
    # spectral norm on every conv but those predicting SPADE's γ and β, as
    # CoCosNet's adaptors
    spade_convs = {
        id(m)
        for spade in encoder.modules() if isinstance(spade, SPADE)
        for m in spade.modules()
    }
    convs = [
        m for m in encoder.modules()
        if isinstance(m, torch.nn.Conv2d) and id(m) not in spade_convs
    ]
    assert convs and all(hasattr(c, 'weight_orig') for c in convs)
    # CoCosNet's adaptor: 3 SPADE residual blocks 512 → 512 → 512 → 256
    assert [(b.conv1.conv.in_channels, b.conv2.conv.out_channels)
            for b in encoder.res_blocks] == [(512, 512), (512, 512),
                                             (512, 256)]


def test_spade_blocks_are_modulated_by_the_encoder_input():
    encoder = CorrespondenceEncoder(in_channels=5, out_channels=12, **TINY)
    seen = []
    for block in encoder.res_blocks:
        block.register_forward_hook(
            lambda module, args, out: seen.append((args[0].shape, args[1])))
    cond = torch.randn(2, 5, 32, 32)
    feat = encoder(cond)
    assert feat.shape == (2, 12, 8, 8)
    # every block: features on the 8×8 grid, the raw input as SPADE's map
    assert len(seen) == 2
    for feature_shape, modulation in seen:
        assert feature_shape[-2:] == (8, 8)
        assert modulation is cond
    # the stack's last conv is not activated before the blocks (CoCosNet
    # activates before each conv); with plain blocks it is
    assert not encoder.layers[-1].with_activation
    plain = CorrespondenceEncoder(
        in_channels=5, out_channels=12, res_block='plain', **TINY)
    assert plain.layers[4].with_activation


def test_plain_residual_blocks_and_projection():
    encoder = CorrespondenceEncoder(
        in_channels=5, out_channels=12, res_block='plain', **TINY)
    assert not any(isinstance(m, SPADE) for m in encoder.modules())
    # 5 stack convs, 2 residual blocks, the 3×3 projection
    assert len(encoder.layers) == 8
    assert encoder(torch.randn(1, 5, 16, 16)).shape == (1, 12, 4, 4)


def test_instance_norm_makes_features_invariant_to_input_gain():
    encoder = CorrespondenceEncoder(
        in_channels=3, with_spectral_norm=False, **TINY).eval()
    image = torch.rand(1, 3, 16, 16)
    # the first conv (bias-free, as ConvModule drops it before a norm) is
    # followed by instance norm without affine: a gain on the input cancels
    first = encoder.layers[0]
    assert first.conv.bias is None
    out = first(image)
    torch.testing.assert_close(first(3 * image), out, rtol=1e-4, atol=1e-4)


def test_clear_errors():
    encoder = CorrespondenceEncoder(in_channels=151, **TINY)
    with pytest.raises(ValueError, match=r'\(B, 151, H, W\)'):
        encoder(torch.randn(1, 3, 16, 16))
    with pytest.raises(ValueError, match='same length'):
        CorrespondenceEncoder(3, channels=(8, 16), strides=(1, ))
    with pytest.raises(ValueError, match='strides must be 1 or 2'):
        CorrespondenceEncoder(3, channels=(8, ), strides=(3, ))
    with pytest.raises(ValueError, match='res_block must be one of'):
        CorrespondenceEncoder(3, res_block='dense')
    with pytest.raises(ValueError, match='num_res_blocks must be >= 1'):
        CorrespondenceEncoder(3, num_res_blocks=0)
