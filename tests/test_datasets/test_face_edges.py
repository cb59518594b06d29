import json
import re

import cv2
import numpy as np
import pytest
from mmagic.datasets.transforms import Flip

from mclnet_plugin.datasets.face_structure_files import PART_LABELS, PART_NAMES
from mclnet_plugin.datasets.transforms.edge_condition import CannyEdges
from mclnet_plugin.datasets.transforms.face_edge_map import (
    LANDMARK_EDGE_CHANNELS, PART_EDGE_CHANNELS, LoadFaceLandmarks,
    LoadFaceParts, RenderFaceEdges, convex_hull_mask, distance_map)
from mclnet_plugin.datasets.transforms.flip_with_points import FlipWithPoints
from tests.dataset_fixtures import FACE_LANDMARKS, face_parts

SIZE = 64
CHEEK = (slice(27, 33), slice(16, 24))  # inside the face, between lines


def face_image():
    """Bright 1-px rectangle outlines: one on the cheek (inside the
    landmarks' hull), two in the background. Thin strokes keep cv2.Canny
    exactly mirror-symmetric; a step edge would not be (Canny breaks the
    tie between its two sides towards one side)."""
    image = np.full((SIZE, SIZE, 3), 60, np.uint8)
    cv2.rectangle(image, (CHEEK[1].start, CHEEK[0].start),
                  (CHEEK[1].stop - 1, CHEEK[0].stop - 1), (220, ) * 3, 1)
    cv2.rectangle(image, (3, 2), (20, 8), (200, ) * 3, 1)
    cv2.rectangle(image, (56, 40), (61, 60), (180, ) * 3, 1)
    return image


def canny(image):
    return CannyEdges()(dict(gt=image))['cond'][..., 0] > 0


def landmark_results(image=None, landmarks=FACE_LANDMARKS):
    return dict(
        gt=face_image() if image is None else image,
        landmarks=landmarks.copy(),
        landmarks_image_shape=(SIZE, SIZE))


def test_landmark_lines_follow_the_segments():
    cond = RenderFaceEdges(source='landmarks')(landmark_results())['cond']
    assert cond.shape == (SIZE, SIZE, LANDMARK_EDGE_CHANNELS) == (64, 64, 7)
    assert cond.dtype == np.float32
    lines = cond[..., 6]
    assert set(np.unique(cond[..., [0, 6]])) <= {0.0, 1.0}
    # the jaw's bottom: all of row 52 from x = 16 to 48 and nothing next to
    # it; 5 px above it no line at all
    assert (lines[52, 16:49] == 1).all()
    assert (lines[[51, 53], 17:48] == 0).all()
    assert (lines[47, 16:49] == 0).all()
    # the nose bridge is column 32, rows 18..30
    assert (lines[18:31, 32] == 1).all() and lines[18:31, 31].sum() == 0
    # the jaw segment (51, 44) → (48, 52), x = 48 + 3 (52 - y) / 8: on each
    # row the pixels within half a pixel of it, 0.5 √73 / 8 px sideways
    for row in range(45, 52):
        x = 48 + 3 * (52 - row) / 8
        expected = np.abs(np.arange(44, 56) - x) <= 0.5 * 73**0.5 / 8
        np.testing.assert_array_equal(lines[row, 44:56] > 0, expected)


def test_landmark_distance_maps():
    cond = RenderFaceEdges(source='landmarks')(landmark_results())['cond']
    # column 32 below the lips: the nearest jaw pixel is straight down or up
    for row in range(40, SIZE):
        expected = min(abs(row - 52) / 3, 255) / 255
        assert cond[row, 32, 1] == pytest.approx(expected), row
    # each group's map is 0 exactly on its own lines
    lines = cond[..., 6] > 0
    groups = np.stack([cond[..., c] == 0 for c in range(1, 6)])
    np.testing.assert_array_equal(groups.any(axis=0), lines)
    assert groups[0, 52, 30] and not groups[1:, 52, 30].any()  # jaw
    assert groups[2, 25, 32] and groups[3, 20, 23] and groups[4, 45, 32]


