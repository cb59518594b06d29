import numpy as np
import pytest

from mclnet_plugin.datasets.exemplar_retrieval import (compute_descriptors,
                                                       label_histogram,
                                                       most_similar,
                                                       retrieve_exemplars,
                                                       same_outfit_exemplars,
                                                       thumbnail_descriptor)
from tests.dataset_fixtures import label_map, make_ade20k, photo, save_rgb


def brute_force(query, gallery, top_k, same_set):
    cos = np.array([[q @ g / np.linalg.norm(q) / np.linalg.norm(g)
                     for g in gallery] for q in query])
    if same_set:
        np.fill_diagonal(cos, -np.inf)
    return np.argsort(-cos, axis=1, kind='stable')[:, :top_k]


@pytest.mark.parametrize('same_set', [True, False])
def test_most_similar_matches_a_brute_force_ranking(same_set):
    rng = np.random.default_rng(0)
    query = rng.normal(size=(37, 6))
    gallery = query if same_set else rng.normal(size=(23, 6))
    expected = brute_force(query, gallery, 5, same_set)
    np.testing.assert_array_equal(
        most_similar(query, gallery, 5, same_set, chunk_size=8), expected)
    with pytest.raises(ValueError, match='at least one other image'):
        most_similar(query[:1], query[:1], 3, True)


def test_label_histogram_counts_classes(tmp_path):
    import cv2
    labels = label_map(3)
    cv2.imwrite(str(tmp_path / 'a.png'), labels)
    histogram = label_histogram(str(tmp_path / 'a.png'))
    assert histogram.shape == (151, ) and histogram.sum() == pytest.approx(1)
    for cls in np.unique(labels):
        assert histogram[cls] == pytest.approx((labels == cls).mean())


def test_thumbnail_descriptor_prefers_the_same_photo(tmp_path):
    save_rgb(str(tmp_path / 'a.jpg'), photo(0))
    brighter = np.clip(photo(0).astype(int) + 20, 0, 255).astype(np.uint8)
    save_rgb(str(tmp_path / 'b.jpg'), brighter)
    save_rgb(str(tmp_path / 'c.jpg'), photo(1))
    names = ['a.jpg', 'b.jpg', 'c.jpg']
    descriptors = compute_descriptors(
        thumbnail_descriptor, [str(tmp_path / n) for n in names])
    assert descriptors.shape == (3, 16 * 16 * 3)
    exemplars = retrieve_exemplars(names, descriptors, top_k=2)
    assert exemplars['a.jpg'] == ['b.jpg', 'c.jpg']
    assert exemplars['b.jpg'][0] == 'a.jpg'
    (tmp_path / 'bad.jpg').write_bytes(b'xx')
    with pytest.raises(ValueError, match='bad.jpg is not a readable image'):
        thumbnail_descriptor(str(tmp_path / 'bad.jpg'))


def test_ade20k_histograms_retrieve_the_same_scene_layout(tmp_path):
    make_ade20k(str(tmp_path), num_train=6)
    paths = [
        str(tmp_path / 'annotations' / 'training' / f'ADE_train_{i:08d}.png')
        for i in range(1, 7)
    ]
    # two workers must give the same descriptors as one process
    serial = compute_descriptors(label_histogram, paths)
    parallel = compute_descriptors(label_histogram, paths, num_workers=2)
    np.testing.assert_array_equal(serial, parallel)


def test_same_outfit_exemplars_group_views():
    names = [
        'img/WOMEN/Dresses/id_00000002/02_1_front.jpg',
        'img/WOMEN/Dresses/id_00000002/02_2_side.jpg',
        'img/WOMEN/Dresses/id_00000002/02_4_full.jpg',
        'img/WOMEN/Dresses/id_00000002/03_1_front.jpg',
        'img/MEN/Denim/id_00000007/02_1_front.jpg',
    ]
    exemplars = same_outfit_exemplars(names)
    assert exemplars[names[0]] == names[1:3]
    assert exemplars[names[2]] == names[:2]
    # another outfit of the same person, and a different person, are not
    # exemplars; a photo without another view is its own
    assert exemplars[names[3]] == [names[3]]
    assert exemplars[names[4]] == [names[4]]
    with pytest.raises(ValueError, match='front.png.*not a DeepFashion'):
        same_outfit_exemplars(['a/front.png'])
