from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mclnet_plugin.datasets import CelebAHQEdgeDataset
from tests.dataset_fixtures import make_celebahq

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


def test_landmark_and_part_sources(tmp_path):
    train = make_celebahq(str(tmp_path))
    dataset = CelebAHQEdgeDataset(
        str(tmp_path), split='train', exemplar_list='train_ref.txt')
    assert len(dataset) == 4
    item = dataset.get_data_info(0)
    assert item['query_id'] == train[0] == '0.jpg'
    assert item['cond_path'].endswith('landmarks/0.json')
    exemplars = [Path(p).name for p in item['exemplar_paths']]
    assert exemplars == ['1.jpg', '2.jpg']
    parts = CelebAHQEdgeDataset(
        str(tmp_path), split='val', condition_source='parts').get_data_info(1)
    assert parts['part_mask_paths']['skin'].endswith(
        'CelebAMask-HQ-mask-anno/0/00005_skin.png')
    assert 'l_brow' not in parts['part_mask_paths']  # absent part: no file


def test_bad_layouts_are_named(tmp_path):
    make_celebahq(str(tmp_path))
    with pytest.raises(ValueError, match='condition_source'):
        CelebAHQEdgeDataset(str(tmp_path), condition_source='edges')
    (tmp_path / 'landmarks' / '2.json').unlink()
    with pytest.raises(FileNotFoundError, match='no landmarks for 2: '
                       'neither .*2.json nor .*2.txt'):
        CelebAHQEdgeDataset(str(tmp_path))
    for path in (tmp_path / 'CelebAMask-HQ-mask-anno' / '0').glob('00003_*'):
        path.unlink()
    with pytest.raises(FileNotFoundError, match='no part masks for image 3'):
        CelebAHQEdgeDataset(str(tmp_path), condition_source='parts')
    (tmp_path / 'val.txt').write_text('4\n\n77\n')
    with pytest.raises(FileNotFoundError,
                       match=r'val.txt, line 3: image .*77.jpg not found'):
        CelebAHQEdgeDataset(str(tmp_path), split='val')
    (tmp_path / 'val.txt').write_text('\n')
    with pytest.raises(ValueError, match="split 'val' .* no samples"):
        CelebAHQEdgeDataset(str(tmp_path), split='val')


@pytest.mark.parametrize('config, channels', [
    ('mclnet_celebahq.py', 7),
    ('mclnet/mclnet_spade_4xb8-52kiters_celebahq-parts-256x256.py', 15),
])
def test_config_pipelines_render_face_edges(tmp_path, config, channels):
    make_celebahq(str(tmp_path))
    cfg = Config.fromfile(CONFIGS / config)
    base = Config.fromfile(CONFIGS / '_base_' / 'datasets' / 'celebahq.py')
    assert cfg.label_nc == channels
    loaders = dict(train=cfg.train_dataloader)
    if channels == 7:  # the leaves have no val loop until their metrics
        loaders['val'] = base.val_dataloader
    for split, loader in loaders.items():
        loader.update(num_workers=0, persistent_workers=False, batch_size=2)
        loader.dataset.data_root = str(tmp_path)
        batch = next(iter(Runner.build_dataloader(loader, seed=0)))
        cond = torch.stack(batch['inputs']['cond'])
        assert cond.shape == (2, channels, 256, 256)
        assert 0 <= cond.min() and cond.max() <= 1
        assert (cond[:, 0] > 0).any()  # some edges
        assert batch['data_samples'][0].gt_img.shape == (3, 256, 256)
