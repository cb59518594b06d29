"""tools/dataset_converters/celebahq/extract_landmarks.py with the real dlib
model: the prebuilt dlib (dlib-bin) and the 68-point predictor that
face_recognition_models ships, both in requirements/lock.txt, on the photos
scikit-image ships."""
import cv2
import dlib  # noqa: F401  (a plain import: a missing install fails)
import face_recognition_models
import numpy as np
import pytest
import skimage.data

from mclnet_plugin.datasets.face_structure_files import read_landmarks
from tests.tool_modules import load_tool

extract_landmarks = load_tool(
    'dataset_converters/celebahq/extract_landmarks.py')

# The astronaut's face, hairline to chin and cheek to cheek, and her pupils
# (image-left, image-right), found by looking at the 512×512 photo.
FACE_BOX = (170, 75, 280, 185)  # x0, y0, x1, y1
PUPILS = ((202, 100), (245, 101))


@pytest.fixture(scope='module')
def find_landmarks():
    return extract_landmarks.dlib_landmark_fn()


def test_packaged_predictor_is_found():
    assert extract_landmarks.packaged_dlib_predictor() == (
        face_recognition_models.pose_predictor_model_location())


def test_landmarks_fall_on_the_face(find_landmarks):
    landmarks = find_landmarks(skimage.data.astronaut())
    assert landmarks.shape == (68, 2) and landmarks.dtype == np.float32
    x0, y0, x1, y1 = FACE_BOX
    assert ((landmarks >= (x0, y0)) & (landmarks <= (x1, y1))).all()

    jaw, brows, nose_tip = landmarks[0:17], landmarks[17:27], landmarks[30]
    eyes, mouth = landmarks[36:48], landmarks[48:68]
    # the jaw runs from one side of the face to the other, the chin lowest
    assert jaw[16, 0] - jaw[0, 0] > 0.75 * (x1 - x0)
    assert jaw[:, 1].argmax() in (7, 8, 9)
    # top to bottom: brows, eyes, nose tip, mouth
    assert brows[:, 1].max() < eyes[:, 1].mean() < nose_tip[1]
    assert nose_tip[1] < mouth[:, 1].min()
    # each eye's six points ring its pupil
    for eye, pupil in zip((eyes[:6], eyes[6:]), PUPILS):
        assert np.abs(eye.mean(axis=0) - pupil).max() < 6


def test_no_landmarks_without_a_face(find_landmarks):
    assert find_landmarks(skimage.data.coffee()) is None


def test_command_line_uses_the_packaged_model(tmp_path, capsys):
    (tmp_path / 'img').mkdir()
    for name, photo in (('astronaut', skimage.data.astronaut()),
                        ('coffee', skimage.data.coffee())):
        cv2.imwrite(
            str(tmp_path / 'img' / f'{name}.png'),
            cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    status = extract_landmarks.main(
        [str(tmp_path / 'img'), str(tmp_path / 'out')])
    assert status == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        'no face found, no landmarks written: '
        f'{tmp_path / "img" / "coffee.png"}')
    assert [p.name for p in (tmp_path / 'out').iterdir()] == ['astronaut.json']
    landmarks, image_shape = read_landmarks(
        str(tmp_path / 'out' / 'astronaut.json'))
    assert image_shape == (512, 512) and landmarks.shape == (68, 2)
    x0, y0, x1, y1 = FACE_BOX
    assert ((landmarks >= (x0, y0)) & (landmarks <= (x1, y1))).all()
