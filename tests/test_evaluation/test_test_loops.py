"""The metrics under a real Runner: MMEngine's TestLoop (with MMEngine's
Evaluator) and MMagic's MultiTestLoop (with MMagic's Evaluator)."""
import numpy as np
import pytest
import torch
from mmagic.structures import DataSample
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from tests.test_evaluation import photos


class EchoModel(BaseModel):
    """Returns its inputs as MCLNet.test_step returns its outputs."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Linear(1, 1)  # the Runner wants parameters

    def forward(self, *args, **kwargs):
        raise NotImplementedError

    def test_step(self, data):
        return [DataSample(metainfo=dict(query_id=item['query_id']),
                           **item['images']) for item in data]

    val_step = test_step


def dataloader():
    gt = photos(32)
    fake = (gt + 20 * torch.randn(gt.shape)).clamp(0, 255)
    items = [
        dict(query_id=str(idx // 2),
             images=dict(fake_img=fake[idx], gt_img=gt[idx],
                         exemplar=gt[idx].flip(2)))
        for idx in range(len(gt))
    ]
    return DataLoader(items, batch_size=4, collate_fn=list)


class KeepMetrics(Hook):
    """MMagic's MultiTestLoop.run returns nothing; hooks see the metrics."""

    def after_test_epoch(self, runner, metrics=None):
        self.metrics = metrics


METRICS = [
    dict(type='TranslationPSNR', prefix='fake'),
    dict(type='TranslationSSIM', prefix='fake'),
    dict(type='TranslationMAE', prefix='fake'),
    dict(type='TranslationSWD', image_shape=(3, 32, 32)),
]


@pytest.mark.parametrize('loop, evaluator', [
    ('TestLoop', 'mmengine.Evaluator'),
    ('MultiTestLoop', 'Evaluator'),
])
def test_runner_test(tmp_path, loop, evaluator):
    torch.manual_seed(0)
    np.random.seed(0)
    keep = KeepMetrics()
    runner = Runner(
        model=EchoModel(),
        work_dir=str(tmp_path),
        test_dataloader=dataloader(),
        test_cfg=dict(type=loop),
        test_evaluator=dict(type=evaluator, metrics=METRICS),
        default_scope='mmagic',
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[keep],
        log_level='WARNING')
    runner.test()
    metrics = keep.metrics
    assert set(metrics) >= {'fake/PSNR', 'fake/SSIM', 'fake/MAE', 'SWD/avg'}
    assert 15 < metrics['fake/PSNR'] < 30
    assert 0 < metrics['fake/SSIM'] < 1
    assert 0 < metrics['SWD/avg'] < np.inf
