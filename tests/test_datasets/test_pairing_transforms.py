import numpy as np
import pytest

from mclnet_plugin.datasets import (AlignedRandomCrop, ChooseExemplar,
                                    FlipWithPoints, PseudoExemplar)
from mclnet_plugin.datasets.point_layouts import (MIRROR_PERMUTATIONS,
                                                  OPENPOSE18_NAMES)


def test_choose_exemplar_easy_hard_protocol():
    results = dict(exemplar_paths=['easy.jpg', 'mid.jpg', 'hard.jpg'])
    assert ChooseExemplar(0.0)(dict(results))['exemplar_path'] == 'easy.jpg'
    assert ChooseExemplar(1.0)(dict(results))['exemplar_path'] == 'hard.jpg'
    np.random.seed(0)
    picks = [
        ChooseExemplar(0.2)(dict(results))['exemplar_path']
        for _ in range(2000)
    ]
    assert abs(picks.count('hard.jpg') / 2000 - 0.2) < 0.03
    with pytest.raises(KeyError, match='a.jpg has no exemplar_paths'):
        ChooseExemplar()(dict(gt_path='a.jpg'))
    with pytest.raises(ValueError, match='hard_prob'):
        ChooseExemplar(1.5)


def test_self_reference_pairs_stay_pseudo_pairs_without_a_synthetic_one():
    """DeepFashion (CoCosNet): another view of the same outfit is a pair
    whose ground truth the warped exemplar must become."""
    results = dict(
        exemplar_paths=['side.jpg'],
        gt=np.zeros((4, 4, 3), np.uint8),
        exemplar=np.ones((4, 4, 3), np.uint8))
    chosen = ChooseExemplar(0.0, self_reference=True)(dict(results))
    assert chosen['is_pseudo_pair'] is True
    kept = PseudoExemplar(prob=0.0)(chosen)
    assert kept['is_pseudo_pair'] is True and kept['exemplar'].max() == 1
    plain = ChooseExemplar(0.0)(dict(results))
    assert 'is_pseudo_pair' not in plain
    assert PseudoExemplar(prob=0.0)(plain)['is_pseudo_pair'] is False


def test_aligned_random_crop_takes_one_window_for_all_keys():
    rows, cols = np.mgrid[0:20, 0:30]
    coords = np.stack([rows, cols], -1).astype(np.int32)  # (20, 30, 2)
    results = dict(gt=coords.copy(), cond=coords[..., :1].copy())
    for seed in range(5):
        np.random.seed(seed)
        out = AlignedRandomCrop(['gt', 'cond'], (8, 12))(dict(results))
        top, left = out['gt'][0, 0]
        assert out['gt'].shape == (8, 12, 2)
        np.testing.assert_array_equal(out['gt'],
                                      coords[top:top + 8, left:left + 12])
        np.testing.assert_array_equal(out['cond'], out['gt'][..., :1])
        assert out['cond_crop_bbox'] == [left, top, 12, 8]
    with pytest.raises(ValueError, match='differ in size'):
        AlignedRandomCrop(['gt', 'cond'], (8, 8))(
            dict(gt=coords, cond=coords[:10]))
    with pytest.raises(ValueError, match='smaller than the crop'):
        AlignedRandomCrop(['gt'], (40, 8))(dict(gt=coords))


def test_flip_with_points_mirrors_and_swaps_left_and_right():
    image = np.arange(2 * 5 * 3).reshape(2, 5, 3).astype(np.uint8)
    keypoints = np.full((18, 2), -1, np.float32)
    right_wrist = OPENPOSE18_NAMES.index('right_wrist')
    left_wrist = OPENPOSE18_NAMES.index('left_wrist')
    keypoints[0] = (2.5, 1.0)  # nose
    keypoints[right_wrist] = (0.0, 1.5)  # on the image's left edge
    scores = np.zeros(18, np.float32)
    scores[[0, right_wrist]] = (0.9, 0.8)
    results = FlipWithPoints(
        ['gt'], dict(keypoints='openpose18'), flip_ratio=1.0)(
            dict(
                gt=image.copy(),
                keypoints=keypoints,
                keypoints_scores=scores,
                keypoints_image_shape=(2, 5)))
    np.testing.assert_array_equal(results['gt'], image[:, ::-1])
    flipped = results['keypoints']
    np.testing.assert_allclose(flipped[0], (1.5, 1.0))  # 5 - 1 - 2.5
    # the wrist now on the right edge is the left wrist
    np.testing.assert_allclose(flipped[left_wrist], (4.0, 1.5))
    assert (flipped[right_wrist] == -1).all()
    assert results['keypoints_scores'][left_wrist] == pytest.approx(0.8)
    assert results['keypoints_scores'][right_wrist] == 0
    assert results['flip_infos'][-1]['flip'] is True


def test_flip_with_points_permutations_are_involutions():
    for layout, permutation in MIRROR_PERMUTATIONS.items():
        assert sorted(permutation) == list(range(len(permutation)))
        assert all(permutation[permutation[i]] == i
                   for i in range(len(permutation)))
    ibug = MIRROR_PERMUTATIONS['ibug68']
    # jaw ends, eye outer corners and mouth corners swap; the nose tip,
    # the chin and the lip centres stay
    assert (ibug[0], ibug[36], ibug[48], ibug[30], ibug[8], ibug[57],
            ibug[66]) == (16, 45, 54, 30, 8, 57, 66)
    with pytest.raises(ValueError, match='unknown point layouts'):
        FlipWithPoints(['gt'], dict(keypoints='coco133'))
    with pytest.raises(ValueError, match=r'expected \(18, 2\)'):
        FlipWithPoints(['gt'], dict(keypoints='openpose18'), 1.0)(
            dict(
                gt=np.zeros((2, 2, 3)),
                keypoints=np.zeros((17, 2)),
                keypoints_image_shape=(2, 2)))


def test_config_exemplar_mix_is_cocosnets_20_50_30():
    """CoCosNet draws one number per sample: hard < 0.2 <= easy < 0.7 <=
    self-reference. The configs' ChooseExemplar(2/7) followed by the pseudo
    pair with p 0.3 gives the same mix."""
    from mmengine.config import Config

    from tests.tiny_configs import REPO
    steps = Config.fromfile(
        str(REPO / 'configs/_base_/datasets/ade20k.py')).train_pipeline
    choose = next(s for s in steps if s['type'] == 'ChooseExemplar')
    pseudo = next(s for s in steps if s['type'] == 'PseudoExemplar')
    chooser = ChooseExemplar(choose['hard_prob'])
    rng = np.random.default_rng(0)
    counts = dict(hard=0, easy=0, pseudo=0)
    trials = 20000
    for _ in range(trials):
        if rng.random() < pseudo['prob']:
            counts['pseudo'] += 1
            continue
        np.random.seed(int(rng.integers(2**31)))
        picked = chooser(dict(exemplar_paths=['easy', 'hard']))
        counts[picked['exemplar_path']] += 1
    shares = {key: count / trials for key, count in counts.items()}
    assert abs(shares['hard'] - 0.2) < 0.01
    assert abs(shares['easy'] - 0.5) < 0.01
    assert abs(shares['pseudo'] - 0.3) < 0.01
