import json

import cv2
import numpy as np
import pytest

from mclnet_plugin.datasets.face_structure_files import (PART_LABELS,
                                                         PART_NAMES,
                                                         celebamask_part_paths,
                                                         read_landmarks,
                                                         read_part_masks,
                                                         write_landmark_json)

POINTS = np.stack([np.arange(68) * 1.5, 100 - np.arange(68) * 0.25], axis=1)


def write(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize('text', [
    '\n'.join(f'{x} {y}' for x, y in POINTS),
    '\n'.join(f'{x},{y}' for x, y in POINTS) + '\n\n',
    '\n'.join(f'  {x} ,\t{y}' for x, y in POINTS),
    ' '.join(f'{x} {y}' for x, y in POINTS),
    ','.join(f'{x},{y}' for x, y in POINTS) + '\n',
])
def test_read_landmarks_text_layouts(tmp_path, text):
    landmarks, image_shape = read_landmarks(write(tmp_path / 'a.txt', text))
    assert landmarks.dtype == np.float32 and image_shape is None
    np.testing.assert_array_equal(landmarks, POINTS.astype(np.float32))


def test_landmark_json_round_trip(tmp_path):
    path = str(tmp_path / 'sub' / '12.json')
    write_landmark_json(path, POINTS + 1 / 3, (1024, 1000, 3))
    record = json.loads(open(path).read())
    assert record['landmark_format'] == 'ibug68'
    assert (record['image_height'], record['image_width']) == (1024, 1000)
    assert record['landmarks'][1] == [round(1.5 + 1 / 3, 3), 100.083]
    landmarks, image_shape = read_landmarks(path)
    assert image_shape == (1024, 1000) and landmarks.shape == (68, 2)
    np.testing.assert_allclose(landmarks, POINTS + 1 / 3, atol=6e-4)


def test_landmark_json_without_image_size(tmp_path):
    path = write(tmp_path / 'a.json',
                 json.dumps(dict(landmark_format='ibug68',
                                 landmarks=POINTS.tolist())))
    assert read_landmarks(path)[1] is None


@pytest.mark.parametrize('name, text, message', [
    ('short.txt', '\n'.join(f'{x} {y}' for x, y in POINTS[:67]),
     r'short\.txt: expected 68 landmark rows, got 67'),
    ('three.txt', '1 2\n3 4\n5 6\n7 8 9\n',
     r'three\.txt, line 4: expected "x y", got 3 numbers'),
    ('word.txt', '1 2\n\nx 4\n', r'word\.txt, line 3: not numbers'),
    ('row.txt', ' '.join(['1'] * 134), r'row\.txt, line 1: expected "x y"'),
    ('bad.json', '{"landmarks": [', r'bad\.json: not valid JSON'),
    ('format.json', json.dumps(dict(landmark_format='wflw98',
                                    landmarks=POINTS.tolist())),
     r"format\.json: landmark_format is 'wflw98'"),
    ('count.json', json.dumps(dict(landmark_format='ibug68',
                                   landmarks=POINTS[:5].tolist())),
     r'count\.json: expected 68 \[x, y\] pairs, got an array of shape'),
    ('ragged.json', json.dumps(dict(landmark_format='ibug68',
                                    landmarks=[[1, 2], [3]])),
     r'ragged\.json: "landmarks" must be a list'),
])
def test_read_landmarks_rejects_bad_files(tmp_path, name, text, message):
    with pytest.raises(ValueError, match=message):
        read_landmarks(write(tmp_path / name, text))


def test_read_landmarks_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.txt'):
        read_landmarks(str(tmp_path / 'nowhere.txt'))


def test_write_landmark_json_checks_the_shape(tmp_path):
    with pytest.raises(ValueError, match=r'x\.json: expected landmarks'):
        write_landmark_json(str(tmp_path / 'x.json'), POINTS[:10], (8, 8))


def write_mask(path, rows, cols, shape=(16, 16)):
    mask = np.zeros(shape, np.uint8)
    mask[rows, cols] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), mask)


def test_celebamask_part_paths_lists_existing_parts(tmp_path):
    folder = tmp_path / '1'
    for part in ('skin', 'l_eye', 'hat'):
        write_mask(folder / f'02001_{part}.png', slice(0, 2), slice(0, 2))
    write_mask(folder / '02002_nose.png', slice(0, 2), slice(0, 2))
    paths = celebamask_part_paths(str(tmp_path), 2001)
    assert paths == {
        'skin': str(folder / '02001_skin.png'),
        'l_eye': str(folder / '02001_l_eye.png')
    }
    assert celebamask_part_paths(str(tmp_path), 1) == {}


def test_read_part_masks_paints_in_priority_order(tmp_path):
    paths = {}
    for part, rows, cols in [('hair', slice(0, 6), slice(0, 16)),
                             ('skin', slice(4, 16), slice(2, 14)),
                             ('eye_g', slice(7, 10), slice(3, 13)),
                             ('l_eye', slice(8, 9), slice(4, 7)),
                             ('u_lip', slice(12, 14), slice(5, 11)),
                             ('mouth', slice(12, 15), slice(4, 12))]:
        paths[part] = str(tmp_path / f'{part}.png')
        write_mask(tmp_path / f'{part}.png', rows, cols)
    labels = read_part_masks(paths)
    assert labels.shape == (16, 16) and labels.dtype == np.uint8
    assert PART_NAMES.index('hair') == 12 and PART_LABELS['skin'] == 1
    expected = {(1, 1): 'hair', (5, 5): 'hair', (6, 5): 'skin',
                (7, 3): 'eye_g', (8, 5): 'l_eye', (12, 5): 'u_lip',
                (14, 5): 'mouth', (15, 2): 'skin'}
    for (row, col), part in expected.items():
        assert labels[row, col] == PART_LABELS[part], (row, col)
    assert labels[10, 0] == 0 and labels[15, 15] == 0


def test_read_part_masks_errors_name_the_file(tmp_path):
    write_mask(tmp_path / 'skin.png', slice(0, 2), slice(0, 2))
    write_mask(tmp_path / 'nose.png', slice(0, 2), slice(0, 2), shape=(8, 8))
    (tmp_path / 'hair.png').write_text('not a png')
    skin = str(tmp_path / 'skin.png')
    with pytest.raises(ValueError, match=r'nose\.png: mask size \(8, 8\) '
                       r'differs from \(16, 16\) of .*skin\.png'):
        read_part_masks(dict(skin=skin, nose=str(tmp_path / 'nose.png')))
    with pytest.raises(ValueError, match=r'part mask .*hair\.png is not a '
                       'readable image'):
        read_part_masks(dict(skin=skin, hair=str(tmp_path / 'hair.png')))
    # a JPEG mask whose data is damaged after its header
    mask = np.zeros((16, 16), np.uint8)
    mask[4:12, 2:9] = 255
    jpeg = cv2.imencode('.jpg', mask)[1].tobytes()
    (tmp_path / 'nose.jpg').write_bytes(jpeg[:len(jpeg) * 3 // 4])
    with pytest.raises(ValueError, match=r'part mask .*nose\.jpg is '
                       'truncated'):
        read_part_masks(dict(skin=skin, nose=str(tmp_path / 'nose.jpg')))
    with pytest.raises(FileNotFoundError, match=r'gone\.png'):
        read_part_masks(dict(skin=str(tmp_path / 'gone.png')))
    with pytest.raises(ValueError, match=r"\['hat'\] \(.*skin\.png\)"):
        read_part_masks(dict(hat=skin))
    with pytest.raises(ValueError, match='no part mask files'):
        read_part_masks({})