def test_distance_map_is_the_l1_distance():
    rng = np.random.default_rng(0)
    targets = rng.random((40, 50)) < 0.01
    rows, cols = np.mgrid[:40, :50]
    target_rows, target_cols = np.nonzero(targets)
    brute = np.min(
        np.abs(rows[..., None] - target_rows) +
        np.abs(cols[..., None] - target_cols), axis=-1)
    np.testing.assert_allclose(
        distance_map(targets), np.minimum(brute / 3, 255) / 255, atol=1e-7)
    assert (distance_map(np.zeros((3, 4), bool)) == 1).all()
    far = np.zeros((1, 1000), bool)
    far[0, 0] = True
    assert distance_map(far)[0, 765:].min() == 1  # 765 / 3 = 255: clipped


def test_convex_hull_mask_includes_its_outline():
    rows, cols = np.mgrid[:32, :40]
    triangle = np.array([(2, 3), (8, 9), (22, 3), (2, 23), (5, 5)])
    np.testing.assert_array_equal(
        convex_hull_mask((32, 40), triangle),
        (cols >= 2) & (rows >= 3) & (cols + rows <= 25))
    square = np.array([(30, 20), (10, 10), (30, 10), (10, 20)], np.float32)
    np.testing.assert_array_equal(
        convex_hull_mask((32, 40), square),
        (cols >= 10) & (cols <= 30) & (rows >= 10) & (rows <= 20))


def test_canny_only_outside_the_landmark_hull():
    image = face_image()
    edges = canny(image)
    cond = RenderFaceEdges(source='landmarks')(landmark_results())['cond']
    combined, lines = cond[..., 0] > 0, cond[..., 6] > 0
    # the cheek block's outline is found by Canny but is inside the face
    assert edges[CHEEK[0].start - 1:CHEEK[0].stop + 1,
                 CHEEK[1].start - 1:CHEEK[1].stop + 1].sum() > 20
    np.testing.assert_array_equal(combined[20:40, 14:30],
                                  lines[20:40, 14:30])
    # the background blocks are outside it: lines ∪ Canny
    for region in [np.s_[0:12, 0:24], np.s_[36:64, 54:64]]:
        assert edges[region].sum() > 20
        np.testing.assert_array_equal(combined[region],
                                      edges[region] | lines[region])
    # nowhere are there edges other than lines and Canny's
    assert not (combined & ~(edges | lines)).any()


def test_landmarks_are_scaled_to_the_current_image_size():
    landmarks = (FACE_LANDMARKS + 0.5) / 2 - 0.5  # the face at 32×32
    results = landmark_results(landmarks=landmarks)
    results['landmarks_image_shape'] = (32, 32)
    scaled = RenderFaceEdges(source='landmarks')(results)['cond']
    original = RenderFaceEdges(source='landmarks')(landmark_results())['cond']
    np.testing.assert_array_equal(scaled, original)


def test_line_width_draws_thicker_lines():
    results = landmark_results()
    lines = RenderFaceEdges(source='landmarks', line_width=3)(results)['cond']
    assert (lines[51:54, 20:45, 6] == 1).all()
    assert (lines[[50, 54], 20:45, 6] == 0).all()


@pytest.mark.parametrize('size', [SIZE, 96])
def test_landmark_render_commutes_with_flip(size):
    image = cv2.resize(face_image(), (size, size),
                       interpolation=cv2.INTER_NEAREST)
    edges = canny(image)
    # the fixture's precondition: Canny itself commutes with the flip
    assert size != SIZE or np.array_equal(
        canny(image[:, ::-1].copy()), edges[:, ::-1])
    render = RenderFaceEdges(source='landmarks')
    plain = render(landmark_results(image))['cond']
    flipped = FlipWithPoints(
        keys=['gt'], point_layouts=dict(landmarks='ibug68'),
        flip_ratio=1)(landmark_results(image))
    mirrored = render(flipped)['cond']
    compared = slice(0, 7) if size == SIZE else slice(1, 7)
    np.testing.assert_array_equal(mirrored[:, :, compared],
                                  plain[:, ::-1, compared])


def test_flipping_the_image_without_the_landmarks_is_an_error():
    results = Flip(keys=['gt'], flip_ratio=1)(landmark_results())
    with pytest.raises(ValueError, match="'landmarks' and 'gt' were not "
                       'flipped together'):
        RenderFaceEdges(source='landmarks')(results)


