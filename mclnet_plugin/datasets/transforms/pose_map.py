"""DeepFashion pose conditions: body keypoints rendered as the 20-channel
map of CoCosNet and MCL-Net.

Channels 0-2 are an OpenPose-style skeleton in colour; channels 3-19 hold,
for each of the 17 limbs, the L1 distance of every pixel to the limb
(``distance_map``: 3 px per level, saturating at 1.0 = 255 levels).
"""
import colorsys
from typing import Tuple

import numpy as np
from mmagic.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ..keypoint_files import check_points_in_image, load_pose_keypoints
from ..point_layouts import OPENPOSE18_NAMES, scale_points
from .distance_map import distance_map

# OpenPose's 17 limbs, each drawn from its first joint to its second.
LIMB_NAMES = (
    ('neck', 'right_shoulder'), ('neck', 'left_shoulder'),
    ('right_shoulder', 'right_elbow'), ('right_elbow', 'right_wrist'),
    ('left_shoulder', 'left_elbow'), ('left_elbow', 'left_wrist'),
    ('neck', 'right_hip'), ('right_hip', 'right_knee'),
    ('right_knee', 'right_ankle'),
    ('neck', 'left_hip'), ('left_hip', 'left_knee'),
    ('left_knee', 'left_ankle'),
    ('neck', 'nose'), ('nose', 'right_eye'), ('right_eye', 'right_ear'),
    ('nose', 'left_eye'), ('left_eye', 'left_ear'))
LIMBS = tuple((OPENPOSE18_NAMES.index(start), OPENPOSE18_NAMES.index(end))
              for start, end in LIMB_NAMES)
# OpenPose's demo palette: 18 saturated RGB colours 20° apart in hue, from
# red; joint i and limb i are drawn in colour i.
PALETTE = tuple(
    tuple(round(255 * channel) for channel in colorsys.hsv_to_rgb(
        i / len(OPENPOSE18_NAMES), 1, 1))
    for i in range(len(OPENPOSE18_NAMES)))
LIMB_OPACITY = 0.6  # a limb's colour over what is under it, as in OpenPose


def limb_mask(start: np.ndarray, end: np.ndarray, half_width: float,
              shape: Tuple[int, int]) -> np.ndarray:
    """(H, W) bool: pixel centres inside OpenPose's limb from ``start`` to
    ``end`` (x, y), an ellipse centred between them with half-axes half
    their distance along the limb and ``half_width`` across it.

    Rasterised from the exact ellipse rather than cv2's integer polygon, so
    sub-pixel joints survive resizing and a flipped pose gives the mirror
    image pixel for pixel.
    """
    centre = (start + end) / 2
    length = np.hypot(*(end - start))
    # a zero-length limb still covers its pixel, upright like OpenPose's
    cos, sin = (end - start) / length if length > 0 else (1.0, 0.0)
    half_length = max(length / 2, 0.5)
    xs = np.arange(shape[1])[None, :] - centre[0]
    ys = np.arange(shape[0])[:, None] - centre[1]
    along = xs * cos + ys * sin
    across = ys * cos - xs * sin
    return (along / half_length)**2 + (across / half_width)**2 <= 1


def disc_mask(centre: np.ndarray, radius: float,
              shape: Tuple[int, int]) -> np.ndarray:
    """(H, W) bool: pixel centres within ``radius`` of ``centre`` (x, y)."""
    xs = np.arange(shape[1])[None, :] - centre[0]
    ys = np.arange(shape[0])[:, None] - centre[1]
    return xs**2 + ys**2 <= radius**2


def render_pose_map(keypoints: np.ndarray,
                    scores: np.ndarray,
                    shape: Tuple[int, int],
                    joint_radius: float = 4,
                    limb_width: float = 4) -> np.ndarray:
    """The (H, W, 20) float32 pose condition in [0, 1] of an OpenPose-18
    pose (keypoints (18, 2) in the pixels of an image of ``shape``).

    Joints with score 0 or negative coordinates are missing: they are not
    drawn, nor is any limb that ends at one, whose distance map is then 1.0
    (far) everywhere. Joints are discs of ``joint_radius`` px; limbs are
    ellipses ``limb_width`` px wide on either side of the joint-to-joint
    segment (OpenPose's stick width), laid over the skeleton drawn so far
    at ``LIMB_OPACITY``.
    """
    keypoints = np.asarray(keypoints, np.float64)
    present = (np.asarray(scores) > 0) & (keypoints >= 0).all(axis=1)
    skeleton = np.zeros((*shape, 3))
    for joint in np.flatnonzero(present):
        skeleton[disc_mask(keypoints[joint], joint_radius,
                           shape)] = PALETTE[joint]
    distance_maps = []
    for limb, (start, end) in enumerate(LIMBS):
        if present[start] and present[end]:
            mask = limb_mask(keypoints[start], keypoints[end], limb_width,
                             shape)
            skeleton[mask] = (1 - LIMB_OPACITY) * skeleton[mask] + \
                LIMB_OPACITY * np.array(PALETTE[limb])
        else:
            mask = np.zeros(shape, bool)
        distance_maps.append(distance_map(mask))
    return np.concatenate(
        [skeleton.astype(np.float32) / 255,
         np.stack(distance_maps, axis=-1)],
        axis=-1)


