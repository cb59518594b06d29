import numpy as np
import pytest
import torch
from mmagic.registry import DATASETS

from mclnet_plugin.datasets import DEMO_HELD_OUT_PHOTOS, DEMO_TRAIN_PHOTOS
from tests.tiny_configs import tiny_demo_config


def test_demo_photos_ship_with_scikit_image_and_pipeline_packs_them(tmp_path):
    cfg = tiny_demo_config(tmp_path)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == len(DEMO_TRAIN_PHOTOS) == 6
    sample = dataset[0]
    cond, exemplar = sample['inputs']['cond'], sample['inputs']['exemplar']
    assert cond.shape == (1, 32, 32) and cond.dtype == torch.float32
    assert set(cond.unique().tolist()) <= {0.0, 1.0}
    assert exemplar.shape == (3, 32, 32)
    data_sample = sample['data_samples']
    assert data_sample.gt_img.shape == (3, 32, 32)
    assert data_sample.metainfo['is_pseudo_pair'] is True
    assert data_sample.metainfo['gt_path'].endswith('astronaut.png')
    held_out = DATASETS.build(cfg.custom_hooks[0].dataloader.dataset)
    assert len(held_out) == len(DEMO_HELD_OUT_PHOTOS)
    assert not set(DEMO_HELD_OUT_PHOTOS) & set(DEMO_TRAIN_PHOTOS)


def test_missing_photo_and_empty_list_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"\['nope.png'\] not found"):
        DATASETS.build(
            dict(type='BundledPhotoDataset', photos=('nope.png', )))
    with pytest.raises(ValueError, match='`photos` is empty'):
        DATASETS.build(dict(type='BundledPhotoDataset', photos=()))


def test_other_folder_of_photos(tmp_path):
    import cv2
    cv2.imwrite(str(tmp_path / 'mine.png'), np.zeros((8, 8, 3), np.uint8))
    dataset = DATASETS.build(
        dict(type='BundledPhotoDataset', photos=('mine.png', ),
             data_root=str(tmp_path)))
    assert dataset[0]['gt_path'] == str(tmp_path / 'mine.png')
