"""Two runs of tools/train.py with the same config and seed on the same
machine give bit-identical weights (the demo's reproducibility promise,
README; across CPU models see there)."""
import pytest
import torch

from tests.tiny_configs import tiny_demo_config
from tests.tool_modules import run_command


@pytest.mark.slow
def test_two_runs_give_identical_weights(tmp_path):
    cfg = tiny_demo_config(tmp_path / 'unused', max_iters=2)
    cfg.custom_hooks = []
    config = tmp_path / 'tiny_demo.py'
    cfg.dump(str(config))
    checkpoints = []
    for run in ('a', 'b'):
        work_dir = tmp_path / run
        run_command(
            ['python', 'tools/train.py',
             str(config), '--work-dir',
             str(work_dir)])
        checkpoints.append(
            torch.load(work_dir / 'iter_2.pth', weights_only=False))
    first, second = (c['state_dict'] for c in checkpoints)
    assert set(first) == set(second)
    for key, value in first.items():
        assert torch.equal(value, second[key]), key
    # both trained two steps (Adam has moments), not just initialised alike
    for checkpoint in checkpoints:
        assert checkpoint['meta']['iter'] == 2
        moments = checkpoint['optimizer']['generator']['state'].values()
        assert any(state['exp_avg'].abs().sum() > 0 for state in moments)
