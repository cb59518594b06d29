import pytest
import torch
from mmagic.registry import MODELS

from mclnet_plugin.models import CorrespondenceEncoder

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
    # spectral norm on every conv, as CoCosNet's adaptors
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(hasattr(c, 'weight_orig') for c in convs)


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
