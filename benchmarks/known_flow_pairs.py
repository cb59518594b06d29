"""Photos → (condition, exemplar, ground truth, true correspondence) pairs
for the correspondence benchmark.

Synthetic pairs: a square crop of a photo is the ground truth Y; the
exemplar Z is Y resampled through a random ``KnownWarp`` and
colour-jittered (``PseudoExemplar``'s jitter); the condition X is derived
from Y: Canny edges (``CannyEdges``, 1 channel) or a dense coarse
segmentation (SLIC superpixels coloured by the nearest of K palette
colours, one-hot). Real pairs: ``skimage.data.stereo_motorcycle``, left
image = Y, right image = Z, correspondence from the disparity.
"""
import glob
import os.path as osp
from typing import Dict, List, Sequence

import cv2
import numpy as np
import skimage.data
import skimage.io
from known_flow import KnownWarp, remap, stereo_correspondence
from scipy.cluster.vq import kmeans2
from skimage.segmentation import slic

from mclnet_plugin.datasets.bundled_photos import bundled_photo_folder
from mclnet_plugin.datasets.transforms import CannyEdges, PseudoExemplar
from mclnet_plugin.evaluation.oracle_warp import pool_correspondence

# Colour photos inside the scikit-image wheel; the motorcycle pair is the
# real (stereo) case, so neither of its photos is trained on.
TRAIN_PHOTOS = ('astronaut.png', 'coffee.png', 'rocket.jpg', 'ihc.png',
                'hubble_deep_field.jpg', 'retina.jpg')
HELD_OUT_PHOTOS = ('chelsea.png', 'motorcycle_left.png')
CONDITIONS = ('edges', 'segments')
PHOTO_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


def load_photo(path: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB."""
    image = skimage.io.imread(path)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return np.ascontiguousarray(image[..., :3]).astype(np.uint8)


def load_photos(extra_dir: str = None) -> Dict[str, List[np.ndarray]]:
    """{'train': [...], 'held_out': [...]}: the bundled photos, plus those of
    ``extra_dir`` (sorted; every fourth one, at least one, held out)."""
    folder = bundled_photo_folder()
    photos = dict(
        train=[load_photo(osp.join(folder, name)) for name in TRAIN_PHOTOS],
        held_out=[
            load_photo(osp.join(folder, name)) for name in HELD_OUT_PHOTOS
        ])
    if extra_dir:
        paths = sorted(
            path for path in glob.glob(osp.join(extra_dir, '*'))
            if path.lower().endswith(PHOTO_EXTENSIONS))
        if not paths:
            raise FileNotFoundError(f'--photos {extra_dir}: no images '
                                    f'({", ".join(PHOTO_EXTENSIONS)})')
        for index, path in enumerate(paths):
            split = 'held_out' if index % 4 == 3 or len(paths) == 1 \
                else 'train'
            photos[split].append(load_photo(path))
    return photos


def random_crop(photo: np.ndarray, size: int, rng: np.random.Generator,
                min_side: float = 0.5) -> np.ndarray:
    """A random square crop (side ``min_side``–1 × the short side), resized
    to size×size, flipped with probability 0.5."""
    height, width = photo.shape[:2]
    side = int(round(min(height, width) * rng.uniform(min_side, 1.0)))
    top = rng.integers(0, height - side + 1)
    left = rng.integers(0, width - side + 1)
    crop = cv2.resize(photo[top:top + side, left:left + side], (size, size),
                      interpolation=cv2.INTER_AREA)
    return crop[:, ::-1].copy() if rng.random() < 0.5 else crop


def fit_palette(photos: Sequence[np.ndarray], num_classes: int,
                seed: int = 0) -> np.ndarray:
    """(K, 3) colours: k-means of the training photos' pixels (every 8th
    row and column), so that class k means one colour in every photo."""
    pixels = np.concatenate(
        [photo[::8, ::8].reshape(-1, 3) for photo in photos]).astype(float)
    palette, _ = kmeans2(pixels, num_classes, minit='++', seed=seed)
    return palette.astype(np.float32)


def segment_classes(image: np.ndarray, palette: np.ndarray,
                    num_segments: int = 48) -> np.ndarray:
    """(H, W) class ids: SLIC superpixels, each given the palette colour
    nearest to its mean colour."""
    segments = slic(image, n_segments=num_segments, compactness=10,
                    start_label=0)
    counts = np.bincount(segments.ravel())
    means = np.stack([
        np.bincount(segments.ravel(), weights=image[..., c].ravel()) /
        np.maximum(counts, 1) for c in range(3)
    ], axis=-1)  # (S, 3)
    nearest = np.linalg.norm(means[:, None] - palette[None], axis=-1)
    return nearest.argmin(axis=1)[segments]


def condition_map(image: np.ndarray, condition: str,
                  palette: np.ndarray) -> np.ndarray:
    """(C, H, W) float32 condition of an (H, W, 3) uint8 photo."""
    if condition == 'edges':
        edges = CannyEdges().transform(dict(gt=image))['cond']
        return edges.transpose(2, 0, 1)
    if condition == 'segments':
        classes = segment_classes(image, palette)
        return (classes[None] == np.arange(len(palette))[:, None, None]
                ).astype(np.float32)
    raise ValueError(f'unknown condition {condition!r}; one of {CONDITIONS}')


def to_tensor_layout(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 → (3, H, W) float32 in [-1, 1] (the demo's range)."""
    return image.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1