def test_load_face_landmarks(tmp_path):
    json_path = tmp_path / '7.json'
    json_path.write_text(json.dumps(dict(
        landmark_format='ibug68', image_height=128, image_width=120,
        landmarks=FACE_LANDMARKS.tolist())))
    txt_path = tmp_path / '7.txt'
    txt_path.write_text('\n'.join(f'{x} {y}' for x, y in FACE_LANDMARKS))
    load = LoadFaceLandmarks(key='cond', image_key='gt')
    # the size the file records is the frame, and the image must have it
    for results in (dict(cond_path=str(json_path)),
                    dict(cond_path=str(json_path),
                         ori_gt_shape=(128, 120, 3))):
        results = load(results)
        np.testing.assert_array_equal(results['landmarks'], FACE_LANDMARKS)
        assert results['landmarks_image_shape'] == (128, 120)
    results = load(dict(cond_path=str(txt_path), ori_gt_shape=(64, 60, 3)))
    assert results['landmarks_image_shape'] == (64, 60)
    with pytest.raises(KeyError, match=r"7\.txt does not give the image "
                       "size and there is no 'ori_gt_shape'"):
        load(dict(cond_path=str(txt_path)))


def write_landmark_file(path, landmarks, image_shape=None):
    record = dict(landmark_format='ibug68', landmarks=landmarks.tolist())
    if image_shape is not None:
        record.update(image_height=image_shape[0], image_width=image_shape[1])
    path.write_text(json.dumps(record))
    return str(path)


def test_landmarks_recorded_for_another_image_size_are_an_error(tmp_path):
    # landmarks found on a 1024×1024 photo, recorded as found on 512×512
    path = write_landmark_file(tmp_path / '7.json', FACE_LANDMARKS * 16,
                               (512, 512))
    with pytest.raises(ValueError) as raised:
        LoadFaceLandmarks()(dict(cond_path=path, gt_path='7.jpg',
                                 ori_gt_shape=(1024, 1024, 3)))
    assert str(raised.value).startswith(
        f'{path} records landmarks of a 512×512 (w×h) image, but image '
        '7.jpg is 1024×1024')


@pytest.mark.parametrize('name, image_shape, landmarks, message', [
    # recorded frame: the points are for a frame twice as large
    ('7.json', (64, 64), FACE_LANDMARKS * 2, r'only 13 of 68 landmarks lie '
     r'inside the 64×64 \(w×h\) image the file records \(x 24 to 104, y 26 '
     r'to 104\): landmarks of an image of another size\?'),
    # text landmarks, the photo's frame
    ('7.txt', None, FACE_LANDMARKS * 2, r'only 13 of 68 landmarks lie '
     r'inside the 64×64 \(w×h\) image 7\.jpg'),
    ('7.json', (64, 64), FACE_LANDMARKS / 64, 'normalised coordinates'),
])
def test_landmarks_outside_their_frame_are_an_error(tmp_path, name,
                                                    image_shape, landmarks,
                                                    message):
    if name.endswith('.json'):
        path = write_landmark_file(tmp_path / name, landmarks, image_shape)
    else:
        path = str(tmp_path / name)
        np.savetxt(path, landmarks)
    with pytest.raises(ValueError) as raised:
        LoadFaceLandmarks()(dict(cond_path=path, gt_path='7.jpg',
                                 ori_gt_shape=(64, 64, 3)))
    assert str(raised.value).startswith(f'{path}: ')
    assert re.search(message, str(raised.value)), str(raised.value)


def part_results(image=None, labels=None):
    return dict(
        gt=face_image() if image is None else image,
        face_parts=(face_parts() if labels is None else labels)[..., None])


def channel(part):
    return 1 + PART_NAMES.index(part)


def square_outline(rows, cols):
    outline = np.zeros((SIZE, SIZE), bool)
    outline[rows, cols] = True
    outline[rows.start + 1:rows.stop - 1, cols.start + 1:cols.stop - 1] = 0
    return outline


def test_part_boundaries_and_distances():
    cond = RenderFaceEdges(source='parts')(part_results())['cond']
    assert cond.shape == (SIZE, SIZE, PART_EDGE_CHANNELS) == (64, 64, 15)
    nose = square_outline(slice(28, 38), slice(28, 36))
    rows, cols = np.mgrid[:SIZE, :SIZE]
    outline_rows, outline_cols = np.nonzero(nose)
    brute = np.min(np.abs(rows[..., None] - outline_rows) +
                   np.abs(cols[..., None] - outline_cols), axis=-1)
    np.testing.assert_allclose(cond[..., channel('nose')],
                               np.minimum(brute / 3, 255) / 255, atol=1e-7)
    assert cond[32, 31, channel('nose')] == pytest.approx(3 / 3 / 255)
    # the skin's boundary follows its visible outline, not the image border
    skin = cond[..., channel('skin')] == 0
    assert skin[57, 10:50].all() and skin[14:58, 10].all()
    assert skin[14, 10:50].all()  # under the hair
    assert not skin[16:40, 26].any() and not skin[63].any()
    hair = cond[..., channel('hair')] == 0
    assert hair[0:14, 6].all() and not hair[0, 20:40].any()
    for absent in ('eye_g', 'l_brow', 'r_brow', 'l_ear', 'r_ear', 'u_lip',
                   'l_lip'):
        assert (cond[..., channel(absent)] == 1).all(), absent
    boundaries = np.stack(
        [cond[..., 1 + i] == 0 for i in range(len(PART_NAMES))]).any(axis=0)
    np.testing.assert_array_equal(cond[..., 14] > 0, boundaries)


