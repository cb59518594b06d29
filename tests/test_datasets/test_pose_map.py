import re

import cv2
import numpy as np
import pytest
from mmagic.datasets.transforms import LoadImageFromFile

from mclnet_plugin.datasets.keypoint_files import (coco17_to_openpose18,
                                                   write_keypoint_json)
from mclnet_plugin.datasets.point_layouts import scale_points
from mclnet_plugin.datasets.transforms.flip_with_points import FlipWithPoints
from mclnet_plugin.datasets.transforms.pose_map import (LIMBS,
                                                        LoadPoseKeypoints,
                                                        RenderPoseMap,
                                                        render_pose_map)
from tests.dataset_fixtures import STANDING_COCO17

NECK, RIGHT_SHOULDER, LEFT_SHOULDER, NOSE = 1, 2, 5, 0
RED = np.array([255, 0, 0]) / 255  # joint 0 and limb 0 (neck-right shoulder)
LEFT_SHOULDER_GREEN = np.array([85, 255, 0]) / 255  # joint 5: hue 100°
# limb index of each limb's mirror image, written out by hand
MIRRORED_LIMB = [1, 0, 4, 5, 2, 3, 9, 10, 11, 6, 7, 8, 12, 15, 16, 13, 14]


def pose(**joints):
    keypoints = np.full((18, 2), -1, np.float32)
    scores = np.zeros(18, np.float32)
    for joint, xy in joints.items():
        index = dict(neck=NECK, right_shoulder=RIGHT_SHOULDER,
                     left_shoulder=LEFT_SHOULDER, nose=NOSE)[joint]
        keypoints[index] = xy
        scores[index] = 0.9
    return keypoints, scores


def test_a_limb_is_coloured_along_it_and_measured_off_it():
    # a horizontal limb from (10, 20) to (40, 20): 4 px either side of y=20
    keypoints, scores = pose(neck=(10, 20), right_shoulder=(40, 20))
    pose_map = render_pose_map(keypoints, scores, (48, 64))
    assert pose_map.shape == (48, 64, 20) and pose_map.dtype == np.float32
    # the midpoint: 0.6 of the limb's colour over the black canvas
    np.testing.assert_allclose(pose_map[20, 25, :3], 0.6 * RED, rtol=1e-6)
    np.testing.assert_allclose(pose_map[24, 25, :3], 0.6 * RED, rtol=1e-6)
    assert (pose_map[25, 25, :3] == 0).all()
    assert (pose_map[30, 25, :3] == 0).all()
    # the neck's disc (orange, joint 1) under the limb: 0.4 of it remains
    neck_orange = np.array([255, 85, 0]) / 255
    np.testing.assert_allclose(pose_map[20, 10, :3],
                               0.4 * neck_orange + 0.6 * RED, rtol=1e-6)
    # limb 0's distance map: k px (L1) from the limb's edge row 24 -> k/3/255
    assert pose_map[20, 25, 3] == 0
    for k in range(1, 11):
        assert pose_map[24 + k, 25, 3] == pytest.approx(k / 3 / 255)
    # the ellipse ends at the joints: 3 px right of the tip (40, 20) and
    # 2 px down is 5 px (L1) from it
    assert pose_map[22, 43, 3] == pytest.approx(5 / 3 / 255)
    # the other 16 limbs are missing: far everywhere
    assert (pose_map[..., 4:] == 1).all()


def test_distance_maps_saturate_at_255_steps():
    keypoints, scores = pose(neck=(2, 2), right_shoulder=(3, 2))
    pose_map = render_pose_map(keypoints, scores, (8, 800))
    # the limb covers pixels 2 and 3 of row 2; 255 steps = 765 px further
    limb_map = pose_map[2, :, 3]
    assert limb_map[2] == limb_map[3] == 0
    assert limb_map[3 + 764] == pytest.approx(764 / 765)
    assert limb_map[3 + 765] == limb_map[-1] == 1


def test_a_joint_is_a_disc_of_the_radius():
    keypoints, scores = pose(left_shoulder=(30, 20))
    pose_map = render_pose_map(keypoints, scores, (40, 50), joint_radius=4)
    skeleton = pose_map[..., :3]
    for x, y in [(30, 20), (34, 20), (30, 16), (26, 20), (30, 24)]:
        np.testing.assert_allclose(skeleton[y, x], LEFT_SHOULDER_GREEN)
    for x, y in [(35, 20), (33, 23), (30, 25)]:
        assert (skeleton[y, x] == 0).all()
    rows, cols = np.nonzero(skeleton.any(axis=-1))
    assert ((cols - 30)**2 + (rows - 20)**2 <= 16).all()
    assert len(rows) == 49  # lattice points in a disc of radius 4
    assert (pose_map[..., 3:] == 1).all()  # no limb


