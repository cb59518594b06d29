"""CelebA-HQ face edge conditions: face structure (68 landmarks or
CelebAMask-HQ parts) drawn as lines, plus Canny edges of what the structure
does not cover, plus distance maps to each structure element."""
from typing import Sequence, Tuple

import cv2
import numpy as np
from mmagic.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ..face_structure_files import (PART_LABELS, PART_NAMES, read_landmarks,
                                    read_part_masks)
from ..keypoint_files import check_points_in_image
from ..point_layouts import scale_points
from .distance_map import distance_map
from .edge_condition import CannyEdges

# Runs (first, last, closed) of the iBUG 68-point layout joined into
# polylines, grouped so that each group is its own mirror image: a flip
# (FlipWithPoints with 'ibug68') maps every group's lines onto themselves,
# so each distance channel keeps its meaning. The lower nose is closed
# through the bridge tip (30): the open polyline 30-35 is not symmetric.
LANDMARK_GROUPS = (
    ('jaw', ((0, 16, False), )),
    ('brows', ((17, 21, False), (22, 26, False))),
    ('nose', ((27, 30, False), (30, 35, True))),
    ('eyes', ((36, 41, True), (42, 47, True))),
    ('lips', ((48, 59, True), (60, 67, True))),
)
# edges, one distance map per group, lines only
LANDMARK_EDGE_CHANNELS = 1 + len(LANDMARK_GROUPS) + 1
# edges, one distance map per part (PART_NAMES order), part boundaries only
PART_EDGE_CHANNELS = 1 + len(PART_NAMES) + 1


def _mirrored_part_labels() -> np.ndarray:
    """Label → its label after a horizontal flip, which puts a left part
    where the right one belongs."""
    mirrored = np.arange(len(PART_NAMES) + 1, dtype=np.uint8)
    for left, right in (('l_eye', 'r_eye'), ('l_brow', 'r_brow'),
                        ('l_ear', 'r_ear')):
        mirrored[[PART_LABELS[left], PART_LABELS[right]]] = (
            PART_LABELS[right], PART_LABELS[left])
    return mirrored


MIRRORED_PART_LABELS = _mirrored_part_labels()


@TRANSFORMS.register_module()
class LoadFaceLandmarks(BaseTransform):
    """Reads ``results[key + '_path']`` (see :func:`read_landmarks`) into
    ``results['landmarks']`` (68, 2) float32 and
    ``results['landmarks_image_shape']`` (h, w): the frame the points are in,
    from the file, else the loaded image's ``results['ori_' + image_key +
    '_shape']``.

    Landmarks that would be drawn at the wrong place are an error naming
    the file: a file that records another size than the loaded image's
    (nothing tells a resized copy's landmarks from a wrong size), or fewer
    than half the points inside their frame (``check_points_in_image``).
    """

    def __init__(self, key: str = 'cond', image_key: str = 'gt') -> None:
        self.key = key
        self.image_key = image_key

    def transform(self, results: dict) -> dict:
        path = results[self.key + '_path']
        landmarks, recorded_shape = read_landmarks(path)
        shape_key = f'ori_{self.image_key}_shape'
        loaded_shape = (tuple(int(s) for s in results[shape_key][:2])
                        if shape_key in results else None)
        image_path = results.get(self.image_key + '_path',
                                 'of the given size')
        if recorded_shape is None:
            if loaded_shape is None:
                raise KeyError(
                    f'LoadFaceLandmarks: {path} does not give the image '
                    f'size and there is no {shape_key!r}; load the image '
                    'first')
            image_shape, image_name = loaded_shape, f'image {image_path}'
        else:
            if loaded_shape not in (None, recorded_shape):
                raise ValueError(
                    f'{path} records landmarks of a {recorded_shape[1]}×'
                    f'{recorded_shape[0]} (w×h) image, but image '
                    f'{image_path} is {loaded_shape[1]}×{loaded_shape[0]}: '
                    'find the landmarks on this image (or correct the '
                    "file's image_width and image_height)")
            image_shape, image_name = recorded_shape, 'image the file records'
        check_points_in_image(landmarks, image_shape, path, 'landmarks',
                              image_name)
        results['landmarks'] = landmarks
        results['landmarks_image_shape'] = image_shape
        return results


