"""Horizontal flip of images together with the keypoints drawn on them."""
from typing import Dict, Sequence, Union

import mmcv
import numpy as np
from mmagic.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ..point_layouts import MIRROR_PERMUTATIONS


@TRANSFORMS.register_module()
class FlipWithPoints(BaseTransform):
    """With probability ``flip_ratio``, flips ``keys`` horizontally and
    mirrors the point sets in ``point_layouts``, so that a condition rendered
    from the points afterwards matches the flipped image.

    A point set ``results[name]`` is (K, 2) float (x, y) in the pixel
    coordinates of an image of size ``results[name + '_image_shape']``
    (h, w); mirroring maps x to ``w - 1 - x`` and reorders the points by the
    layout's permutation (left and right joints swap names), so a flipped
    left wrist is still stored as the left wrist. Missing points (negative
    coordinates, score 0 in ``results[name + '_scores']``) stay missing.

    Args:
        keys: image keys flipped with the points (e.g. ``['gt']``).
        point_layouts: point-set key → layout name in
            ``MIRROR_PERMUTATIONS`` (``'openpose18'``, ``'ibug68'``).
        flip_ratio: probability of flipping.
    """

    def __init__(self,
                 keys: Union[str, Sequence[str]],
                 point_layouts: Dict[str, str],
                 flip_ratio: float = 0.5) -> None:
        unknown = set(point_layouts.values()) - set(MIRROR_PERMUTATIONS)
        if unknown:
            raise ValueError(
                f'FlipWithPoints: unknown point layouts {sorted(unknown)}; '
                f'known: {sorted(MIRROR_PERMUTATIONS)}')
        self.keys = [keys] if isinstance(keys, str) else list(keys)
        self.point_layouts = dict(point_layouts)
        self.flip_ratio = flip_ratio

    def transform(self, results: dict) -> dict:
        flip = np.random.random() < self.flip_ratio
        results.setdefault('flip_infos', []).append(
            dict(
                keys=self.keys + list(self.point_layouts),
                direction='horizontal',
                ratio=self.flip_ratio,
                flip=flip))
        if not flip:
            return results
        for key in self.keys:
            results[key] = mmcv.imflip(results[key], 'horizontal')
        for name, layout in self.point_layouts.items():
            self.mirror_points(results, name, MIRROR_PERMUTATIONS[layout])
        return results

    @staticmethod
    def mirror_points(results: dict, name: str, permutation) -> None:
        points = np.asarray(results[name], np.float32)
        if points.shape != (len(permutation), 2):
            raise ValueError(
                f'FlipWithPoints: results[{name!r}] has shape {points.shape}'
                f', expected ({len(permutation)}, 2)')
        width = results[name + '_image_shape'][1]
        missing = points[:, 0] < 0
        mirrored = points.copy()
        mirrored[:, 0] = np.where(missing, points[:, 0],
                                  width - 1 - points[:, 0])
        results[name] = mirrored[list(permutation)]
        if name + '_scores' in results:
            results[name + '_scores'] = np.asarray(
                results[name + '_scores'])[list(permutation)]
