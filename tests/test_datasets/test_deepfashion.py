from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mclnet_plugin.datasets import DeepFashionPoseDataset
from tests.dataset_fixtures import make_deepfashion

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


def test_samples_find_json_and_openpose_keypoints(tmp_path):
    train = make_deepfashion(str(tmp_path))
    dataset = DeepFashionPoseDataset(
        str(tmp_path), split='train', exemplar_list='train_ref.txt')
    assert len(dataset) == 5
    items = [dataset.get_data_info(i) for i in range(5)]
    assert [i['query_id'] for i in items] == train
    assert items[0]['cond_path'].endswith(
        'keypoints/WOMEN/Dresses/id_00000001/01_1_front.json')
    assert items[3]['cond_path'].endswith(
        'pose/MEN/Denim/id_00000002/02_1_front_candidate.txt')
    # exemplar: another view of the same outfit (first and last retrieved)
    assert [Path(p).name for p in items[0]['exemplar_paths']] == [
        '01_2_side.jpg', '01_4_full.jpg'
    ]
    assert [Path(p).name for p in items[3]['exemplar_paths']] == [
        '02_3_back.jpg'
    ]


def test_bad_layouts_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='split file .*train.txt'):
        DeepFashionPoseDataset(str(tmp_path))
    make_deepfashion(str(tmp_path))
    with open(tmp_path / 'train.txt', 'a') as file:
        file.write('img/WOMEN/Dresses/id_00000001/09_1_front.jpg\n')
    with pytest.raises(FileNotFoundError, match=r'train.txt, line 6: image '
                       r'.*09_1_front.jpg not found'):
        DeepFashionPoseDataset(str(tmp_path))
    (tmp_path / 'keypoints' / 'WOMEN' / 'Dresses' / 'id_00000001' /
     '01_2_side.json').unlink()
    with pytest.raises(FileNotFoundError, match='no keypoints for '
                       'img/WOMEN/Dresses/id_00000001/01_2_side.jpg'):
        DeepFashionPoseDataset(str(tmp_path), split='train')


def test_config_pipelines_render_20_channel_pose_maps(tmp_path):
    make_deepfashion(str(tmp_path))
    cfg = Config.fromfile(CONFIGS / '_base_' / 'datasets' / 'deepfashion.py')
    for split in ('train', 'val'):
        loader = cfg[f'{split}_dataloader']
        loader.update(num_workers=0, persistent_workers=False, batch_size=2)
        loader.dataset.data_root = str(tmp_path)
        batch = next(iter(Runner.build_dataloader(loader, seed=0)))
        cond = torch.stack(batch['inputs']['cond'])
        assert cond.shape == (2, cfg.label_nc, 256, 256)
        assert cond.dtype == torch.float32
        assert 0 <= cond.min() and cond.max() <= 1
        # a skeleton is drawn and each limb's distance map reaches 0 on it
        assert (cond[:, :3] > 0).any()
        assert np.allclose(cond[:, 3:].amin(dim=(2, 3)).numpy(), 0)
        assert batch['inputs']['exemplar'][0].shape == (3, 256, 256)


def test_cocosnet_lists_with_windows_separators_load(tmp_path):
    # CoCosNet's val.txt and deepfashion_ref_test.txt: img\WOMEN\...\x.jpg
    make_deepfashion(str(tmp_path))
    reference = DeepFashionPoseDataset(
        str(tmp_path), split='train', exemplar_list='train_ref.txt')
    for name in ('train.txt', 'train_ref.txt'):
        path = tmp_path / name
        path.write_text(path.read_text().replace('/', '\\'), newline='\r\n')
    dataset = DeepFashionPoseDataset(
        str(tmp_path), split='train', exemplar_list='train_ref.txt')
    assert [dataset.get_data_info(i) for i in range(len(dataset))] == [
        reference.get_data_info(i) for i in range(len(reference))
    ]
    with open(tmp_path / 'train.txt', 'a') as file:
        file.write('img\\WOMEN\\Dresses\\id_00000001\\09_1_front.jpg\n')
    with pytest.raises(FileNotFoundError, match=r'line 6: image .*img/WOMEN/'
                       r'Dresses/id_00000001/09_1_front.jpg not found \(paths'
                       r' relative to data_root, with / or \\ separators\)'):
        DeepFashionPoseDataset(str(tmp_path))
