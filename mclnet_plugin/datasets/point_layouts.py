"""Keypoint orders used by the pose and face conditions, the index
permutation a horizontal flip applies (left and right swap names), and
the rescaling of point coordinates."""
from typing import Dict, Sequence, Tuple

import numpy as np

# OpenPose's 18-joint body order (CoCosNet's DeepFashion pose files).
OPENPOSE18_NAMES = ('nose', 'neck', 'right_shoulder', 'right_elbow',
                    'right_wrist', 'left_shoulder', 'left_elbow',
                    'left_wrist', 'right_hip', 'right_knee', 'right_ankle',
                    'left_hip', 'left_knee', 'left_ankle', 'right_eye',
                    'left_eye', 'right_ear', 'left_ear')


def mirror_permutation(names: Sequence[str]) -> Tuple[int, ...]:
    """Index of each point's mirror image: ``left_x`` ↔ ``right_x``."""
    index = {name: i for i, name in enumerate(names)}
    swapped = []
    for name in names:
        if name.startswith('left_'):
            name = 'right_' + name[len('left_'):]
        elif name.startswith('right_'):
            name = 'left_' + name[len('right_'):]
        swapped.append(index[name])
    return tuple(swapped)


def _ibug68_mirror() -> Tuple[int, ...]:
    """The 68-point iBUG/300-W face layout (dlib's, MMPose's 300W): each
    contour is mirrored about the face's vertical axis."""
    pairs = {}

    def reverse(indices):
        for a, b in zip(indices, reversed(indices)):
            pairs[a] = b

    reverse(range(0, 17))  # jaw
    reverse(list(range(17, 22)) + list(range(22, 27)))  # brows
    pairs.update({i: i for i in range(27, 31)})  # nose bridge: on the axis
    reverse(range(31, 36))  # nose bottom
    # eyes: 36-41 (image-left eye) and 42-47, each listed clockwise
    for a, b in zip((36, 37, 38, 39, 40, 41), (45, 44, 43, 42, 47, 46)):
        pairs[a], pairs[b] = b, a
    reverse(range(48, 55))  # upper outer lip
    reverse(range(55, 60))  # lower outer lip
    reverse(range(60, 65))  # upper inner lip
    reverse(range(65, 68))  # lower inner lip
    return tuple(pairs[i] for i in range(68))


MIRROR_PERMUTATIONS: Dict[str, Tuple[int, ...]] = dict(
    openpose18=mirror_permutation(OPENPOSE18_NAMES),
    ibug68=_ibug68_mirror())


def scale_points(points: np.ndarray, from_shape: Sequence[int],
                 to_shape: Sequence[int]) -> np.ndarray:
    """(K, 2) pixel coordinates (x, y) in an image of ``from_shape`` (h, w)
    to the same places in one resized to ``to_shape``: pixel centres map to
    pixel centres, x' = (x + 0.5) · W / w - 0.5. Missing points (negative
    coordinates) stay (-1, -1)."""
    points = np.asarray(points, np.float64)
    ratio = np.array([to_shape[1] / from_shape[1],
                      to_shape[0] / from_shape[0]])
    missing = (points < 0).any(axis=1, keepdims=True)
    return np.where(missing, -1.0, (points + 0.5) * ratio - 0.5)
