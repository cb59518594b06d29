"""tools/dataset_converters/deepfashion/extract_keypoints.py with a fake
pose model (the real one needs mmdet, not installed here)."""
import json
import re
import sys

import numpy as np
import pytest

from mclnet_plugin.apis.pose_estimation import build_estimate_fn
from mclnet_plugin.datasets.keypoint_files import (load_pose_keypoints,
                                                   read_keypoint_json)
from tests.tool_modules import load_tool


@pytest.fixture(scope='module')
def tool():
    return load_tool('dataset_converters/deepfashion/extract_keypoints.py')


def deepfashion_tree(root):
    """Two photos of one item, one of another, and files to pass over."""
    names = ['MEN/Denim/id_00000080/01_1_front.jpg',
             'MEN/Denim/id_00000080/01_2_side.jpg',
             'WOMEN/Dresses/id_00000002/02_1_front.JPG',
             'WOMEN/Dresses/id_00000002/02_1_front.png',
             'WOMEN/Dresses/id_00000002/notes.txt']
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b'')
    return [root / name for name in names[:3]]


class FakePoseModel:
    """Two people per photo; the second scores higher."""

    def __init__(self):
        self.calls = []
        self.best = np.arange(34, dtype=np.float32).reshape(17, 2)

    def __call__(self, image_path):
        self.calls.append(image_path)
        keypoints = np.stack([np.zeros((17, 2), np.float32), self.best])
        scores = np.stack([np.full(17, 0.3), np.full(17, 0.8)])
        return keypoints, scores, (256, 176)


def test_iter_images_finds_the_photos_in_order(tool, tmp_path):
    photos = deepfashion_tree(tmp_path / 'img')
    assert list(tool.iter_images(str(tmp_path / 'img'), '.jpg')) == photos


def test_extract_writes_the_best_person_next_to_the_relative_path(
        tool, tmp_path):
    photos = deepfashion_tree(tmp_path / 'img')
    model = FakePoseModel()
    counts = tool.extract(photos, model, str(tmp_path / 'img'),
                          str(tmp_path / 'pose'))
    assert counts == dict(written=3, skipped=0)
    assert model.calls == [str(photo) for photo in photos]
    out = tmp_path / 'pose' / 'MEN/Denim/id_00000080/01_1_front.json'
    keypoints, scores, image_shape, keypoint_format = read_keypoint_json(
        str(out))
    np.testing.assert_array_equal(keypoints, model.best)
    np.testing.assert_allclose(scores, 0.8)
    assert image_shape == (256, 176) and keypoint_format == 'coco17'
    assert (tmp_path / 'pose/WOMEN/Dresses/id_00000002/02_1_front.json'
            ).is_file()
    # what LoadPoseKeypoints reads: OpenPose-18, neck between the shoulders
    openpose, _, _ = load_pose_keypoints(str(out))
    np.testing.assert_allclose(openpose[1], (model.best[5] + model.best[6]) /
                               2)


def test_extract_skips_done_photos_unless_overwriting(tool, tmp_path):
    photos = deepfashion_tree(tmp_path / 'img')
    done = tmp_path / 'pose' / 'MEN/Denim/id_00000080/01_2_side.json'
    done.parent.mkdir(parents=True)
    done.write_text('{}')
    model = FakePoseModel()
    counts = tool.extract(photos, model, str(tmp_path / 'img'),
                          str(tmp_path / 'pose'))
    assert counts == dict(written=2, skipped=1)
    assert str(photos[1]) not in model.calls
    assert done.read_text() == '{}'
    counts = tool.extract(photos, model, str(tmp_path / 'img'),
                          str(tmp_path / 'pose'), overwrite=True)
    assert counts == dict(written=3, skipped=0)
    assert json.loads(done.read_text())['keypoint_format'] == 'coco17'


def test_extract_names_the_photo_it_failed_on(tool, tmp_path):
    photos = deepfashion_tree(tmp_path / 'img')

    def broken_model(image_path):
        raise OSError('cannot identify image file')

    with pytest.raises(RuntimeError, match='01_1_front.jpg: cannot identify'):
        tool.extract(photos, broken_model, str(tmp_path / 'img'),
                     str(tmp_path / 'pose'))


@pytest.mark.parametrize('missing, message', [
    ('config', '--pose-config .*absent.py does not exist.*td-hm_hrnet'),
    ('checkpoint', '--pose-checkpoint .*absent.pth does not exist'),
    ('img_root', 'IMG_ROOT .*absent is not a folder'),
])
def test_missing_inputs_are_named(tool, tmp_path, capsys, missing, message):
    (tmp_path / 'img').mkdir()
    (tmp_path / 'pose.py').write_text('')
    (tmp_path / 'pose.pth').write_bytes(b'')
    paths = dict(img_root=tmp_path / 'img', config=tmp_path / 'pose.py',
                 checkpoint=tmp_path / 'pose.pth')
    paths[missing] = tmp_path / {
        'config': 'absent.py', 'checkpoint': 'absent.pth'
    }.get(missing, 'absent')
    with pytest.raises(SystemExit):
        tool.main([
            str(paths['img_root']),
            str(tmp_path / 'pose'), '--pose-config',
            str(paths['config']), '--pose-checkpoint',
            str(paths['checkpoint'])
        ])
    assert re.search(message, capsys.readouterr().err)


def test_without_mmpose_models_the_error_says_what_to_install(
        tool, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'mmpose.apis', None)
    with pytest.raises(ImportError, match='install mmdet'):
        build_estimate_fn(
            str(tmp_path / 'pose.py'), str(tmp_path / 'pose.pth'))