def test_part_canny_only_on_background_and_hair():
    image = face_image()
    cv2.rectangle(image, (26, 4), (33, 7), (250, ) * 3, 1)  # in the hair
    edges = canny(image)
    cond = RenderFaceEdges(source='parts')(part_results(image))['cond']
    labels = face_parts()
    kept = (labels == 0) | (labels == PART_LABELS['hair'])
    np.testing.assert_array_equal(cond[..., 0] > 0,
                                  (cond[..., 14] > 0) | (edges & kept))
    assert edges[3:9, 25:35].sum() > 10 and (cond[3:9, 25:35, 0] > 0).any()
    # the cheek block lies on the skin: its Canny edges are dropped
    assert edges[CHEEK].any() and not cond[..., 0][CHEEK].any()


def test_parts_resized_with_nearest_neighbours():
    small = face_parts()[::2, ::2].copy()
    resized = RenderFaceEdges(source='parts')(part_results(
        labels=small))['cond']
    full = RenderFaceEdges(source='parts')(part_results(
        labels=np.repeat(np.repeat(small, 2, 0), 2, 1)))['cond']
    np.testing.assert_array_equal(resized, full)


def test_part_render_commutes_with_flip_and_swaps_sides():
    render = RenderFaceEdges(source='parts')
    plain = render(part_results())['cond']
    flip = Flip(keys=['gt', 'face_parts'], flip_ratio=1)
    mirrored = render(flip(part_results()))['cond']
    sides = list(range(PART_EDGE_CHANNELS))
    for left, right in [('l_eye', 'r_eye'), ('l_brow', 'r_brow'),
                        ('l_ear', 'r_ear')]:
        sides[channel(left)], sides[channel(right)] = (channel(right),
                                                       channel(left))
    np.testing.assert_array_equal(mirrored, plain[:, ::-1][..., sides])
    # the eye on the image's left is still called l_eye: the small r_eye,
    # flipped to the left, is now l_eye, and the big l_eye is now r_eye
    assert mirrored[23, 63 - 36, channel('l_eye')] == 0
    assert mirrored[22, 63 - 16, channel('r_eye')] == 0
    assert mirrored[23, 63 - 36, channel('r_eye')] > 0
    twice = render(flip(flip(part_results())))['cond']
    np.testing.assert_array_equal(twice, plain)


def test_flipping_the_image_without_the_parts_is_an_error():
    results = Flip(keys=['gt'], flip_ratio=1)(part_results())
    with pytest.raises(ValueError, match='not flipped together'):
        RenderFaceEdges(source='parts')(results)


def test_load_face_parts(tmp_path):
    paths = {}
    for part in ('skin', 'nose'):
        mask = (face_parts() == PART_LABELS[part]).astype(np.uint8) * 255
        paths[part] = str(tmp_path / f'{part}.png')
        cv2.imwrite(paths[part], mask)
    results = LoadFaceParts()(dict(part_mask_paths=paths))
    parts = results['face_parts']
    assert parts.shape == (SIZE, SIZE, 1) and parts.dtype == np.uint8
    assert parts[30, 30, 0] == PART_LABELS['nose']
    assert parts[50, 12, 0] == PART_LABELS['skin'] and parts[0, 0, 0] == 0


def test_render_face_edges_arguments():
    with pytest.raises(ValueError, match="'landmarks' or 'parts'"):
        RenderFaceEdges(source='mask')
    with pytest.raises(ValueError, match='line_width must be > 0'):
        RenderFaceEdges(line_width=0)
    results = landmark_results(image=face_image().astype(np.float32))
    with pytest.raises(ValueError, match=r"results\['gt'\] must be uint8"):
        RenderFaceEdges()(results)
