"""Canny edge maps as conditions (the demo; CelebA-HQ-style edge inputs)."""
import cv2
import numpy as np
from mmagic.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class CannyEdges(BaseTransform):
    """Adds ``results[out_key]``: the Canny edges of ``results[key]``.

    The image (H, W, 3) or (H, W) uint8 is blurred (3×3 Gaussian), converted
    to grey and passed to ``cv2.Canny(low, high)``; the edge map is stored as
    (H, W, 1) float32 in {0, 1}.
    """

    def __init__(self,
                 key: str = 'gt',
                 out_key: str = 'cond',
                 low_threshold: int = 60,
                 high_threshold: int = 140) -> None:
        self.key = key
        self.out_key = out_key
        self.low_threshold = low_threshold
        self.high_threshold = high_threshold

    def transform(self, results: dict) -> dict:
        image = results[self.key]
        if image.dtype != np.uint8:
            raise ValueError(f'CannyEdges: results[{self.key!r}] must be '
                             f'uint8, got {image.dtype}')
        grey = image if image.ndim == 2 else cv2.cvtColor(
            image, cv2.COLOR_RGB2GRAY)
        edges = cv2.Canny(
            cv2.GaussianBlur(grey, (3, 3), 0), self.low_threshold,
            self.high_threshold)
        results[self.out_key] = (edges[..., None] > 0).astype(np.float32)
        return results
