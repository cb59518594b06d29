"""Body keypoint files behind the DeepFashion pose conditions.

Two sources, both read into OpenPose's 18-joint order (``OPENPOSE18_NAMES``)
with missing joints at (-1, -1) and score 0:

* OpenPose's ``*_candidate.txt`` / ``*_subset.txt`` pairs, as in CoCosNet's
  DeepFashion release;
* our per-image JSON, written by
  ``tools/dataset_converters/deepfashion/extract_keypoints.py`` from an MMPose
  COCO-17 model::

    {"keypoint_format": "coco17", "image_height": H, "image_width": W,
     "keypoints": [[x, y], ...], "keypoint_scores": [s, ...]}

  one person (the highest-scoring), (x, y) in the pixels of the H×W photo.
"""
import json
import os
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .point_layouts import OPENPOSE18_NAMES

# MMPose's COCO body order (configs/_base_/datasets/coco.py).
COCO17_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
                'left_shoulder', 'right_shoulder', 'left_elbow',
                'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
                'right_hip', 'left_knee', 'right_knee', 'left_ankle',
                'right_ankle')
KEYPOINT_NAMES = dict(coco17=COCO17_NAMES, openpose18=OPENPOSE18_NAMES)
CANDIDATE_SUFFIX = '_candidate.txt'
SUBSET_SUFFIX = '_subset.txt'
# A subset row: one candidate id per joint, then total score, joint count.
SUBSET_COLUMNS = len(OPENPOSE18_NAMES) + 2
CANDIDATE_COLUMNS = 4  # x, y, score, id

Pose = Tuple[np.ndarray, np.ndarray]  # keypoints (K, 2), scores (K,)
# Detectors find points on the photo, so nearly all of them lie in it; when
# fewer than this share do, the file is for another image (another size).
MIN_SHARE_INSIDE = 0.5