@TRANSFORMS.register_module()
class LoadFaceParts(BaseTransform):
    """Reads the part masks ``results[paths_key]`` (part name → file, see
    :func:`read_part_masks`) into ``results[out_key]``, an (H, W, 1) uint8
    label map (``PART_LABELS``)."""

    def __init__(self,
                 paths_key: str = 'part_mask_paths',
                 out_key: str = 'face_parts') -> None:
        self.paths_key = paths_key
        self.out_key = out_key

    def transform(self, results: dict) -> dict:
        results[self.out_key] = read_part_masks(
            results[self.paths_key])[..., None]
        return results


@TRANSFORMS.register_module()
class RenderFaceEdges(BaseTransform):
    """Renders the face edge condition at the current size of
    ``results[image_key]`` into ``results[out_key]``, (H, W, C) float32 in
    [0, 1].

    ``source='landmarks'`` (``results['landmarks']`` in the frame
    ``results['landmarks_image_shape']``), C = ``LANDMARK_EDGE_CHANNELS``:
    0: landmark lines ∪ Canny edges outside the landmarks' convex hull;
    1–5: distance to each group of ``LANDMARK_GROUPS``; 6: lines only.

    ``source='parts'`` (``results['face_parts']``, resized with nearest
    neighbours), C = ``PART_EDGE_CHANNELS``: 0: part boundaries ∪ Canny
    edges on background and hair; 1–13: distance to each part's boundary
    (``PART_NAMES`` order); 14: part boundaries only.

    Lines are the pixels whose centre lies within ``line_width / 2`` of a
    segment; a part boundary is the part's pixels with a 4-neighbour outside
    it. Distance maps are L1 distances to those pixels, divided by 3,
    clipped at 255 and scaled to [0, 1]. Canny edges are those of
    :class:`CannyEdges` with the given thresholds.

    Flips: landmarks must be flipped with the image by ``FlipWithPoints``
    (which also renumbers them). Part maps are flipped with the image by
    MMagic's ``Flip(keys=[image_key, 'face_parts'])``; an odd number of
    horizontal flips recorded in ``results['flip_infos']`` swaps the left
    and right part labels, so ``l_eye`` stays on the side where unflipped
    faces have it. A structure flipped differently from the image is an
    error.
    """

    def __init__(self,
                 source: str = 'landmarks',
                 out_key: str = 'cond',
                 image_key: str = 'gt',
                 low_threshold: int = 60,
                 high_threshold: int = 140,
                 line_width: float = 1.0) -> None:
        if source not in ('landmarks', 'parts'):
            raise ValueError(f"RenderFaceEdges: source must be 'landmarks' "
                             f"or 'parts', got {source!r}")
        if line_width <= 0:
            raise ValueError(
                f'RenderFaceEdges: line_width must be > 0, got {line_width}')
        self.source = source
        self.out_key = out_key
        self.image_key = image_key
        self.canny = CannyEdges(
            key='image',
            out_key='edges',
            low_threshold=low_threshold,
            high_threshold=high_threshold)
        self.line_width = line_width

    def transform(self, results: dict) -> dict:
        image = results[self.image_key]
        if image.dtype != np.uint8:
            raise ValueError(f'RenderFaceEdges: results[{self.image_key!r}] '
                             f'must be uint8 for Canny, got {image.dtype}')
        canny = self.canny(dict(image=image))['edges'][..., 0] > 0
        if self.source == 'landmarks':
            self._check_flipped_with_image(results, 'landmarks')
            results[self.out_key] = self.render_landmarks(
                results['landmarks'], results['landmarks_image_shape'],
                canny)
        else:
            flipped = self._check_flipped_with_image(results, 'face_parts')
            labels = results['face_parts'][..., 0]
            if flipped:
                labels = MIRRORED_PART_LABELS[labels]
            results[self.out_key] = self.render_parts(labels, canny)
        return results

    def render_landmarks(self, landmarks: np.ndarray,
                         landmarks_image_shape: Sequence[int],
                         canny: np.ndarray) -> np.ndarray:
        """Landmarks (68, 2) in an image of ``landmarks_image_shape`` → the
        ``LANDMARK_EDGE_CHANNELS`` maps at the size of ``canny`` (H, W)."""
        shape = canny.shape
        points = scale_points(landmarks, landmarks_image_shape, shape)
        group_lines = []
        for _, runs in LANDMARK_GROUPS:
            segments = [
                segment for first, last, closed in runs
                for segment in run_segments(points, first, last, closed)
            ]
            group_lines.append(
                draw_segments(shape, segments, self.line_width / 2))
        lines = np.logical_or.reduce(group_lines)
        outside_face = ~convex_hull_mask(shape, points)
        return np.stack(
            [lines | (canny & outside_face)] +
            [distance_map(group) for group in group_lines] + [lines],
            axis=-1).astype(np.float32)

    @staticmethod
    def render_parts(labels: np.ndarray, canny: np.ndarray) -> np.ndarray:
        """Part label map (h, w) → the ``PART_EDGE_CHANNELS`` maps at the
        size of ``canny`` (H, W)."""
        height, width = canny.shape
        if labels.shape != canny.shape:
            labels = cv2.resize(
                labels, (width, height),
                interpolation=cv2.INTER_NEAREST_EXACT)
        part_boundaries = [
            inner_boundary(labels == label)
            for label in range(1, len(PART_NAMES) + 1)
        ]
        boundaries = np.logical_or.reduce(part_boundaries)
        background_or_hair = (labels == 0) | (labels == PART_LABELS['hair'])
        return np.stack(
            [boundaries | (canny & background_or_hair)] +
            [distance_map(boundary) for boundary in part_boundaries] +
            [boundaries],
            axis=-1).astype(np.float32)

    def _check_flipped_with_image(self, results: dict, key: str) -> bool:
        """Whether ``key`` was flipped horizontally (an odd number of
        times); it must have been flipped exactly when the image was."""
        flips = [
            info for info in results.get('flip_infos', [])
            if info['flip'] and info['direction'] == 'horizontal'
        ]
        flipped = sum(key in info['keys'] for info in flips) % 2 == 1
        if flipped != (sum(self.image_key in info['keys']
                           for info in flips) % 2 == 1):
            raise ValueError(
                f'RenderFaceEdges: {key!r} and {self.image_key!r} were not '
                f'flipped together ({results["flip_infos"]}); flip them in '
                'the same transform')
        return flipped


