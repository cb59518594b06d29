"""One random crop shared by several aligned maps."""
from typing import Sequence, Tuple

import numpy as np
from mmagic.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class AlignedRandomCrop(BaseTransform):
    """Crops every key in ``keys`` at the same random window of
    ``crop_size`` (h, w), so a condition stays aligned with its image (MMagic's
    ``Crop`` draws a new window per key). All keys must share one size at
    least as large as the crop.
    """

    def __init__(self, keys: Sequence[str],
                 crop_size: Tuple[int, int]) -> None:
        self.keys = list(keys)
        self.crop_size = tuple(crop_size)

    def transform(self, results: dict) -> dict:
        shapes = {key: results[key].shape[:2] for key in self.keys}
        if len(set(shapes.values())) != 1:
            raise ValueError(f'AlignedRandomCrop: the maps differ in size '
                             f'{shapes} ({results.get("gt_path", "")})')
        height, width = shapes[self.keys[0]]
        crop_h, crop_w = self.crop_size
        if height < crop_h or width < crop_w:
            raise ValueError(
                f'AlignedRandomCrop: {height}×{width} (h×w) is smaller than '
                f'the crop {crop_h}×{crop_w} ({results.get("gt_path", "")})')
        top = np.random.randint(height - crop_h + 1)
        left = np.random.randint(width - crop_w + 1)
        for key in self.keys:
            results[key] = results[key][top:top + crop_h,
                                        left:left + crop_w].copy()
            results[key + '_crop_bbox'] = [left, top, crop_w, crop_h]
        return results
