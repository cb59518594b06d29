"""tools/dataset_converters/celebahq: landmark extraction (with a stand-in
landmark model) and the split files."""
import importlib.util
import sys

import cv2
import numpy as np
import pytest

from mclnet_plugin.datasets.face_structure_files import read_landmarks
from tests.tiny_configs import REPO

TOOLS = REPO / 'tools' / 'dataset_converters' / 'celebahq'


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


extract_landmarks = load_tool('extract_landmarks')
make_splits = load_tool('make_splits')


def write_photos(folder, brightness):
    """Photos ``<stem>.jpg`` of 40×30 pixels, 0 brightness = no face."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, level in brightness.items():
        cv2.imwrite(str(folder / f'{stem}.jpg'),
                    np.full((40, 30, 3), level, np.uint8))


def fake_landmarks(image):
    """A stand-in model: the photo's brightness as every x, rows 0..67 as
    y (partly below the 40-row photo); nothing on a black photo."""
    if image.mean() < 10:
        return None
    assert image.shape == (40, 30, 3) and image.dtype == np.uint8
    level = float(np.round(image.mean()))
    return np.stack([np.full(68, level), np.arange(68) - 2.0], axis=1)


def test_iter_images_in_numeric_order(tmp_path):
    for name in ('10.jpg', '2.jpg', '1.png', 'notes.txt', 'a.jpeg'):
        (tmp_path / name).write_bytes(b'')
    names = [path.split('/')[-1]
             for path in extract_landmarks.iter_images(str(tmp_path))]
    assert names == ['1.png', '2.jpg', '10.jpg', 'a.jpeg']
    with pytest.raises(FileNotFoundError, match='missing'):
        extract_landmarks.iter_images(str(tmp_path / 'missing'))


def test_extract_writes_one_json_per_photo(tmp_path):
    write_photos(tmp_path / 'img', {'0': 20, '1': 0, '2': 28})
    images = extract_landmarks.iter_images(str(tmp_path / 'img'))
    log = []
    report = extract_landmarks.extract(
        images, fake_landmarks, str(tmp_path / 'out'), log_every=2,
        log=log.append)
    assert [len(report[k]) for k in ('written', 'skipped', 'no_face')] == [
        2, 0, 1]
    assert report['no_face'] == [str(tmp_path / 'img' / '1.jpg')]
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [
        '0.json', '2.json']
    landmarks, image_shape = read_landmarks(str(tmp_path / 'out' / '2.json'))
    assert image_shape == (40, 30)
    assert np.allclose(landmarks[:, 0], 28, atol=1)
    # clipped to the photo: y from 0 (not -2) to 39 (not 65)
    assert landmarks[0, 1] == 0 and landmarks[10, 1] == 8
    assert landmarks[41:, 1].tolist() == [39] * 27
    assert log[0].startswith('2/3 photos') and '1 without a face' in log[-1]

    # existing files are kept; --overwrite redoes them
    calls = []

    def counting(image):
        calls.append(image)
        return fake_landmarks(image)

    report = extract_landmarks.extract(
        images, counting, str(tmp_path / 'out'), log=log.append)
    assert len(report['skipped']) == 2 and len(calls) == 1  # only 1.jpg
    report = extract_landmarks.extract(
        images, counting, str(tmp_path / 'out'), overwrite=True,
        log=log.append)
    assert len(report['written']) == 2 and len(calls) == 4


def test_extract_names_an_unreadable_photo(tmp_path):
    (tmp_path / 'broken.jpg').write_text('not a jpeg')
    with pytest.raises(ValueError, match=r'broken\.jpg is not a readable'):
        extract_landmarks.extract([str(tmp_path / 'broken.jpg')],
                                  fake_landmarks, str(tmp_path / 'out'))
    # a JPEG cut short would otherwise load with a grey lower half
    ok, data = cv2.imencode('.jpg', np.full((32, 32, 3), 128, np.uint8))
    (tmp_path / 'cut.jpg').write_bytes(data.tobytes()[:len(data) // 2])
    with pytest.raises(ValueError, match=r'cut\.jpg is truncated'):
        extract_landmarks.extract([str(tmp_path / 'cut.jpg')],
                                  fake_landmarks, str(tmp_path / 'out'))


def test_model_loaders_say_what_is_missing(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError,
                       match=r'shape_predictor_68_face_landmarks\.dat.*'
                       r'predictor\.dat'):
        extract_landmarks.dlib_landmark_fn(str(tmp_path / 'predictor.dat'))
    (tmp_path / 'predictor.dat').write_bytes(b'')
    monkeypatch.setitem(sys.modules, 'dlib', None)  # import dlib fails
    with pytest.raises(ImportError, match='pip install dlib-bin'):
        extract_landmarks.dlib_landmark_fn(str(tmp_path / 'predictor.dat'))
    # no file given and face_recognition_models, which ships one, missing
    monkeypatch.setitem(sys.modules, 'face_recognition_models', None)
    assert extract_landmarks.packaged_dlib_predictor() is None
    with pytest.raises(FileNotFoundError,
                       match='pip install dlib-bin face_recognition_models'):
        extract_landmarks.dlib_landmark_fn()

    config, checkpoint = tmp_path / 'face.py', tmp_path / 'face.pth'
    with pytest.raises(FileNotFoundError, match=r'--pose-config.*face\.py'):
        extract_landmarks.mmpose_landmark_fn(str(config), str(checkpoint))
    config.write_text('')
    with pytest.raises(FileNotFoundError,
                       match=r'--pose-checkpoint.*face\.pth'):
        extract_landmarks.mmpose_landmark_fn(str(config), str(checkpoint))
    checkpoint.write_bytes(b'')
    monkeypatch.setitem(sys.modules, 'mmpose.apis', None)
    with pytest.raises(ImportError, match='mmdet'):
        extract_landmarks.mmpose_landmark_fn(str(config), str(checkpoint))


def test_extract_landmarks_command_line(tmp_path, monkeypatch):
    write_photos(tmp_path / 'img', {'5': 40, '6': 0})
    used = []
    monkeypatch.setattr(extract_landmarks, 'dlib_landmark_fn',
                        lambda path: used.append(path) or fake_landmarks)
    status = extract_landmarks.main([
        str(tmp_path / 'img'),
        str(tmp_path / 'out'), '--dlib-predictor', 'model.dat'
    ])
    assert status == 1 and used == ['model.dat']  # 6.jpg has no face
    assert (tmp_path / 'out' / '5.json').is_file()
    # dlib with the packaged predictor is the default
    extract_landmarks.main([str(tmp_path / 'img'), str(tmp_path / 'out')])
    assert used == ['model.dat', None]
    for wrong in (['--pose-config', 'a.py'], ['--pose-checkpoint', 'b.pth'],
                  ['--dlib-predictor', 'x', '--log-every', '0'],
                  ['--dlib-predictor', 'x', '--pose-config', 'a.py',
                   '--pose-checkpoint', 'b.pth']):
        with pytest.raises(SystemExit):
            extract_landmarks.parse_args(['img', 'out'] + wrong)


MAPPING = """idx orig_idx orig_file
0 119613 119614.jpg
1 0 000001.jpg
2 162769 162770.jpg
3 162770 162771.jpg
4 182636 182637.jpg
5 182637 182638.jpg
6 202598 202599.jpg
"""


def test_official_splits_follow_celeba(tmp_path):
    path = tmp_path / 'mapping.txt'
    path.write_text(MAPPING)
    mapping = make_splits.read_celebahq_mapping(str(path))
    assert mapping[0] == ('0', 119613, '119614.jpg') and len(mapping) == 7
    assert make_splits.official_splits(mapping) == dict(
        train=['0', '1', '2'], val=['3', '4'], test=['5', '6'])

    partition = tmp_path / 'list_eval_partition.txt'
    partition.write_text(''.join(
        f'{name} {split}\n' for name, split in [
            ('000001.jpg', 2), ('119614.jpg', 0), ('162770.jpg', 1),
            ('162771.jpg', 1), ('182637.jpg', 0), ('182638.jpg', 2),
            ('202599.jpg', 2)]))
    assert make_splits.official_splits(
        mapping, make_splits.read_celeba_partition(str(partition))) == dict(
            train=['0', '4'], val=['2', '3'], test=['1', '5', '6'])
    with pytest.raises(ValueError, match=r'000001\.jpg \(CelebA-HQ 1\)'):
        make_splits.official_splits(mapping, {'119614.jpg': 'train'})


def test_split_files_reject_bad_rows(tmp_path):
    mapping = tmp_path / 'mapping.txt'
    mapping.write_text('idx orig_idx orig_file\n0 1 000002.jpg\n1 x 3.jpg\n')
    with pytest.raises(ValueError, match=r'mapping\.txt, line 3'):
        make_splits.read_celebahq_mapping(str(mapping))
    partition = tmp_path / 'partition.txt'
    partition.write_text('000001.jpg 0\n\n000002.jpg 3\n')
    with pytest.raises(ValueError, match=r'partition\.txt, line 3'):
        make_splits.read_celeba_partition(str(partition))
    with pytest.raises(FileNotFoundError, match=r'none\.txt'):
        make_splits.read_celebahq_mapping(str(tmp_path / 'none.txt'))


def test_last_n_splits_in_numeric_order():
    stems = [str(i) for i in (10, 3, 0, 2, 1, 11)]
    assert make_splits.last_n_splits(stems, num_val=2) == dict(
        train=['0', '1', '2', '3'], val=['10', '11'])
    with pytest.raises(ValueError, match='num_val must be in'):
        make_splits.last_n_splits(stems, num_val=6)


def test_make_splits_command_line(tmp_path):
    (tmp_path / 'mapping.txt').write_text(MAPPING)
    make_splits.main(
        [str(tmp_path / 'a'), '--mapping',
         str(tmp_path / 'mapping.txt')])
    assert (tmp_path / 'a' / 'train.txt').read_text() == '0\n1\n2\n'
    assert (tmp_path / 'a' / 'test.txt').read_text() == '5\n6\n'
    write_photos(tmp_path / 'img', {str(i): 50 for i in range(5)})
    make_splits.main([
        str(tmp_path / 'b'), '--image-root',
        str(tmp_path / 'img'), '--num-val', '2'
    ])
    assert (tmp_path / 'b' / 'train.txt').read_text() == '0\n1\n2\n'
    assert (tmp_path / 'b' / 'val.txt').read_text() == '3\n4\n'
    with pytest.raises(SystemExit):
        make_splits.parse_args(['c', '--image-root', 'img', '--partition',
                                'p.txt'])
