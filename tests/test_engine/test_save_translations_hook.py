"""tools/test.py --save-outputs --grid on DeepFashion, where file stems
repeat in every outfit folder: one file per sample, the pose condition
drawn as in the training grids, one data_root option for every loader."""
import cv2
import numpy as np
import pytest
import torch
from mmagic.registry import MODELS
from mmengine.registry import init_default_scope

from mclnet_plugin.datasets import DeepFashionPoseDataset
from mclnet_plugin.datasets.exemplar_list import write_exemplar_list
from mclnet_plugin.datasets.exemplar_retrieval import same_outfit_exemplars
from mclnet_plugin.engine.save_translations_hook import (SaveTranslationsHook,
                                                         sample_name)
from mclnet_plugin.visualization import TranslationVisualizer
from tests.dataset_fixtures import make_deepfashion
from tests.tiny_configs import SIZE, tiny_task_config
from tests.tool_modules import load_tool

# two queries named 01_1_front.jpg, each with an exemplar named 01_2_side.jpg
SAME_STEMS = [
    'img/MEN/Tees/id_00000003/01_1_front.jpg',
    'img/WOMEN/Dresses/id_00000001/01_1_front.jpg'
]


def test_same_stems_pose_grid_and_one_data_root(tmp_path):
    data, work = tmp_path / 'data', tmp_path / 'work'
    data.mkdir()
    make_deepfashion(str(data))
    (data / 'val.txt').write_text('\n'.join(SAME_STEMS) + '\n')
    refs = same_outfit_exemplars(SAME_STEMS + [
        'img/MEN/Tees/id_00000003/01_2_side.jpg',
        'img/WOMEN/Dresses/id_00000001/01_2_side.jpg'
    ])
    write_exemplar_list(str(data / 'val_ref.txt'),
                        {query: refs[query][:1]
                         for query in SAME_STEMS})
    cfg = tiny_task_config('mclnet_deepfashion.py', data, work)
    # the loaders as the task config has them: the default root, workers
    cfg.test_dataloader.dataset.data_root = cfg.data_root
    cfg.test_dataloader.update(num_workers=2, persistent_workers=True)
    cfg.test_evaluator = dict(
        type='mmengine.Evaluator',
        metrics=[dict(type='TranslationPSNR', pred_key='fake_img')])
    config = tmp_path / 'tiny_deepfashion.py'
    cfg.dump(str(config))
    init_default_scope('mmagic')
    checkpoint = tmp_path / 'random.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()),
               checkpoint)

    load_tool('test.py').main([
        str(config),
        str(checkpoint), '--work-dir',
        str(work), '--save-outputs', '--grid', '--cfg-options',
        f'data_root={data}', 'test_dataloader.num_workers=0'
    ])

    names = [
        'img__MEN__Tees__id_00000003__01_1_front_01_2_side',
        'img__WOMEN__Dresses__id_00000001__01_1_front_01_2_side'
    ]
    assert sorted(p.name for p in (work / 'translations').iterdir()) == [
        f'{name}_{kind}.png' for name in names
        for kind in ('grid', 'output', 'warped')
    ]
    # the condition panel is the pose map's RGB skeleton (channels 0-2),
    # as the training grids and translate.py draw it
    dataset = DeepFashionPoseDataset(
        str(data),
        split='val',
        exemplar_list='val_ref.txt',
        test_mode=True,
        pipeline=cfg.test_dataloader.dataset.pipeline)
    for index, name in enumerate(names):
        cond = dataset[index]['inputs']['cond']
        assert cond.shape == (20, SIZE, SIZE)
        skeleton = (cond[:3] * 255).round().byte().permute(1, 2, 0).numpy()
        assert skeleton.any(axis=2).mean() > 0.05  # limbs and legs drawn
        grid = cv2.imread(str(work / 'translations' / f'{name}_grid.png'))
        panel = cv2.cvtColor(grid[:, :SIZE], cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(panel, skeleton)


class FakeRunner:

    def __init__(self, work_dir, logger):
        self.work_dir = str(work_dir)
        self.logger = logger
        self.visualizer = TranslationVisualizer(
            name='save_hook_test', cond_channels=(0, 1, 2))


class Sample:
    """The DataSample fields the hook reads."""

    def __init__(self, query_id, exemplar_path):
        self.metainfo = dict(
            query_id=query_id, exemplar_path=exemplar_path)
        self.fake_img = torch.full((3, 4, 4), 10.0)
        self.warped_exemplar = torch.full((3, 4, 4), 20.0)


def test_a_repeated_pair_gets_its_own_file_and_a_warning(tmp_path, caplog):
    import logging
    logger = logging.getLogger('save_hook_test')
    runner = FakeRunner(tmp_path, logger)
    hook = SaveTranslationsHook(out_dir='out')
    hook.before_test(runner)
    same = Sample('a/b/q.jpg', '/data/r.jpg')
    assert sample_name(same) == 'a__b__q_r'
    with caplog.at_level(logging.WARNING, 'save_hook_test'):
        hook.after_test_iter(runner, 0, outputs=[same, same])
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [
        'a__b__q_r-2_output.png', 'a__b__q_r-2_warped.png',
        'a__b__q_r_output.png', 'a__b__q_r_warped.png'
    ]
    assert "named 'a__b__q_r' was saved before" in caplog.text
    hook.before_test(runner)
    assert 'already holds files' in caplog.text


@pytest.mark.parametrize('meta, name', [
    (dict(gt_path='/x/chelsea.png'), 'chelsea'),
    (dict(sample_idx=7), '000007'),
    (dict(query_id='ADE_val_00000001.jpg',
          exemplar_path='/d/ADE_train_00000002.jpg'),
     'ADE_val_00000001_ADE_train_00000002'),
])
def test_sample_names(meta, name):
    sample = Sample('', None)
    sample.metainfo = meta
    assert sample_name(sample) == name
