import itertools

import numpy as np
import pytest
import torch
import torchvision
from mmagic.registry import METRICS

from mclnet_plugin.evaluation.metrics import build_lpips
from tests.test_evaluation import outputs, photos, run_evaluator


@pytest.fixture(scope='module')
def backbone_path(tmp_path_factory):
    """A random AlexNet saved as torchvision saves its ImageNet weights."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('lpips') / 'alexnet-random.pth'
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return str(path)


@pytest.fixture(scope='module')
def metric_cfg(backbone_path):
    return dict(type='LPIPSDiversity', backbone_path=backbone_path)


def test_identical_outputs_score_zero(metric_cfg):
    images = photos(names=('astronaut', 'chelsea'))
    samples = outputs(
        query_ids=['a', 'a', 'b', 'b'],
        fake_img=torch.cat([images[:1], images[:1], images[1:], images[1:]]))
    metrics = run_evaluator([metric_cfg], samples)
    assert metrics == {'lpips_diversity': 0, 'lpips_groups': 2}


def test_mean_over_groups_of_pairwise_lpips(metric_cfg, backbone_path):
    images = photos()  # groups: a = 0, 1, 2; b = 3, 4; c = 5 (ignored)
    query_ids = ['a', 'a', 'b', 'a', 'b', 'c']
    order = [0, 1, 3, 2, 4, 5]
    metrics = run_evaluator([metric_cfg],
                            outputs(query_ids, fake_img=images[order]))

    model = build_lpips('alex', backbone_path)

    def lpips(i, j):
        return model(images[i:i + 1] / 127.5 - 1,
                     images[j:j + 1] / 127.5 - 1).item()

    with torch.no_grad():
        group_a = np.mean([lpips(i, j) for i, j in
                           itertools.combinations([0, 1, 2], 2)])
        group_b = lpips(3, 4)
    assert metrics['lpips_groups'] == 2
    assert np.isfinite(metrics['lpips_diversity'])
    assert metrics['lpips_diversity'] > 0
    assert metrics['lpips_diversity'] == pytest.approx(
        (group_a + group_b) / 2, rel=1e-5)


def test_needs_groups_of_several(metric_cfg):
    images = photos(names=('astronaut', 'chelsea'))
    with pytest.raises(ValueError, match='several exemplars'):
        run_evaluator([metric_cfg], outputs(['a', 'b'], fake_img=images))
    with pytest.raises(KeyError, match='query_id'):
        run_evaluator([metric_cfg], outputs(fake_img=images))


def test_backbone_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='alexnet-owt-7be5be79.pth'):
        METRICS.build(dict(type='LPIPSDiversity'))
    with pytest.raises(FileNotFoundError, match='vgg16-397923af.pth'):
        build_lpips('vgg', str(tmp_path / 'missing.pth'))
    wrong = tmp_path / 'not_alexnet.pth'
    torch.save({'features.0.weight': torch.zeros(1)}, wrong)
    with pytest.raises(FileNotFoundError, match='not a torchvision alex'):
        build_lpips('alex', str(wrong))
