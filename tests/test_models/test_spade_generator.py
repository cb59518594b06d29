import pytest
import torch
from mmagic.registry import MODELS

from mclnet_plugin.models.spade_generator import SPADEGenerator

TINY = dict(base_channels=4, hidden_channels=8)


@pytest.mark.parametrize('size', [64, 128])
def test_tiny_output_shape_range_and_gradients(size):
    generator = SPADEGenerator(cond_channels=5, use_attention=True, **TINY)
    with torch.no_grad():
        generator.attention.gamma.fill_(0.5)  # let gradients reach it all
    cond = torch.randn(1, 5, size, size // 2, requires_grad=True)
    image = generator(cond)
    assert image.shape == (1, 3, size, size // 2)
    assert image.abs().max() <= 1
    image.square().mean().backward()
    assert cond.grad.abs().sum() > 0
    for name, param in generator.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def _block_sizes(generator, cond):
    sizes = []
    for module in [generator.head, *generator.middle, *generator.up_blocks]:
        module.register_forward_hook(
            lambda m, args, out: sizes.append(tuple(out.shape[1:])))
    generator(cond)
    return sizes


def test_normal_layout_counts_five_upsamplings():
    generator = SPADEGenerator(cond_channels=2, **TINY)
    with torch.no_grad():
        sizes = _block_sizes(generator, torch.randn(1, 2, 64, 32))
    # 2×1 start; ↑ after the head, then ↑ before each width-changing block
    assert sizes == [(64, 2, 1), (64, 4, 2), (64, 4, 2), (32, 8, 4),
                     (16, 16, 8), (8, 32, 16), (4, 64, 32)]


@pytest.mark.parametrize('num_upsamples,middle_sizes', [(4, [4, 4, 4]),
                                                        (6, [1, 2, 4])])
def test_other_depths(num_upsamples, middle_sizes):
    generator = SPADEGenerator(
        cond_channels=2, num_upsamples=num_upsamples, **TINY)
    with torch.no_grad():
        sizes = _block_sizes(generator, torch.randn(1, 2, 64, 64))
    assert [s[1] for s in sizes[:3]] == middle_sizes
    assert sizes[-1] == (4, 64, 64)


def test_registry_defaults_and_clear_errors():
    generator = MODELS.build(dict(type='SPADEGenerator', cond_channels=154))
    assert generator.stem.out_channels == 1024
    assert generator.up_blocks[-1].conv2.out_channels == 64
    assert generator.attention is None and generator.num_upsamples == 5
    assert hasattr(generator.head.conv1.conv, 'weight_orig')
    with pytest.raises(ValueError, match='divisible by 32'):
        generator.start_size(256, 250)
    with pytest.raises(ValueError, match=r'\(B, 154, H, W\)'):
        generator(torch.randn(1, 3, 64, 64))
    with pytest.raises(ValueError, match='4, 5 or 6'):
        SPADEGenerator(3, num_upsamples=7)
    with pytest.raises(ValueError, match='base_channels ≥ 2'):
        SPADEGenerator(3, base_channels=1, use_attention=True)


def test_attention_is_biggan_style_on_the_upsampled_4b_map():
    from mmagic.models.editors.biggan.biggan_modules import SelfAttentionBlock
    generator = SPADEGenerator(cond_channels=2, use_attention=True, **TINY)
    assert isinstance(generator.attention, SelfAttentionBlock)
    seen = []
    generator.attention.register_forward_hook(
        lambda m, args, out: seen.append(tuple(args[0].shape[1:])))
    with torch.no_grad():
        generator(torch.randn(1, 2, 64, 32))
    # CoCosNet: after up_1 (8b → 4b at 16×8 here) and the ×2 upsampling,
    # before up_2 — half the output size (128×128 for 256×256)
    assert seen == [(16, 32, 16)]