def make_pair(truth: np.ndarray, exemplar: np.ndarray, corr: np.ndarray,
              valid: np.ndarray, condition: str, palette: np.ndarray,
              stride: int) -> dict:
    """One benchmark sample; ``cell_corr`` (h, w, 2) cell units."""
    cell_corr, cell_valid = pool_correspondence(corr, valid, stride)
    return dict(
        cond=condition_map(truth, condition, palette),
        exemplar=to_tensor_layout(exemplar),
        gt=to_tensor_layout(truth),
        cell_corr=cell_corr.astype(np.float32),
        cell_valid=cell_valid)


def synthetic_pair(photo: np.ndarray, size: int, stride: int,
                   condition: str, palette: np.ndarray,
                   rng: np.random.Generator) -> dict:
    """A random crop of ``photo``, its warped and jittered exemplar and the
    true correspondence."""
    truth = random_crop(photo, size, rng)
    warp = KnownWarp.random(size, rng)
    np.random.seed(rng.integers(2**31))  # PseudoExemplar draws from numpy
    exemplar = PseudoExemplar().jitter_colour(
        remap(truth, warp.sampling_map()))
    corr, valid = warp.correspondence()
    return make_pair(truth, exemplar, corr, valid, condition, palette,
                     stride)


def stereo_pairs(size: int, stride: int, condition: str,
                 palette: np.ndarray, num_crops: int = 3) -> List[dict]:
    """Square crops (the full height, spread along the width) of the
    Middlebury motorcycle pair at size×size: truth = left, exemplar =
    right (unjittered: a real second view)."""
    left, right, disparity = skimage.data.stereo_motorcycle()
    height, width = disparity.shape
    pairs = []
    for left_edge in np.linspace(0, width - height, num_crops).astype(int):
        window = np.s_[:, left_edge:left_edge + height]
        corr, valid = stereo_correspondence(disparity[window])
        scale = size / height
        # pixel centres: x' = (x + 0.5)·scale − 0.5; nearest keeps inf out
        corr = cv2.resize((corr + 0.5) * scale - 0.5, (size, size),
                          interpolation=cv2.INTER_NEAREST)
        valid = cv2.resize(valid.astype(np.uint8), (size, size),
                           interpolation=cv2.INTER_NEAREST) > 0
        truth, exemplar = (cv2.resize(image[window], (size, size),
                                      interpolation=cv2.INTER_AREA)
                           for image in (left, right))
        pairs.append(
            make_pair(truth, exemplar, corr, valid, condition, palette,
                      stride))
    return pairs
