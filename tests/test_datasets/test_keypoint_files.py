import json
import re

import numpy as np
import pytest

from mclnet_plugin.datasets.keypoint_files import (check_points_in_image,
                                                   coco17_to_openpose18,
                                                   load_pose_keypoints,
                                                   read_keypoint_json,
                                                   read_openpose_files,
                                                   write_keypoint_json)

# Two people: the first (total 4.5) has a nose and a neck, the second
# (total 9.1) a nose, neck, right shoulder and left ear. Candidate ids are
# listed out of line order: joints are found by id.
CANDIDATE = """\
10.0 12.0 0.90 0
11.0 30.0 0.80 1
55.5 14.25 0.95 3
50.0 12.0 0.70 2
40.0 31.0 0.60 4
61.0 9.0 0.30 5
"""
SUBSET = """\
0 1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 4.5 2
2 3 4 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 5 9.1 4
"""


def openpose_pair(tmp_path, candidate=CANDIDATE, subset=SUBSET):
    candidate_path = tmp_path / '01_1_front_candidate.txt'
    subset_path = tmp_path / '01_1_front_subset.txt'
    candidate_path.write_text(candidate)
    subset_path.write_text(subset)
    return str(candidate_path), str(subset_path)


def test_openpose_files_give_the_best_person(tmp_path):
    keypoints, scores = read_openpose_files(*openpose_pair(tmp_path))
    assert keypoints.shape == (18, 2) and keypoints.dtype == np.float32
    assert scores.shape == (18, ) and scores.dtype == np.float32
    # nose = id 2, neck = id 3, right shoulder = id 4, left ear = id 5
    expected = {0: (50, 12, .7), 1: (55.5, 14.25, .95), 2: (40, 31, .6),
                17: (61, 9, .3)}
    for joint in range(18):
        x, y, score = expected.get(joint, (-1, -1, 0))
        np.testing.assert_allclose(keypoints[joint], (x, y))
        assert scores[joint] == pytest.approx(score)


def test_openpose_files_without_people_are_an_empty_pose(tmp_path):
    keypoints, scores = read_openpose_files(
        *openpose_pair(tmp_path, candidate='', subset='\n'))
    assert (keypoints == -1).all() and (scores == 0).all()


def test_load_pose_keypoints_reads_the_subset_next_to_the_candidate(
        tmp_path):
    candidate_path, subset_path = openpose_pair(tmp_path)
    keypoints, scores, image_shape = load_pose_keypoints(candidate_path)
    assert image_shape is None
    expected = read_openpose_files(candidate_path, subset_path)
    np.testing.assert_array_equal(keypoints, expected[0])
    np.testing.assert_array_equal(scores, expected[1])


@pytest.mark.parametrize('candidate, subset, which, message', [
    (CANDIDATE + '1 2 3\n', SUBSET, 'candidate', r'line 7: expected 4'),
    (CANDIDATE.replace('0.80', 'O.8'), SUBSET, 'candidate',
     'line 2: not a list of numbers'),
    (CANDIDATE + '1 2 0.5 3\n', SUBSET, 'candidate', 'line 7: duplicate id'),
    (CANDIDATE, SUBSET.replace(' 5 9.1', ' 9 9.1'), 'subset',
     'line 2: left_ear is candidate 9'),
    (CANDIDATE, SUBSET.replace('0 1 -1', '0 1.5 -1'), 'subset',
     'line 1: index 1.5 is not an integer'),
    (CANDIDATE, SUBSET.replace(' 4.5 2', ' 4.5'), 'subset',
     'line 1: expected 20 numbers, got 19'),
])
def test_bad_openpose_files_name_file_and_line(tmp_path, candidate, subset,
                                               which, message):
    paths = dict(zip(('candidate', 'subset'),
                     openpose_pair(tmp_path, candidate, subset)))
    where = re.escape(paths[which])
    with pytest.raises(ValueError, match=f'{where}, {message}'):
        read_openpose_files(paths['candidate'], paths['subset'])