def _read_table(path: str, num_columns: int) -> List[Tuple[int, list]]:
    """Whitespace-separated numbers: (line number, row) per non-blank
    line."""
    rows = []
    with open(path) as file:
        for line_number, line in enumerate(file, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != num_columns:
                raise ValueError(f'{path}, line {line_number}: expected '
                                 f'{num_columns} numbers, got {len(fields)}')
            try:
                rows.append((line_number, [float(f) for f in fields]))
            except ValueError:
                raise ValueError(f'{path}, line {line_number}: not a list '
                                 f'of numbers: {line.strip()!r}') from None
    return rows


def _as_index(value: float, where: str) -> int:
    if not value.is_integer():
        raise ValueError(f'{where}: index {value} is not an integer')
    return int(value)


def read_openpose_files(candidate_path: str, subset_path: str) -> Pose:
    """The highest-scoring person of an OpenPose candidate/subset pair.

    ``candidate_path`` holds one detected joint per line, ``x y score id``;
    ``subset_path`` one person per line: 18 candidate ids in OpenPose-18
    order (-1: missing), the total score and the joint count. A joint is
    looked up by its ``id`` column rather than its line: OpenPose numbers
    its peaks in the order it lists them, so the two agree in its own
    output, and the id stays right if a file's lines were filtered.
    An empty subset (nobody detected) gives a pose with every joint missing.

    Returns:
        keypoints (18, 2) float32 (x, y) and scores (18,) float32.
    """
    candidates = _read_table(candidate_path, CANDIDATE_COLUMNS)
    people = _read_table(subset_path, SUBSET_COLUMNS)
    candidate_row = {}
    for line_number, (x, y, score, candidate_id) in candidates:
        where = f'{candidate_path}, line {line_number}'
        candidate_id = _as_index(candidate_id, where)
        if candidate_id in candidate_row:
            raise ValueError(f'{where}: duplicate id {candidate_id}')
        candidate_row[candidate_id] = (x, y, score)
    keypoints = np.full((len(OPENPOSE18_NAMES), 2), -1, np.float32)
    scores = np.zeros(len(OPENPOSE18_NAMES), np.float32)
    if not people:
        return keypoints, scores
    for line_number, person in people:
        where = f'{subset_path}, line {line_number}'
        for name, value in zip(OPENPOSE18_NAMES, person):
            candidate_id = _as_index(value, where)
            if candidate_id != -1 and candidate_id not in candidate_row:
                raise ValueError(
                    f'{where}: {name} is candidate {candidate_id}, which '
                    f'{candidate_path} does not have')
    total_scores = [person[-2] for _, person in people]
    best = people[int(np.argmax(total_scores))][1]
    for joint, value in enumerate(best[:len(OPENPOSE18_NAMES)]):
        if value != -1:
            x, y, scores[joint] = candidate_row[int(value)]
            keypoints[joint] = x, y
    return keypoints, scores


def _check_pose(keypoints: np.ndarray, scores: np.ndarray,
                keypoint_format: str, source: str) -> None:
    if str(keypoint_format) not in KEYPOINT_NAMES:
        raise ValueError(f'{source}: unknown keypoint_format '
                         f'{keypoint_format!r}; known: '
                         f'{sorted(KEYPOINT_NAMES)}')
    count = len(KEYPOINT_NAMES[keypoint_format])
    if keypoints.shape != (count, 2) or scores.shape != (count, ):
        raise ValueError(
            f'{source}: {keypoint_format} needs keypoints ({count}, 2) and '
            f'scores ({count},), got {keypoints.shape} and {scores.shape}')


def write_keypoint_json(path: str,
                        keypoints: np.ndarray,
                        scores: np.ndarray,
                        image_shape: Sequence[int],
                        keypoint_format: str = 'coco17') -> None:
    """Writes one person's keypoints (K, 2) and scores (K,) in the pixel
    coordinates of an image of ``image_shape`` (h, w); coordinates are
    rounded to 1/1000 px and scores to 1e-4 to keep the files readable."""
    keypoints = np.asarray(keypoints, np.float64)
    scores = np.asarray(scores, np.float64)
    _check_pose(keypoints, scores, keypoint_format, path)
    record = dict(
        keypoint_format=keypoint_format,
        image_height=int(image_shape[0]),
        image_width=int(image_shape[1]),
        keypoints=[[round(x, 3), round(y, 3)] for x, y in keypoints.tolist()],
        keypoint_scores=[round(s, 4) for s in scores.tolist()])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # Written whole or not at all: an interrupted extraction must not leave
    # a truncated file that a resumed run would skip as done.
    partial_path = path + '.partial'
    with open(partial_path, 'w') as file:
        json.dump(record, file)
    os.replace(partial_path, path)


def read_keypoint_json(path: str) -> Tuple[np.ndarray, np.ndarray,
                                           Tuple[int, int], str]:
    """Reads a file of ``write_keypoint_json``.

    Returns:
        keypoints (K, 2) float32, scores (K,) float32, the image shape
        (h, w) they refer to, and the keypoint format (``'coco17'``).
    """
    with open(path) as file:
        try:
            record = json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f'{path}, line {error.lineno}: not valid JSON: '
                             f'{error.msg}') from None
    required = ('keypoint_format', 'image_height', 'image_width', 'keypoints',
                'keypoint_scores')
    if not isinstance(record, dict) or not set(required) <= set(record):
        found = sorted(record) if isinstance(record, dict) else type(record)
        raise ValueError(f'{path}: expected an object with keys '
                         f'{list(required)}, got {found}')
    try:
        keypoints = np.array(record['keypoints'], np.float32)
        scores = np.array(record['keypoint_scores'], np.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f'{path}: keypoints and keypoint_scores must be '
                         f'numbers ({error})') from None
    _check_pose(keypoints, scores, record['keypoint_format'], path)
    image_shape = (record['image_height'], record['image_width'])
    if not all(isinstance(size, int) and size > 0 for size in image_shape):
        raise ValueError(f'{path}: image_height and image_width must be '
                         f'positive integers, got {image_shape}')
    return keypoints, scores, image_shape, record['keypoint_format']


