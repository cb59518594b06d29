"""The distance-map channels of the pose and face conditions (CoCosNet's
encoding): how far each pixel is from a structure, so the encoders see the
structure's neighbourhood, not only its thin lines."""
import cv2
import numpy as np

DISTANCE_STEP = 3  # px of L1 distance per level of the 255


def distance_map(targets: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1]: L1 distance to the nearest ``targets``
    pixel in ``DISTANCE_STEP`` px, clipped at 255 steps and divided by 255;
    1.0 everywhere without targets (nothing is far from everything)."""
    if not targets.any():
        return np.ones(targets.shape, np.float32)
    outside = np.where(targets, 0, 255).astype(np.uint8)
    # DIST_L1 with a 3×3 mask is the exact city-block distance.
    distance = cv2.distanceTransform(outside, cv2.DIST_L1, 3)
    return np.minimum(distance / DISTANCE_STEP, 255).astype(np.float32) / 255