def test_missing_openpose_files_are_named(tmp_path):
    candidate_path, subset_path = openpose_pair(tmp_path)
    (tmp_path / '01_1_front_subset.txt').unlink()
    with pytest.raises(FileNotFoundError, match='01_1_front_subset.txt'):
        load_pose_keypoints(candidate_path)
    with pytest.raises(FileNotFoundError, match='absent_candidate.txt'):
        load_pose_keypoints(str(tmp_path / 'absent_candidate.txt'))
    with pytest.raises(ValueError, match='not a keypoint file'):
        load_pose_keypoints(str(tmp_path / 'pose.npy'))


def test_keypoint_json_round_trip(tmp_path):
    path = str(tmp_path / 'MEN' / 'Denim' / '01_1_front.json')
    keypoints = np.arange(34, dtype=np.float32).reshape(17, 2) + 0.25
    scores = np.linspace(0, 1, 17, dtype=np.float32)
    write_keypoint_json(path, keypoints, scores, (256, 176), 'coco17')
    with open(path) as file:
        record = json.load(file)
    assert record['keypoint_format'] == 'coco17'
    assert (record['image_height'], record['image_width']) == (256, 176)
    assert record['keypoints'][1] == [2.25, 3.25]
    assert len(record['keypoint_scores']) == 17
    read_keypoints, read_scores, image_shape, keypoint_format = \
        read_keypoint_json(path)
    np.testing.assert_array_equal(read_keypoints, keypoints)
    np.testing.assert_allclose(read_scores, scores, atol=1e-4)
    assert image_shape == (256, 176) and keypoint_format == 'coco17'


@pytest.mark.parametrize('content, message', [
    ('{"keypoint_format": "coco17",\n  "image_height": }', 'line 2: not'),
    ('{"keypoint_format": "coco17"}', 'expected an object with keys'),
    ('[]', 'expected an object with keys'),
])
def test_malformed_keypoint_json_is_named(tmp_path, content, message):
    path = tmp_path / 'pose.json'
    path.write_text(content)
    with pytest.raises(ValueError, match=f'{re.escape(str(path))}.*{message}'):
        read_keypoint_json(str(path))


@pytest.mark.parametrize('change, message', [
    (dict(keypoints=[[0, 0]] * 16), r'needs keypoints \(17, 2\)'),
    (dict(keypoint_scores=[0.5] * 18), r'scores \(17,\)'),
    (dict(keypoints=[[0, 'a']] * 17), 'must be numbers'),
    (dict(keypoint_format='halpe26'), "unknown keypoint_format 'halpe26'"),
    (dict(image_width=0), 'positive integers'),
])
def test_invalid_keypoint_json_is_named(tmp_path, change, message):
    record = dict(keypoint_format='coco17', image_height=8, image_width=8,
                  keypoints=[[1, 2]] * 17, keypoint_scores=[0.5] * 17)
    path = tmp_path / 'pose.json'
    path.write_text(json.dumps({**record, **change}))
    with pytest.raises(ValueError,
                       match=f'{re.escape(str(path))}: .*{message}'):
        read_keypoint_json(str(path))
    with pytest.raises(FileNotFoundError, match='absent.json'):
        read_keypoint_json(str(tmp_path / 'absent.json'))


def test_write_keypoint_json_checks_the_layout(tmp_path):
    with pytest.raises(ValueError, match=r'needs keypoints \(18, 2\)'):
        write_keypoint_json(str(tmp_path / 'pose.json'), np.zeros((17, 2)),
                            np.zeros(17), (8, 8), 'openpose18')
    assert not list(tmp_path.iterdir())


# OpenPose-18 joint <- COCO-17 joint, written out by hand (neck: both
# shoulders).
COCO_OF_OPENPOSE = [0, (5, 6), 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2,
                    1, 4, 3]