@TRANSFORMS.register_module()
class LoadPoseKeypoints(BaseTransform):
    """Reads the body pose in ``results[key + '_path']`` (our ``.json`` or
    an OpenPose ``*_candidate.txt``, see ``load_pose_keypoints``).

    Adds ``keypoints`` (18, 2) float32, OpenPose-18 order (x, y), missing
    joints (-1, -1); ``keypoints_scores`` (18,) float32, 0 for missing; and
    ``keypoints_image_shape`` (h, w), the image the coordinates are in:
    the JSON's, else the shape of ``image_key`` as loaded
    (``results['ori_' + image_key + '_shape']``, set by MMagic's
    ``LoadImageFromFile``), the photo OpenPose ran on.

    A pose that would draw nothing or the wrong thing is an error naming
    the file: no joint left, or fewer than half of them inside the image
    (``check_points_in_image``).

    Args:
        min_score: joints scoring less are missing. The default 0.1 is
            OpenPose's own peak threshold, so its files are drawn as
            released; MMPose scores every joint, and its visualiser hides
            those under 0.3.
    """

    def __init__(self,
                 key: str = 'cond',
                 image_key: str = 'gt',
                 min_score: float = 0.1) -> None:
        self.key = key
        self.image_key = image_key
        self.min_score = min_score

    def transform(self, results: dict) -> dict:
        path = results[self.key + '_path']
        keypoints, scores, image_shape = load_pose_keypoints(path)
        image_name = 'image the file records'
        if image_shape is None:
            shape_key = f'ori_{self.image_key}_shape'
            if shape_key not in results:
                raise KeyError(
                    f'LoadPoseKeypoints: {path} does not record its image '
                    f'size and results has no {shape_key!r}; load '
                    f'{self.image_key!r} first')
            image_shape = results[shape_key][:2]
            image_name = 'image ' + str(
                results.get(self.image_key + '_path', 'of the given size'))
        missing = (scores < self.min_score) | (keypoints < 0).any(axis=1)
        keypoints[missing] = -1
        scores[missing] = 0
        if missing.all():
            raise ValueError(
                f'{path}: no joint scores min_score={self.min_score} or '
                'more; the pose condition would be blank')
        check_points_in_image(keypoints[~missing], image_shape, path, 'joints',
                              image_name)
        results['keypoints'] = keypoints
        results['keypoints_scores'] = scores
        results['keypoints_image_shape'] = tuple(int(s) for s in image_shape)
        return results


@TRANSFORMS.register_module()
class RenderPoseMap(BaseTransform):
    """Adds ``results[out_key]``: the (H, W, 20) float32 pose condition of
    ``render_pose_map`` at the current size of ``results[image_key]``.

    Reads ``keypoints``, ``keypoints_scores`` and ``keypoints_image_shape``
    (``LoadPoseKeypoints``; flip them with the image by ``FlipWithPoints``
    before this) and scales the keypoints to the image, which may have
    been resized since. ``joint_radius`` and ``limb_width`` are in pixels
    of the rendered map (4 in CoCosNet's 256×256 maps).
    """

    def __init__(self,
                 out_key: str = 'cond',
                 image_key: str = 'gt',
                 joint_radius: float = 4,
                 limb_width: float = 4) -> None:
        self.out_key = out_key
        self.image_key = image_key
        self.joint_radius = joint_radius
        self.limb_width = limb_width

    def transform(self, results: dict) -> dict:
        shape = results[self.image_key].shape[:2]
        keypoints = scale_points(results['keypoints'],
                                 results['keypoints_image_shape'], shape)
        results[self.out_key] = render_pose_map(keypoints,
                                                results['keypoints_scores'],
                                                shape, self.joint_radius,
                                                self.limb_width)
        return results
