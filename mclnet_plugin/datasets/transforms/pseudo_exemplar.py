"""Pseudo exemplar pairs: an augmented ground truth as exemplar (Eq. 5)."""
from typing import Tuple

import cv2
import numpy as np
from mmagic.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class PseudoExemplar(BaseTransform):
    """With probability ``prob``, the exemplar becomes an augmented copy of
    the ground truth (the pseudo pair of Eq. 5) and ``is_pseudo_pair`` is
    True; otherwise the exemplar already in ``results`` is kept.

    Geometric augmentation: a random rotation (±``degrees``), isotropic
    scale in ``scale`` and shift (± ``translate`` of the size), reflecting at
    the border. Photometric: brightness and contrast factors in
    1 ± ``brightness``/``contrast`` and a hue shift of ± ``hue`` turns.

    A pseudo pair also records ``exemplar_affine``: the 2×3 float32 matrix
    that took the ground truth to the exemplar (ground-truth pixel x is
    exemplar pixel ``matrix·x``, (x, y) coordinates), so its true
    correspondence is known (the demo's oracle warp,
    ``mclnet_plugin.evaluation.oracle_warp``); add it to ``PackInputs``'s
    ``meta_keys`` to keep it.

    Args:
        key: the ground-truth image (H, W, 3) uint8, RGB.
        exemplar_key: where the exemplar is read or written.
        prob: probability of a pseudo pair (1.0 in the demo).
    """

    def __init__(self,
                 key: str = 'gt',
                 exemplar_key: str = 'exemplar',
                 prob: float = 1.0,
                 degrees: float = 20.0,
                 scale: Tuple[float, float] = (0.85, 1.15),
                 translate: float = 0.12,
                 brightness: float = 0.2,
                 contrast: float = 0.2,
                 hue: float = 0.03) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'PseudoExemplar: prob must be in [0, 1], '
                             f'got {prob}')
        self.key = key
        self.exemplar_key = exemplar_key
        self.prob = prob
        self.degrees = degrees
        self.scale = scale
        self.translate = translate
        self.brightness = brightness
        self.contrast = contrast
        self.hue = hue

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            if self.exemplar_key not in results:
                raise KeyError(
                    f'PseudoExemplar: no {self.exemplar_key!r} in the sample '
                    f'({results.get(self.key + "_path", "")}) to keep when '
                    'no pseudo pair is drawn; load an exemplar first or set '
                    'prob=1')
            # a pair flagged before (ChooseExemplar's self-reference) stays
            results.setdefault('is_pseudo_pair', False)
            return results
        image = results[self.key]
        matrix = self.random_matrix(*image.shape[:2])
        results[self.exemplar_key] = self.jitter_colour(
            cv2.warpAffine(
                image,
                matrix, (image.shape[1], image.shape[0]),
                borderMode=cv2.BORDER_REFLECT))
        results['exemplar_affine'] = matrix.astype(np.float32)
        results['is_pseudo_pair'] = True
        return results

    def random_matrix(self, height: int, width: int) -> np.ndarray:
        """A random 2×3 affine (rotation about the centre, scale, shift)."""
        matrix = cv2.getRotationMatrix2D(
            (width / 2, height / 2),
            np.random.uniform(-self.degrees, self.degrees),
            np.random.uniform(*self.scale))
        matrix[:, 2] += np.random.uniform(
            -self.translate, self.translate, size=2) * (width, height)
        return matrix

    def jitter_colour(self, image: np.ndarray) -> np.ndarray:
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV_FULL).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] +
                       256 * np.random.uniform(-self.hue, self.hue)) % 256
        image = cv2.cvtColor(
            hsv.round().astype(np.uint8), cv2.COLOR_HSV2RGB_FULL)
        image = image.astype(np.float32)
        mean = image.mean()
        contrast = np.random.uniform(1 - self.contrast, 1 + self.contrast)
        brightness = np.random.uniform(1 - self.brightness,
                                       1 + self.brightness)
        image = ((image - mean) * contrast + mean) * brightness
        return image.clip(0, 255).round().astype(np.uint8)
