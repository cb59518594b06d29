import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from tests.test_evaluation import outputs, photos, run_evaluator


def noisy(images, sigma=12.0, seed=0):
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(images.shape, generator=generator) * sigma
    return (images + noise).round().clamp(0, 255)


def test_identical_images():
    images = photos()
    samples = outputs(warped_exemplar=images, gt_img=images.clone())
    metrics = run_evaluator([
        dict(type=name, pred_key='warped_exemplar', prefix='warped')
        for name in ('TranslationMAE', 'TranslationPSNR', 'TranslationSSIM')
    ] + [
        dict(type='TranslationPSNR', pred_key='warped_exemplar',
             max_psnr=100.0, prefix='capped')
    ], samples)
    assert metrics['warped/MAE'] == 0
    assert metrics['warped/PSNR'] == math.inf
    assert metrics['capped/PSNR'] == 100.0
    assert metrics['warped/SSIM'] == pytest.approx(1, abs=1e-6)


def test_values_match_formulas():
    gt = photos()
    pred = noisy(gt)
    pred[0] = gt[0]  # one exact match: capped at max_psnr
    metrics = run_evaluator([
        dict(type='TranslationMAE'),
        dict(type='TranslationMAE', scaling=255, prefix='255'),
        dict(type='TranslationPSNR', max_psnr=80.0),
        dict(type='TranslationSSIM'),
    ], outputs(fake_img=pred, gt_img=gt))

    diff = (pred.double() - gt.double()).flatten(1)
    mse = diff.pow(2).mean(1)
    psnr = [80.0 if m == 0 else 10 * math.log10(255**2 / m) for m in mse]
    assert metrics['PSNR'] == pytest.approx(np.mean(psnr), rel=1e-6)
    assert metrics['MAE'] == pytest.approx(
        diff.abs().mean().item() / 255, rel=1e-6)
    assert metrics['255/MAE'] == pytest.approx(
        diff.abs().mean().item(), rel=1e-6)
    # Wang et al.'s SSIM: 11x11 Gaussian window, sigma 1.5, per channel
    ssim = [
        structural_similarity(
            p.permute(1, 2, 0).numpy(), g.permute(1, 2, 0).numpy(),
            gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
            data_range=255, channel_axis=2) for p, g in zip(pred, gt)
    ]
    assert metrics['SSIM'] == pytest.approx(np.mean(ssim), abs=1e-5)
    assert 0 < metrics['SSIM'] < 1


def test_y_channel_reads_rgb():
    gt = photos()
    pred = noisy(gt)
    metrics = run_evaluator([dict(type='TranslationPSNR', convert_to='Y')],
                            outputs(fake_img=pred, gt_img=gt))

    def luma(images):  # ITU-R BT.601 Y of RGB in [0, 255]
        r, g, b = images.double().unbind(1)
        return 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255

    mse = (luma(pred) - luma(gt)).pow(2).flatten(1).mean(1)
    expected = np.mean([10 * math.log10(255**2 / m) for m in mse])
    assert metrics['PSNR'] == pytest.approx(expected, abs=1e-3)


def test_missing_key_is_named():
    images = photos(names=('astronaut', ))
    with pytest.raises(KeyError, match='gt_img'):
        run_evaluator([dict(type='TranslationPSNR')],
                      outputs(fake_img=images))
