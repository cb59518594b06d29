"""guarded_update: a finite step is exactly update_params; a non-finite loss
or gradient never reaches the weights or the optimizer states."""
import logging

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper

from mclnet_plugin.models.guarded_update import (guarded_update,
                                                 nonfinite_gradients)


def linear_and_wrapper(optimizer='sgd'):
    torch.manual_seed(0)
    module = nn.Linear(3, 2)
    if optimizer == 'sgd':
        optim = torch.optim.SGD(module.parameters(), lr=0.5)
    else:
        optim = torch.optim.Adam(module.parameters(), lr=0.1)
    return module, OptimWrapper(optim)


def squared_loss(module):
    loss = module(torch.ones(1, 3)).pow(2).sum()
    return loss, dict(loss_sq=loss.detach())


@pytest.fixture
def warnings():
    """The warnings guarded_update logs through MMEngine's current
    logger."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_a_finite_step_is_plain_sgd():
    module, wrapper = linear_and_wrapper()
    before = [p.detach().clone() for p in module.parameters()]
    loss, log_vars = squared_loss(module)
    out = module(torch.ones(1, 3))
    # d/dW sum((Wx + b)^2) = 2 (Wx + b) x^T, d/db = 2 (Wx + b)
    grad_weight = 2 * out.detach().T @ torch.ones(1, 3)
    grad_bias = 2 * out.detach()[0]
    assert guarded_update(wrapper, loss, log_vars, module, 'gen') == {}
    torch.testing.assert_close(module.weight, before[0] - 0.5 * grad_weight)
    torch.testing.assert_close(module.bias, before[1] - 0.5 * grad_bias)
    assert all(p.grad is None or not p.grad.any()
               for p in module.parameters())


@pytest.mark.parametrize('bad', [float('nan'), float('inf'), -float('inf')])
def test_a_nonfinite_loss_is_skipped_and_named(bad, warnings):
    module, wrapper = linear_and_wrapper('adam')
    before = [p.detach().clone() for p in module.parameters()]
    loss, log_vars = squared_loss(module)
    log_vars['loss_mcl'] = torch.tensor(bad)
    result = guarded_update(wrapper, loss * bad, log_vars, module, 'gen')
    assert set(result) == {'skipped_gen'} and result['skipped_gen'] == 1
    for param, old in zip(module.parameters(), before):
        assert torch.equal(param, old)
        assert param.grad is None or not param.grad.any()
    assert not wrapper.optimizer.state  # Adam never stepped
    assert any(f'loss_mcl={bad}' in record.getMessage()
               and 'gen step is skipped' in record.getMessage()
               for record in warnings)


def test_a_nonfinite_gradient_of_a_finite_loss_is_skipped_and_named(
        warnings):
    module, wrapper = linear_and_wrapper('adam')
    before = module.bias.detach().clone()
    module.bias.register_hook(lambda grad: grad * float('nan'))
    loss, log_vars = squared_loss(module)
    assert torch.isfinite(loss)
    result = guarded_update(wrapper, loss, log_vars, module, 'disc')
    assert set(result) == {'skipped_disc'}
    assert torch.equal(module.bias, before)
    assert not wrapper.optimizer.state
    assert any('non-finite gradients of 1 parameters (first: bias)' in
               record.getMessage() for record in warnings)


def test_nonfinite_gradients_names_exactly_the_broken_parameters():
    module = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    assert nonfinite_gradients(module) == []  # no gradients yet
    for param in module.parameters():
        param.grad = torch.ones_like(param)
    assert nonfinite_gradients(module) == []
    module[1].weight.grad[0, 1] = float('inf')
    assert nonfinite_gradients(module) == ['1.weight']


class ScaledOptimWrapper(OptimWrapper):
    """What MMEngine's AmpOptimWrapper does around a step (it needs a GPU):
    a dynamic loss scale that skips overflowing steps."""

    def __init__(self, optimizer):
        super().__init__(optimizer)
        self.loss_scaler = torch.amp.GradScaler('cpu', init_scale=2.**10)

    def backward(self, loss, **kwargs):
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs):
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update()


def test_an_fp16_overflow_is_the_scalers_skip_and_reported():
    module, _ = linear_and_wrapper()
    wrapper = ScaledOptimWrapper(torch.optim.SGD(module.parameters(), lr=1))
    before = module.weight.detach().clone()
    module.weight.register_hook(lambda grad: grad * float('inf'))
    loss, log_vars = squared_loss(module)
    result = guarded_update(wrapper, loss, log_vars, module, 'gen')
    assert set(result) == {'scaler_skipped_gen'}
    assert torch.equal(module.weight, before)
    assert wrapper.loss_scaler.get_scale() == 2.**9
