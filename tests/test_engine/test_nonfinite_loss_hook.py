"""NonFiniteLossHook on a real Runner: skipped steps are logged with the
iteration and the loss, counted across a resume, and 'stop' ends the run
with a checkpoint whose generator is the last finite one."""
import pytest
import torch
from mmengine.runner import Runner

from mclnet_plugin.engine import NonFiniteLossError, NonFiniteLossHook
from tests.tiny_configs import tiny_demo_config


def runner_with_nan_mcl_at(tmp_path, iterations, max_iters, **hook):
    """A tiny demo Runner whose MCL loss is NaN at the given (1-based)
    iterations."""
    cfg = tiny_demo_config(tmp_path, max_iters=max_iters)
    cfg.custom_hooks = []
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.nonfinite.update(hook)
    runner = Runner.from_cfg(cfg)
    losses = runner.model.generator_losses

    def faulty(*args, **kwargs):
        result = losses(*args, **kwargs)
        if runner.iter + 1 in iterations:
            result['loss_mcl'] = result['loss_mcl'] * float('nan')
        return result

    runner.model.generator_losses = faulty
    return runner


def load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def test_skipped_steps_are_logged_counted_and_training_goes_on(tmp_path):
    runner = runner_with_nan_mcl_at(tmp_path, {2, 3}, 4)
    runner.train()
    assert runner.iter == 4
    assert runner.message_hub.get_info('nonfinite_skips') == 2
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'iteration 2: non-finite loss_mcl=nan, loss_gen=nan; the ' \
        'generator step skipped (1 skipped steps so far, 1 in a row)' in log
    assert '(2 skipped steps so far, 2 in a row)' in log
    weights = load(tmp_path / 'iter_4.pth')['state_dict']
    assert all(torch.isfinite(value).all() for value in weights.values())
    # the count is in the checkpoint and goes on after a resume
    resumed = runner_with_nan_mcl_at(tmp_path, {5}, 6)
    resumed._resume = True
    resumed.train()
    assert resumed.message_hub.get_info('nonfinite_skips') == 3


@pytest.mark.parametrize('hook', [
    dict(action='stop'),
    dict(action='skip', max_consecutive=2),
])
def test_stop_saves_the_last_finite_state(tmp_path, hook):
    first_nan = 3
    runner = runner_with_nan_mcl_at(
        tmp_path, set(range(first_nan, 7)), 6, **hook)
    stop_at = first_nan + hook.get('max_consecutive', 1) - 1
    saved = tmp_path / f'last_finite_iter_{stop_at - 1}.pth'
    with pytest.raises(
            NonFiniteLossError,
            match=f'iteration {stop_at}: non-finite loss_mcl=nan.*Stopped; '
            f'the last finite weights and optimizer states are in {saved}'):
        runner.train()
    # the generator never took a step after iteration 2's checkpoint
    good, last = (load(path) for path in (tmp_path / 'iter_2.pth', saved))
    for key, value in good['state_dict'].items():
        if key.startswith(('generator.', 'generator_ema.')) and \
                not key.endswith(('_u', '_v')):
            assert torch.equal(last['state_dict'][key], value), key
    assert good['optimizer']['generator']['state'].keys() == \
        last['optimizer']['generator']['state'].keys()
    assert not list(tmp_path.glob('.*partial'))


def test_hook_arguments_are_checked():
    with pytest.raises(ValueError, match="action must be one of"):
        NonFiniteLossHook(action='ignore')
    with pytest.raises(ValueError, match='max_consecutive must be >= 1'):
        NonFiniteLossHook(max_consecutive=0)
