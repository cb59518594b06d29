import numpy as np
import pytest
import torch
from mmagic.registry import METRICS

from tests.test_evaluation import outputs, photos, run_evaluator


def swd(fake, real, **kwargs):
    metric = dict(type='TranslationSWD', image_shape=tuple(real.shape[1:]),
                  **kwargs)
    return run_evaluator([metric], outputs(fake_img=fake, gt_img=real))


def test_pggan_levels_at_256():
    np.random.seed(0)
    images = photos(256, names=('astronaut', 'chelsea', 'coffee', 'rocket'))
    metrics = swd(images.flip(3), images)
    assert list(metrics) == [
        f'SWD/{size}' for size in (256, 128, 64, 32, 16, 'avg')
    ]
    levels = [value for key, value in metrics.items() if key != 'SWD/avg']
    assert all(np.isfinite(levels)) and min(levels) > 0
    assert metrics['SWD/avg'] == pytest.approx(np.mean(levels), abs=1e-3)
    capped = METRICS.build(
        dict(type='TranslationSWD', image_shape=(3, 256, 256), num_levels=4))
    assert capped.resolutions == [256, 128, 64, 32]  # MMagic's choice


def test_identical_descriptors_give_zero():
    metric = METRICS.build(
        dict(type='TranslationSWD', image_shape=(3, 64, 64)))
    descriptors = metric._descriptors(photos())
    results = [
        dict(fake=[level[idx] for level in descriptors],
             real=[level[idx] for level in descriptors])
        for idx in range(len(descriptors[0]))
    ]
    assert metric.compute_metrics(results) == {
        '64': 0, '32': 0, '16': 0, 'avg': 0}


def test_identical_sets_only_sampling_noise():
    # Real and fake neighbourhoods are drawn independently (PGGAN), so
    # identical sets score the estimator's noise floor, not 0.
    np.random.seed(0)
    torch.manual_seed(0)
    images = photos()
    same = swd(images.clone(), images)['SWD/avg']
    flipped = swd(images.flip(2), images)['SWD/avg']
    noise = swd(torch.rand_like(images) * 255, images)['SWD/avg']
    assert 0 < same < 0.8 * flipped < noise


def test_wrong_shape_is_explained():
    images = photos()
    with pytest.raises(ValueError, match='image_shape'):
        run_evaluator([dict(type='TranslationSWD', image_shape=(3, 32, 32))],
                      outputs(fake_img=images, gt_img=images))


def test_image_shape_from_the_first_batch():
    metric = METRICS.build(dict(type='TranslationSWD'))
    metric._descriptors(photos())
    assert metric.image_shape == tuple(photos().shape[1:])
    assert metric.resolutions[0] == photos().shape[2]