def run_segments(points: np.ndarray, first: int, last: int,
                 closed: bool) -> list:
    """Segments ((x0, y0), (x1, y1)) joining points first..last in order,
    and last back to first if ``closed``."""
    indices = list(range(first, last + 1)) + ([first] if closed else [])
    return [(points[a], points[b]) for a, b in zip(indices, indices[1:])]


def draw_segments(shape: Tuple[int, int], segments: list,
                  half_width: float) -> np.ndarray:
    """(H, W) bool: pixels whose centre (x = column, y = row) lies within
    ``half_width`` of a segment. Ties count as inside, so mirrored segments
    draw mirrored pixels."""
    height, width = shape
    mask = np.zeros(shape, bool)
    reach = half_width**2 + 1e-9
    for start, end in segments:
        low = np.floor(np.minimum(start, end) - half_width).astype(int)
        high = np.ceil(np.maximum(start, end) + half_width).astype(int)
        col0, row0 = np.maximum(low, 0)
        col1, row1 = np.minimum(high, (width - 1, height - 1))
        if col0 > col1 or row0 > row1:
            continue
        rows, cols = np.mgrid[row0:row1 + 1, col0:col1 + 1]
        direction = end - start
        length2 = float(direction @ direction)
        along = 0.0 if length2 == 0 else np.clip(
            ((cols - start[0]) * direction[0] +
             (rows - start[1]) * direction[1]) / length2, 0, 1)
        off_x = cols - start[0] - along * direction[0]
        off_y = rows - start[1] - along * direction[1]
        mask[row0:row1 + 1, col0:col1 + 1] |= off_x**2 + off_y**2 <= reach
    return mask


def convex_hull_mask(shape: Tuple[int, int],
                     points: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixel centres inside or on the convex hull of
    ``points``."""
    hull = cv2.convexHull(points.astype(np.float32))[:, 0].astype(np.float64)
    starts, edges = hull, np.roll(hull, -1, axis=0) - hull
    # The sign of the hull's area gives its turning direction: pixels inside
    # lie on that side of every edge.
    turn = np.sign(np.sum(starts[:, 0] * edges[:, 1] -
                          starts[:, 1] * edges[:, 0]))
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    inside = np.ones(shape, bool)
    for start, edge in zip(starts, edges):
        side = edge[0] * (rows - start[1]) - edge[1] * (cols - start[0])
        inside &= side * turn >= -1e-9
    return inside


def inner_boundary(region: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels of ``region`` with a 4-neighbour outside it (the
    image border does not count as outside)."""
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    region = region.astype(np.uint8)
    return (region - cv2.erode(region, cross)) > 0
