import os.path as osp
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmagic.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.runner import Runner

from mclnet_plugin.datasets import ADE20KDataset
from tests.dataset_fixtures import label_map, make_ade20k

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


@pytest.mark.parametrize('layout', ['official', 'cocosnet'])
def test_both_layouts_list_samples_with_exemplars(tmp_path, layout):
    train = make_ade20k(str(tmp_path), layout)
    dataset = ADE20KDataset(
        str(tmp_path), split='training', exemplar_list='ade20k_ref.txt')
    assert len(dataset) == 4
    item = dataset.get_data_info(0)
    assert item['query_id'] == train[0]
    assert osp.basename(item['gt_path']) == train[0]
    assert item['cond_path'].endswith('ADE_train_00000001.png')
    # training keeps the first ("easy") and last ("hard") references
    assert [osp.basename(p) for p in item['exemplar_paths']] == train[1:3]


def test_test_mode_makes_one_item_per_reference(tmp_path):
    train = make_ade20k(str(tmp_path))
    dataset = ADE20KDataset(
        str(tmp_path),
        split='val',
        exemplar_list='ade20k_ref_test.txt',
        exemplars_per_query=2,
        test_mode=True)
    assert len(dataset) == 4
    items = [dataset.get_data_info(i) for i in range(4)]
    assert [osp.basename(i['exemplar_paths'][0])
            for i in items] == train[:2] * 2
    assert items[0]['query_id'] == items[1]['query_id'] == (
        'ADE_val_00000001.jpg')
    # validation queries take training references (CoCosNet's protocol)
    assert '/training/' in items[0]['exemplar_paths'][0]


def test_without_list_the_exemplar_is_the_ground_truth(tmp_path):
    make_ade20k(str(tmp_path))
    item = ADE20KDataset(str(tmp_path)).get_data_info(1)
    assert item['exemplar_paths'] == [item['gt_path']]


def test_bad_data_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist; expected '
                       'ADEChallengeData2016'):
        ADE20KDataset(str(tmp_path / 'missing'))
    make_ade20k(str(tmp_path))
    with pytest.raises(ValueError, match="split 'validation' .* no samples"):
        for path in (tmp_path / 'images' / 'validation').iterdir():
            path.unlink()
        ADE20KDataset(str(tmp_path), split='validation')
    (tmp_path / 'ade20k_ref.txt').write_text(
        'ADE_train_00000001.jpg,ADE_train_00000002.jpg\n'
        'ADE_train_00000002.jpg,ADE_train_00000099.jpg\n')
    with pytest.raises(FileNotFoundError,
                       match=r'ade20k_ref.txt, line 2: exemplar '
                       "'ADE_train_00000099.jpg' not found"):
        ADE20KDataset(str(tmp_path), exemplar_list='ade20k_ref.txt')
    (tmp_path / 'ade20k_ref.txt').write_text(
        'ADE_train_00000001.jpg,ADE_train_00000002.jpg\n')
    with pytest.raises(KeyError, match='ADE_train_00000002.jpg.*no line'):
        ADE20KDataset(str(tmp_path), exemplar_list='ade20k_ref.txt')
    with pytest.raises(FileNotFoundError, match='nope.txt not found; use '
                       "CoCosNet's or build it"):
        ADE20KDataset(str(tmp_path), exemplar_list='nope.txt')
    (tmp_path / 'annotations' / 'training' / 'ADE_train_00000003.png').unlink()
    with pytest.raises(FileNotFoundError,
                       match='label map .*ADE_train_00000003.png of image'):
        ADE20KDataset(str(tmp_path))


def build_loader(root, split, batch_size=2, **dataset_overrides):
    cfg = Config.fromfile(CONFIGS / '_base_' / 'datasets' / 'ade20k.py')
    loader = cfg[f'{split}_dataloader']
    loader.update(num_workers=0, persistent_workers=False,
                  batch_size=batch_size)
    loader.dataset.update(data_root=str(root), **dataset_overrides)
    return Runner.build_dataloader(loader, seed=0)


def test_config_pipelines_iterate_and_one_hot_on_the_device(tmp_path):
    make_ade20k(str(tmp_path))
    preprocessor = MODELS.build(
        dict(type='ConditionDataPreprocessor', one_hot=dict(cond=151)))
    for split, batch_size in (('train', 4), ('val', 2)):
        batch = next(iter(build_loader(tmp_path, split, batch_size)))
        cond = batch['inputs']['cond']
        assert len(cond) == batch_size and cond[0].shape == (1, 256, 256)
        assert cond[0].dtype == torch.uint8
        assert batch['inputs']['exemplar'][0].shape == (3, 256, 256)
        assert batch['data_samples'][0].gt_img.shape == (3, 256, 256)
        assert 'query_id' in batch['data_samples'][0].metainfo
        data = preprocessor(batch, training=True)
        one_hot = data['inputs']['cond']
        assert one_hot.shape == (batch_size, 151, 256, 256)
        ids = torch.stack(cond).long()
        assert torch.equal(one_hot.argmax(1, keepdim=True), ids)
        assert torch.equal(one_hot.sum(1), torch.ones(batch_size, 256, 256))
    # the test pipeline resizes the label map with nearest neighbours only
    val_ids = set(np.unique(cond[0].numpy()))
    assert val_ids <= set(np.unique(label_map(100)))


def test_label_errors_through_the_pipeline(tmp_path):
    make_ade20k(str(tmp_path))
    label_path = tmp_path / 'annotations' / 'validation' / (
        'ADE_val_00000001.png')
    dataset = DATASETS.build(
        dict(
            type='ADE20KDataset',
            data_root=str(tmp_path),
            split='validation',
            pipeline=Config.fromfile(CONFIGS / '_base_' / 'datasets' /
                                     'ade20k.py').test_pipeline,
            test_mode=True))
    bad = label_map(100)
    bad[0, 0] = 151
    cv2.imwrite(str(label_path), bad)
    with pytest.raises(ValueError, match='ADE_val_00000001.png: class id '
                       r'151 is outside \[0, 150\]'):
        dataset[0]
    cv2.imwrite(str(label_path), label_map(100)[:40])
    with pytest.raises(ValueError, match=r'ADE_val_00000001.png is 64×40'
                       r' \(w×h\) but its image .* is 64×48'):
        dataset[0]
    cv2.imwrite(str(label_path), np.zeros((48, 64, 3), np.uint8) + 3)
    with pytest.raises(ValueError, match='single-channel PNG'):
        dataset[0]
    image_path = tmp_path / 'images' / 'validation' / 'ADE_val_00000002.jpg'
    image_path.write_bytes(b'not a jpeg')
    with pytest.raises(ValueError,
                       match='ADE_val_00000002.jpg .* not a readable image'):
        dataset[1]
