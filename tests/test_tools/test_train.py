"""tools/train.py and tools/dist_train.sh on a tiny demo config, on CPU."""
import json
import subprocess
import sys

import pytest
import torch
from mmengine.runner import Runner

from tests.tiny_configs import REPO, tiny_demo_config
from tests.tool_modules import load_tool, run_command


def test_runner_trains_checkpoints_and_resumes(tmp_path):
    cfg = tiny_demo_config(tmp_path, max_iters=3)
    runner = Runner.from_cfg(cfg)
    runner.train()
    checkpoint = tmp_path / 'iter_3.pth'
    assert checkpoint.is_file()
    saved = torch.load(checkpoint, map_location='cpu', weights_only=False)
    assert saved['meta']['iter'] == 3
    assert {'generator', 'discriminator'} <= set(saved['optimizer'])

    # the grid hook: before/after grids and the PSNR report
    grids = tmp_path / 'translation_grids'
    assert (grids / 'before_training.png').is_file()
    assert (grids / 'iter_2.png').is_file()
    report = json.loads((grids / 'report.json').read_text())
    assert report['after_training']['psnr_warped'] > 0

    # resume continues from iteration 3 with the saved optimizer state
    cfg = tiny_demo_config(tmp_path, max_iters=5)
    cfg.resume = True
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    assert resumed.iter == 5
    assert (tmp_path / 'iter_5.pth').is_file()


def test_validation_during_training_and_grids_of_the_val_batch(tmp_path):
    cfg = tiny_demo_config(tmp_path, max_iters=2)
    cfg.val_dataloader = cfg.test_dataloader
    cfg.val_cfg = dict(type='ValLoop')
    cfg.val_evaluator = dict(
        type='mmengine.Evaluator',
        metrics=[
            dict(
                type='TranslationPSNR',
                pred_key='warped_exemplar',
                prefix='warped')
        ])
    cfg.train_cfg.val_interval = 2
    cfg.custom_hooks[0].dataloader = 'val'
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert (tmp_path / 'translation_grids' / 'after_training.png').is_file()
    scalars = (
        next(
            tmp_path.glob('*/vis_data/scalars.json')).read_text().splitlines())
    validation = [
        json.loads(line) for line in scalars if '"warped/PSNR"' in line
    ]
    assert validation and validation[-1]['warped/PSNR'] > 0


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU path')
def test_dist_train_sh_runs_two_gloo_processes(tmp_path):
    config = tmp_path / 'tiny.py'
    tiny_demo_config(tmp_path / 'work', max_iters=2).dump(str(config))
    result = run_command([
        'bash', 'tools/dist_train.sh',
        str(config), '2', '--work-dir',
        str(tmp_path / 'work')
    ],
                         PORT='29531',
                         OMP_NUM_THREADS='1')
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
    log = result.stdout + result.stderr
    assert 'world_size: 2' in log or 'Distributed launcher: pytorch' in log


def test_train_py_cfg_options_and_work_dir(tmp_path):
    config = tmp_path / 'tiny.py'
    tiny_demo_config(tmp_path / 'unused', max_iters=5).dump(str(config))
    run_command([
        sys.executable, 'tools/train.py',
        str(config), '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', 'train_cfg.max_iters=1',
        'default_hooks.checkpoint.interval=1', 'custom_hooks=[]'
    ])
    assert (tmp_path / 'work' / 'iter_1.pth').is_file()


def test_train_py_auto_scale_lr_scales_generator_and_discriminator(tmp_path):
    cfg = tiny_demo_config(tmp_path / 'unused', max_iters=1)
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=32)
    cfg.custom_hooks = []
    config = tmp_path / 'tiny.py'
    cfg.dump(str(config))

    runner = load_tool('train.py').main(
        [str(config), '--work-dir',
         str(tmp_path / 'work'), '--auto-scale-lr'])

    # 1 process × batch 2 instead of the 32 the learning rates are for
    assert runner.world_size == 1
    ratio = cfg.train_dataloader.batch_size / 32
    for name in ('generator', 'discriminator'):
        lrs = [
            group['lr']
            for group in runner.optim_wrapper[name].optimizer.param_groups
        ]
        expected = cfg.optim_wrapper[name].optimizer.lr * ratio
        assert lrs == pytest.approx([expected] * len(lrs))


def test_train_py_auto_scale_lr_needs_the_base_batch_size(tmp_path):
    cfg = tiny_demo_config(tmp_path / 'work', max_iters=1)
    cfg.pop('auto_scale_lr', None)
    config = tmp_path / 'tiny.py'
    cfg.dump(str(config))
    with pytest.raises(ValueError, match='auto_scale_lr = dict'):
        load_tool('train.py').main([str(config), '--auto-scale-lr'])


def test_train_py_missing_config_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, 'tools/train.py', 'configs/nope.py'],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300)
    assert result.returncode != 0
    assert 'config file configs/nope.py does not exist' in result.stderr