def test_coco17_to_openpose18_matches_the_hand_written_table():
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(0, 100, (17, 2)).astype(np.float32)
    scores = rng.uniform(0.1, 1, 17).astype(np.float32)
    openpose, openpose_scores = coco17_to_openpose18(keypoints, scores)
    assert openpose.shape == (18, 2) and openpose.dtype == np.float32
    for target, source in enumerate(COCO_OF_OPENPOSE):
        if target == 1:
            np.testing.assert_allclose(openpose[1],
                                       (keypoints[5] + keypoints[6]) / 2,
                                       rtol=1e-6)
            assert openpose_scores[1] == pytest.approx(
                np.sqrt(scores[5] * scores[6]))
        else:
            np.testing.assert_array_equal(openpose[target],
                                          keypoints[source])
            assert openpose_scores[target] == scores[source]


@pytest.mark.parametrize('absent', [5, 6])
def test_neck_needs_both_shoulders(absent):
    keypoints = np.full((17, 2), 20, np.float32)
    scores = np.ones(17, np.float32)
    scores[absent] = 0
    openpose, openpose_scores = coco17_to_openpose18(keypoints, scores)
    assert openpose_scores[1] == 0 and (openpose[1] == -1).all()
    shoulder = COCO_OF_OPENPOSE.index(absent)
    other_shoulder = {2: 5, 5: 2}[shoulder]
    assert openpose_scores[shoulder] == 0
    assert (openpose[shoulder] == -1).all()
    assert openpose_scores[other_shoulder] == 1


def test_load_pose_keypoints_converts_coco_json(tmp_path):
    keypoints = np.arange(34, dtype=np.float32).reshape(17, 2)
    scores = np.full(17, 0.5, np.float32)
    write_keypoint_json(str(tmp_path / 'a.json'), keypoints, scores,
                        (64, 32))
    openpose, openpose_scores, image_shape = load_pose_keypoints(
        tmp_path / 'a.json')
    assert image_shape == (64, 32)
    expected = coco17_to_openpose18(keypoints, scores)
    np.testing.assert_array_equal(openpose, expected[0])
    np.testing.assert_allclose(openpose_scores, expected[1])
    # an OpenPose-18 JSON is taken as it is
    write_keypoint_json(str(tmp_path / 'b.json'), expected[0], expected[1],
                        (64, 32), 'openpose18')
    openpose, _, _ = load_pose_keypoints(str(tmp_path / 'b.json'))
    np.testing.assert_array_equal(openpose, expected[0])


def test_check_points_in_image_wants_half_inside():
    # a 40×30 (w×h) image; points on the right and bottom edges are outside
    inside = [[0, 0], [39.9, 29.9], [20, 10]]
    outside = [[40, 10], [10, 30], [-1, 5], [500, 500]]
    check_points_in_image(np.array(inside + outside[:3]), (30, 40), 'f.json',
                          'joints', 'image')
    check_points_in_image(np.zeros((0, 2)), (30, 40), 'f.json', 'joints',
                          'image')
    check_points_in_image(np.array([[0.5, 0.5]]), (30, 40), 'f.json',
                          'joints', 'image')
    with pytest.raises(ValueError) as raised:
        check_points_in_image(np.array(inside + outside), (30, 40), 'f.json',
                              'joints', 'image the file records')
    assert str(raised.value) == (
        'f.json: only 3 of 7 joints lie inside the 40×30 (w×h) image the '
        'file records (x -1 to 500, y 0 to 500): joints of an image of '
        'another size?')


def test_check_points_in_image_rejects_normalised_coordinates():
    points = np.array([[0.2, 0.1], [0.5, 0.9], [1, 1]])
    with pytest.raises(ValueError, match=r'^a\.txt: all 3 landmarks lie '
                       r'within \[0, 1\] \(x 0\.2 to 1, y 0\.1 to 1\) in the '
                       r'64×48 \(w×h\) image b\.jpg: normalised coordinates'):
        check_points_in_image(points, (48, 64), 'a.txt', 'landmarks',
                              'image b.jpg')
    check_points_in_image(points, (2, 2), 'a.txt', 'landmarks', 'image')
