import copy

import pytest
import torch

from mclnet_plugin.models.encoders import CorrespondenceEncoder
from mclnet_plugin.models.matching import MatchingHead
from mclnet_plugin.models.spade_generator import SPADEGenerator
from tests.saved_tensors import saved_bytes


def tiny_encoder(with_cp):
    return CorrespondenceEncoder(
        3, out_channels=8, channels=(4, 8), strides=(1, 2), num_res_blocks=2,
        spade_hidden_channels=4, with_cp=with_cp)


def tiny_generator(with_cp):
    return SPADEGenerator(
        5, base_channels=2, num_upsamples=4, hidden_channels=4,
        with_cp=with_cp)


def spectral_buffers(module):
    return {
        name: buffer.clone()
        for name, buffer in module.named_buffers()
        if name.endswith(('weight_u', 'weight_v'))
    }


def train_twice_through(model, inputs_per_pass):
    """Two forwards of the same module before one backward (as E_Z on the
    exemplar and on the ground truth), then the parameters' gradients and
    the spectral norms' buffers."""
    outputs = [model(*inputs) for inputs in inputs_per_pass]
    loss = sum((out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum()
               for out in outputs)
    loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    return outputs, grads, spectral_buffers(model)


@pytest.mark.parametrize('build, make_inputs', [
    (tiny_encoder, lambda g: [(torch.randn(2, 3, 16, 16, generator=g), )
                              for _ in range(2)]),
    (tiny_generator, lambda g: [(torch.randn(1, 5, 32, 32, generator=g), )
                                for _ in range(2)]),
    (lambda with_cp: MatchingHead(8, num_blocks=2, with_cp=with_cp),
     lambda g: [(torch.randn(2, 8, 6, 6, generator=g), 'cond'),
                (torch.randn(2, 8, 6, 6, generator=g), 'image')]),
])
def test_with_cp_gives_the_same_step(build, make_inputs):
    torch.manual_seed(0)
    reference = build(False)
    checkpointed = build(True)
    checkpointed.load_state_dict(reference.state_dict())
    before = spectral_buffers(reference)
    inputs = make_inputs(torch.Generator().manual_seed(1))
    expected = train_twice_through(reference, inputs)
    got = train_twice_through(checkpointed, copy.deepcopy(inputs))
    for out, out_ref in zip(got[0], expected[0]):
        torch.testing.assert_close(out, out_ref, rtol=0, atol=0)
    assert got[1].keys() == expected[1].keys()
    for name in expected[1]:
        torch.testing.assert_close(got[1][name], expected[1][name],
                                   rtol=1e-6, atol=1e-7, msg=name)
    # one power iteration per forward, as without checkpointing
    for name in expected[2]:
        torch.testing.assert_close(got[2][name], expected[2][name],
                                   rtol=0, atol=0, msg=name)
    if before:
        assert any(not torch.equal(before[n], expected[2][n])
                   for n in before)


def test_with_cp_keeps_only_the_blocks_inputs():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 32, 32)
    checkpointed, plain = tiny_encoder(True), tiny_encoder(False)
    assert saved_bytes(lambda: checkpointed(x)) < 0.7 * saved_bytes(
        lambda: plain(x))


def test_without_autograd_it_runs_the_block_once():
    torch.manual_seed(0)
    plain, checkpointed = tiny_encoder(False), tiny_encoder(True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        expected, got = plain(x), checkpointed(x)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    after_plain, after_checkpointed = (spectral_buffers(plain),
                                       spectral_buffers(checkpointed))
    for name in after_plain:
        torch.testing.assert_close(after_checkpointed[name],
                                   after_plain[name], rtol=0, atol=0)


@pytest.mark.filterwarnings('ignore:torch.utils.checkpoint:UserWarning')
def test_mmengines_generic_checkpointing_of_spectral_norms_is_refused():
    from mmagic.registry import MODELS
    from mmengine.runner import turn_on_activation_checkpointing

    from tests.test_models.test_mclnet import (batch, optim_wrappers,
                                               tiny_model_cfg)
    model = MODELS.build(tiny_model_cfg(vgg=False))
    # the matching head has no spectral norm: its plain recomputation is exact
    turn_on_activation_checkpointing(model,
                                     ['generator.correspondence.matching'])
    model.train_step(batch(), optim_wrappers(model))

    model = MODELS.build(tiny_model_cfg(vgg=False))
    turn_on_activation_checkpointing(
        model, ['generator.correspondence.image_encoder'])
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(RuntimeError,
                       match="wraps 'generator.correspondence.image_encoder'"
                       '.*with_cp=True'):
        model.train_step(batch(), optim_wrappers(model))
    after = model.state_dict()
    assert all(torch.equal(before[key], after[key]) for key in before)