@pytest.mark.parametrize('missing', ['score', 'coordinates'])
def test_missing_joints_and_their_limbs_are_skipped(missing):
    keypoints, scores = pose(neck=(10, 20), right_shoulder=(40, 20),
                             nose=(10, 5))
    if missing == 'score':
        scores[RIGHT_SHOULDER] = 0
    else:
        keypoints[RIGHT_SHOULDER] = -1
    pose_map = render_pose_map(keypoints, scores, (48, 64))
    assert (pose_map[15:26, 20:, :3] == 0).all()  # no limb 0, no shoulder
    assert (pose_map[..., 3] == 1).all()
    # the neck-nose limb is drawn
    neck_nose = LIMBS.index((NECK, NOSE))
    assert pose_map[12, 10, 3 + neck_nose] == 0
    assert pose_map[12, 10, :3].any()


def test_scale_points_maps_pixel_centres():
    points = np.array([[0, 0], [9, 4], [-1, -1]], np.float32)
    scaled = scale_points(points, (5, 10), (10, 30))
    # x: (x + 0.5) · 3 - 0.5, y: (y + 0.5) · 2 - 0.5
    np.testing.assert_allclose(scaled, [[1, 0.5], [28, 8.5], [-1, -1]])


def test_render_pose_map_draws_at_the_current_image_size():
    keypoints, scores = pose(neck=(10, 20), right_shoulder=(40, 20))
    results = RenderPoseMap(out_key='cond', image_key='gt')(
        dict(gt=np.zeros((96, 128, 3), np.uint8),
             keypoints=keypoints,
             keypoints_scores=scores,
             keypoints_image_shape=(48, 64)))
    expected = render_pose_map(
        np.where(keypoints >= 0, keypoints * 2 + 0.5, -1), scores, (96, 128))
    np.testing.assert_array_equal(results['cond'], expected)


def test_flipping_the_keypoints_mirrors_the_rendered_map():
    rng = np.random.default_rng(0)
    keypoints = rng.integers(0, 48, (18, 2)).astype(np.float32)
    scores = np.full(18, 0.8, np.float32)
    keypoints[16], scores[16] = -1, 0  # a missing right ear stays missing
    height, width = 56, 48
    results = dict(gt=np.zeros((height, width, 3), np.uint8),
                   keypoints=keypoints, keypoints_scores=scores,
                   keypoints_image_shape=(height, width))
    render = RenderPoseMap(out_key='cond', image_key='gt')
    original = render(dict(results))['cond']
    flip = FlipWithPoints(keys=['gt'],
                          point_layouts=dict(keypoints='openpose18'),
                          flip_ratio=1)
    flipped = render(flip(dict(results)))['cond']
    mirror = original[:, ::-1]
    np.testing.assert_array_equal(
        flipped[..., :3].any(axis=-1), mirror[..., :3].any(axis=-1))
    for limb, mirrored_limb in enumerate(MIRRORED_LIMB):
        np.testing.assert_array_equal(flipped[..., 3 + limb],
                                      mirror[..., 3 + mirrored_limb])
    assert (original[..., 3 + LIMBS.index((14, 16))] == 1).all()
    assert (flipped[..., 3 + LIMBS.index((15, 17))] == 1).all()


def test_load_pose_keypoints_from_json_keeps_its_image_shape(tmp_path):
    coco = np.tile([[30., 40.]], (17, 1))
    coco_scores = np.full(17, 0.9)
    coco_scores[0] = 0.05  # the nose, below min_score
    write_keypoint_json(str(tmp_path / 'a.json'), coco, coco_scores,
                        (200, 100))
    results = LoadPoseKeypoints(key='cond', min_score=0.1)(
        dict(cond_path=str(tmp_path / 'a.json'), ori_gt_shape=(9, 9, 3)))
    assert results['keypoints_image_shape'] == (200, 100)
    assert results['keypoints'].shape == (18, 2)
    assert results['keypoints'].dtype == np.float32
    np.testing.assert_array_equal(results['keypoints'][0], (-1, -1))
    assert results['keypoints_scores'][0] == 0
    # every COCO joint, so also the neck between the shoulders, at (30, 40)
    np.testing.assert_array_equal(results['keypoints'][1:], coco)
    np.testing.assert_allclose(results['keypoints_scores'][1:], 0.9)


