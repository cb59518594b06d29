"""benchmarks/demo_warp_ceiling.py on the tiny demo config: its reference
warps against independent computations, and a --quick run end to end (its
losses, ``MCLNet.correspondence_losses``, are tested in
tests/test_models/test_mclnet.py)."""
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mclnet_plugin.engine.translation_grid_hook import first_batch
from tests.tiny_configs import tiny_demo_config

sys.path.insert(
    0, osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), 'benchmarks'))
import demo_warp_ceiling  # noqa: E402


def naive_psnr(image: torch.Tensor, truth: torch.Tensor) -> float:
    """PSNR of two (3, H, W) images in [0, 255], rounded to 8 bits."""
    image = image.clamp(0, 255).round().double()
    truth = truth.clamp(0, 255).round().double()
    return float(10 * torch.log10(255**2 / ((image - truth)**2).mean()))


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    init_default_scope('mmagic')
    cfg = tiny_demo_config(tmp_path_factory.mktemp('ceiling'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    loader = Runner.build_dataloader(demo_warp_ceiling.grid_hook_loader(cfg))
    return cfg, model, [first_batch(loader, seed) for seed in (0, 1)]


def test_references_against_naive_computations(tiny):
    _, model, batches = tiny
    refs = demo_warp_ceiling.reference_psnrs(model, batches)
    for draw, batch in enumerate(batches):
        samples = model.val_step(batch)
        # unwarped: the exemplar average-pooled to the 8×8 feature grid and
        # upsampled as the network upsamples
        mode = model.generator.correspondence.upsample_mode
        unwarped = [
            F.interpolate(
                F.avg_pool2d(s.exemplar[None].float(), 4),
                scale_factor=4,
                mode=mode)[0] for s in samples
        ]
        assert refs['unwarped'][draw] == pytest.approx(
            np.mean([naive_psnr(u, s.gt_img)
                     for u, s in zip(unwarped, samples)]), abs=1e-6)
        assert refs['untrained'][draw] == pytest.approx(
            np.mean([naive_psnr(s.warped_exemplar, s.gt_img)
                     for s in samples]), abs=1e-6)
    # the true correspondence beats the same correspondence spread over
    # its 3×3 cells, which beats the untrained network
    assert (refs['oracle'] > refs['within one cell']).all()
    assert (refs['within one cell'] > refs['untrained']).all()
    shares = demo_warp_ceiling.shares(refs['within one cell'], refs)
    np.testing.assert_allclose(
        shares, (refs['within one cell'] - refs['untrained']) /
        (refs['oracle'] - refs['untrained']))


def test_quick_run_writes_its_table_and_curve(tmp_path):
    cfg = tiny_demo_config(tmp_path / 'work')
    report = demo_warp_ceiling.main(
        ['--quick', '--threads', '1', '--out', str(tmp_path)], cfg=cfg)
    assert [entry['step'] for entry in report['curve']] == [10, 20]
    for entry in report['curve']:
        assert all(np.isfinite(v) for v in entry['losses'].values())
    assert report['reference_shares']['untrained'] == [0.0, 0.0]
    assert report['reference_shares']['oracle'] == [1.0, 1.0]
    with open(tmp_path / 'results.json') as file:
        assert json.load(file)['curve'] == report['curve']
    table = (tmp_path / 'table.md').read_text()
    assert '| within one cell |' in table and '| trained, step 20 |' in table