def check_points_in_image(points: np.ndarray, image_shape: Sequence[int],
                          source: str, what: str, image_name: str) -> None:
    """Raises ``ValueError`` naming ``source`` unless the points (K, 2)
    (x, y) fit the image of ``image_shape`` (h, w, ...) they are for: at
    least ``MIN_SHARE_INSIDE`` of them inside it (0 <= x < w, 0 <= y < h),
    and not all within [0, 1] (normalised coordinates).

    ``what`` names the points (``'joints'``) and ``image_name`` the image
    (``'image the file records'``) in the message, which gives the points'
    range.
    """
    points = np.asarray(points, np.float64).reshape(-1, 2)
    if len(points) == 0:
        return
    height, width = (int(size) for size in image_shape[:2])
    low, high = points.min(axis=0), points.max(axis=0)
    found = (f'x {low[0]:.4g} to {high[0]:.4g}, y {low[1]:.4g} to '
             f'{high[1]:.4g}')
    image = f'the {width}×{height} (w×h) {image_name}'
    if (len(points) > 1 and (low >= 0).all() and (high <= 1).all()
            and min(height, width) > 2):
        raise ValueError(
            f'{source}: all {len(points)} {what} lie within [0, 1] ({found}) '
            f'in {image}: normalised coordinates? They must be pixels')
    inside = ((points >= 0).all(axis=1) & (points[:, 0] < width) &
              (points[:, 1] < height)).sum()
    if inside < MIN_SHARE_INSIDE * len(points):
        raise ValueError(
            f'{source}: only {inside} of {len(points)} {what} lie inside '
            f'{image} ({found}): {what} of an image of another size?')


@lru_cache(maxsize=None)
def _coco17_to_openpose18_converter():
    # mmpose is an optional dependency (the `pose` extra) and slow to
    # import: only the JSON files need it.
    from mmpose.datasets.transforms import KeypointConverter
    coco_index = {name: i for i, name in enumerate(COCO17_NAMES)}
    neck = (coco_index['left_shoulder'], coco_index['right_shoulder'])
    mapping = [(neck if name == 'neck' else coco_index[name], target)
               for target, name in enumerate(OPENPOSE18_NAMES)]
    return KeypointConverter(len(OPENPOSE18_NAMES), mapping)


def coco17_to_openpose18(keypoints: np.ndarray, scores: np.ndarray) -> Pose:
    """COCO-17 (K=17) to OpenPose-18 order, with MMPose's
    ``KeypointConverter``; OpenPose's extra neck is the shoulders' midpoint.

    A joint with score 0 is missing. The converter multiplies the
    visibilities of a target's two sources (a one-to-one target counts its
    one source twice); passing the scores as visibilities, their square root
    gives each score back and, for the neck, the shoulders' geometric mean:
    0, so missing, unless both shoulders are present.

    Returns:
        keypoints (18, 2) float32 and scores (18,) float32.
    """
    converted = _coco17_to_openpose18_converter()(
        dict(
            keypoints=np.asarray(keypoints, np.float64)[None],
            keypoints_visible=np.clip(np.asarray(scores, np.float64), 0,
                                      None)[None]))
    openpose_scores = np.sqrt(converted['keypoints_visible'][0, :, 0])
    openpose_keypoints = converted['keypoints'][0]
    openpose_keypoints[openpose_scores <= 0] = -1
    return (openpose_keypoints.astype(np.float32),
            openpose_scores.astype(np.float32))


def load_pose_keypoints(
        path: str) -> Tuple[np.ndarray, np.ndarray, Optional[Tuple[int, int]]]:
    """The OpenPose-18 pose in a keypoint file, by its name: our ``.json``
    or an OpenPose ``*_candidate.txt`` (read with the ``*_subset.txt`` next
    to it).

    Returns:
        keypoints (18, 2) float32, scores (18,) float32, and the image shape
        (h, w) the coordinates refer to; None for OpenPose files, which do
        not record it (the photo they were detected on has that shape).
    """
    path = str(path)
    if path.endswith('.json'):
        keypoints, scores, image_shape, keypoint_format = read_keypoint_json(
            path)
        if keypoint_format == 'coco17':
            keypoints, scores = coco17_to_openpose18(keypoints, scores)
        return keypoints, scores, image_shape
    if path.endswith(CANDIDATE_SUFFIX):
        subset_path = path[:-len(CANDIDATE_SUFFIX)] + SUBSET_SUFFIX
        return (*read_openpose_files(path, subset_path), None)
    raise ValueError(
        f'{path}: not a keypoint file; expected a .json of '
        f'extract_keypoints.py or an OpenPose *{CANDIDATE_SUFFIX}')