def test_pose_condition_pipeline_from_openpose_files(tmp_path):
    image = np.zeros((48, 64, 3), np.uint8)
    cv2.imwrite(str(tmp_path / '01_1_front.png'), image)
    (tmp_path / '01_1_front_candidate.txt').write_text(
        '10 20 0.9 0\n40 20 0.05 1\n')
    (tmp_path / '01_1_front_subset.txt').write_text(
        '-1 0 1' + ' -1' * 15 + ' 0.95 2\n')
    results = dict(gt_path=str(tmp_path / '01_1_front.png'),
                   cond_path=str(tmp_path / '01_1_front_candidate.txt'))
    results = LoadImageFromFile(key='gt')(results)
    results = LoadPoseKeypoints(key='cond', image_key='gt',
                                min_score=0.01)(results)
    assert results['keypoints_image_shape'] == (48, 64)
    results['gt'] = cv2.resize(results['gt'], (128, 96))
    results = RenderPoseMap(out_key='cond', image_key='gt')(results)
    keypoints, scores = pose(neck=(20.5, 40.5), right_shoulder=(80.5, 40.5))
    scores[RIGHT_SHOULDER] = 0.05
    np.testing.assert_array_equal(
        results['cond'], render_pose_map(keypoints, scores, (96, 128)))


def test_load_pose_keypoints_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='absent.json'):
        LoadPoseKeypoints()(dict(cond_path=str(tmp_path / 'absent.json')))
    (tmp_path / 'a_candidate.txt').write_text('')
    (tmp_path / 'a_subset.txt').write_text('')
    with pytest.raises(KeyError, match="no 'ori_gt_shape'"):
        LoadPoseKeypoints()(dict(cond_path=str(tmp_path / 'a_candidate.txt')))


def load_standing_person(tmp_path, keypoints, image_shape=(64, 44)):
    """LoadPoseKeypoints on a COCO-17 JSON of ``keypoints`` recording
    ``image_shape`` (h, w)."""
    path = str(tmp_path / '01_1_front.json')
    write_keypoint_json(path, keypoints, np.full(17, 0.9), image_shape)
    return path, LoadPoseKeypoints()(dict(cond_path=path))


@pytest.mark.parametrize('keypoints, message', [
    # the coordinates of a photo 10 times as large
    (STANDING_COCO17 * 10, r'only 0 of 18 joints lie inside the 44×64 '
     r'\(w×h\) image the file records \(x 120 to 320, y 60 to 580\): '
     'joints of an image of another size'),
    (STANDING_COCO17 / (44, 64), 'all 18 joints lie within \\[0, 1\\].*'
     'normalised coordinates'),
])
def test_keypoints_that_miss_the_image_are_an_error(tmp_path, keypoints,
                                                    message):
    with pytest.raises(ValueError) as raised:
        load_standing_person(tmp_path, keypoints)
    assert str(raised.value).startswith(str(tmp_path / '01_1_front.json'))
    assert re.search(message, str(raised.value))


def test_a_pose_without_joints_is_an_error(tmp_path):
    (tmp_path / 'a_candidate.txt').write_text('')
    (tmp_path / 'a_subset.txt').write_text('')
    path = str(tmp_path / 'a_candidate.txt')
    with pytest.raises(ValueError, match=f'^{re.escape(path)}: no joint '
                       'scores min_score=0.1 or more; the pose condition '
                       'would be blank'):
        LoadPoseKeypoints()(dict(cond_path=path, ori_gt_shape=(64, 44, 3)))


def test_a_cropped_person_is_drawn_as_before(tmp_path):
    # the photo ends at row 40: knees and ankles (4 of 18 joints) lie below
    _, results = load_standing_person(tmp_path, STANDING_COCO17, (40, 44))
    keypoints, scores = coco17_to_openpose18(STANDING_COCO17,
                                             np.full(17, 0.9, np.float32))
    assert (keypoints[:, 1] >= 40).sum() == 4
    np.testing.assert_array_equal(results['keypoints'], keypoints)
    results['gt'] = np.zeros((40, 44, 3), np.uint8)
    pose_map = RenderPoseMap()(results)['cond']
    np.testing.assert_array_equal(pose_map,
                                  render_pose_map(keypoints, scores, (40, 44)))
    assert pose_map[..., :3].any()
