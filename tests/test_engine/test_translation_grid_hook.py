"""TranslationGridHook: grids and PSNRs in <work_dir>/translation_grids and
in every backend of the runner's visualizer, on the tiny demo config."""
import json

import cv2
import numpy as np
import pytest
from mmengine.runner import Runner

from mclnet_plugin.engine.translation_grid_hook import first_batch
from tests.tiny_configs import SIZE, tiny_demo_config

PSNR_WARPED = 'translation_grids/psnr_warped'


def test_grids_and_psnr_reach_tensorboard(tmp_path):
    accumulator = pytest.importorskip(
        'tensorboard.backend.event_processing.event_accumulator')
    cfg = tiny_demo_config(tmp_path, max_iters=3)
    cfg.visualizer.vis_backends = [
        dict(type='VisBackend'),
        dict(type='TensorboardVisBackend')
    ]
    Runner.from_cfg(cfg).train()

    grids = tmp_path / 'translation_grids'
    report = json.loads((grids / 'report.json').read_text())
    events = accumulator.EventAccumulator(
        str(next(tmp_path.glob('*/vis_data'))),
        size_guidance={
            accumulator.IMAGES: 0,
            accumulator.SCALARS: 0
        })
    events.Reload()
    # before training, iteration 2 (interval 2), after training (3)
    images = events.Images('translation_grids')
    assert [image.step for image in images] == [0, 2, 3]
    first = cv2.imdecode(
        np.frombuffer(images[0].encoded_image_string, np.uint8),
        cv2.IMREAD_COLOR)
    # two samples × condition | exemplar | warped | oracle | output | ground
    # truth, in the same (RGB) colours as the PNG file
    assert first.shape == (2 * SIZE, 6 * SIZE, 3)
    np.testing.assert_array_equal(
        first, cv2.imread(str(grids / 'before_training.png')))
    for key in ('psnr_warped', 'psnr_output'):
        scalars = events.Scalars(f'translation_grids/{key}')
        assert [scalar.step for scalar in scalars] == [0, 2, 3]
        assert scalars[0].value == pytest.approx(
            report['before_training'][key], rel=1e-6)
        assert scalars[-1].value == pytest.approx(
            report['after_training'][key], rel=1e-6)


def test_grids_with_a_plain_mmengine_visualizer(tmp_path):
    cfg = tiny_demo_config(tmp_path, max_iters=2)
    cfg.visualizer = dict(
        type='mmengine.Visualizer',
        vis_backends=[dict(type='mmengine.LocalVisBackend')])
    Runner.from_cfg(cfg).train()

    written = {
        path.name
        for path in (tmp_path / 'translation_grids').iterdir()
    }
    assert written == {
        'before_training.png', 'iter_2.png', 'after_training.png',
        'report.json'
    }
    vis_data = next(tmp_path.glob('*/vis_data'))
    grid = cv2.imread(str(vis_data / 'vis_image' / 'translation_grids_2.png'))
    assert grid.shape == (2 * SIZE, 6 * SIZE, 3)
    scalars = [
        json.loads(line)
        for line in (vis_data / 'scalars.json').read_text().splitlines()
    ]
    steps = [line['step'] for line in scalars if PSNR_WARPED in line]
    # before training, iteration 2 (interval 2), after training (2)
    assert steps == [0, 2, 2]


def test_report_holds_the_oracle_warp_and_the_share_of_its_gain(tmp_path):
    cfg = tiny_demo_config(tmp_path, max_iters=1)
    Runner.from_cfg(cfg).train()

    report = json.loads(
        (tmp_path / 'translation_grids' / 'report.json').read_text())
    assert report['columns'] == [
        'condition', 'exemplar', 'warped exemplar', 'oracle warp', 'output',
        'ground truth'
    ]
    before = report['before_training']['psnr_warped']
    after = report['after_training']['psnr_warped']
    oracle = report['oracle']['psnr_warped']
    # the true affine warps better than an untrained network
    assert oracle > before
    assert report['warp_gain_of_oracle'] == pytest.approx(
        (after - before) / (oracle - before))
    # a warp right but spread over the 3×3 cells around the truth: between
    # the untrained network and the oracle, its share computed alike
    soft = report['oracle_within_one_cell']
    assert before < soft['psnr_warped'] < oracle
    assert soft['gain_of_oracle'] == pytest.approx(
        (soft['psnr_warped'] - before) / (oracle - before))


def test_no_oracle_without_a_known_affine(tmp_path):
    cfg = tiny_demo_config(tmp_path, max_iters=1)
    packer = cfg.custom_hooks[0].dataloader.dataset.pipeline[-1]
    packer.meta_keys = ['is_pseudo_pair']
    Runner.from_cfg(cfg).train()

    grids = tmp_path / 'translation_grids'
    report = json.loads((grids / 'report.json').read_text())
    assert not {'oracle', 'oracle_within_one_cell', 'warp_gain_of_oracle'
                } & set(report)
    assert 'oracle warp' not in report['columns']
    grid = cv2.imread(str(grids / 'after_training.png'))
    assert grid.shape == (2 * SIZE, 5 * SIZE, 3)


def test_batch_drawn_under_its_own_seed_leaves_the_training_stream():
    import random

    import torch

    def loader():  # a pipeline drawing from every global generator
        yield (random.random(), np.random.rand(), torch.rand(()).item())

    np.random.seed(1)
    random.seed(1)
    torch.manual_seed(1)
    first = first_batch(loader(), seed=0)
    after = (random.random(), np.random.rand(), torch.rand(()).item())
    # the same batch whatever was consumed before ...
    np.random.rand(5)
    random.random()
    torch.rand(3)
    assert first_batch(loader(), seed=0) == first
    assert first_batch(loader(), seed=3) != first
    # ... and the training's stream continues as if nothing was drawn
    np.random.seed(1)
    random.seed(1)
    torch.manual_seed(1)
    assert (random.random(), np.random.rand(),
            torch.rand(()).item()) == after
    # seed=None draws with the current state
    np.random.seed(2)
    random.seed(2)
    torch.manual_seed(2)
    unseeded = first_batch(loader(), seed=None)
    np.random.seed(2)
    random.seed(2)
    torch.manual_seed(2)
    assert unseeded == next(loader())
