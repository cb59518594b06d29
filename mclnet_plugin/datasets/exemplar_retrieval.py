"""Building exemplar lists: for each query image, the most similar other
images (what CoCosNet's retrieval files hold), by a descriptor per task."""
import logging
import os.path as osp
import re
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Dict, List, Optional, Sequence

import cv2
import numpy as np
from mmengine.logging import print_log

from .checked_decoding import read_checked_image
from .transforms.label_map import LoadLabelMap


def label_histogram(path: str, num_classes: int = 151) -> np.ndarray:
    """Class frequencies of a label PNG (ADE20K's retrieval descriptor): a
    scene is similar to another with the same mix of classes."""
    labels = LoadLabelMap(num_classes=num_classes, image_key=None)(dict(
        cond_path=path))['cond']
    histogram = np.bincount(labels.ravel(), minlength=num_classes)
    return histogram.astype(np.float32) / labels.size


def thumbnail_descriptor(path: str, size: int = 16) -> np.ndarray:
    """A cheap image descriptor (CelebA-HQ): the image shrunk to
    ``size``×``size`` RGB, mean-removed per channel, so faces of similar
    colours and layout are close."""
    image = read_checked_image(path)
    small = cv2.resize(image, (size, size),
                       interpolation=cv2.INTER_AREA).astype(np.float32)
    return (small - small.mean(axis=(0, 1))).ravel()


def compute_descriptors(describe: Callable[[str], np.ndarray],
                        paths: Sequence[str],
                        num_workers: int = 0,
                        log_every: int = 2000) -> np.ndarray:
    """(N, D) descriptors of ``paths``, with progress logs; ``num_workers``
    > 0 spreads the file decoding over processes."""
    start = time.time()
    rows: List[np.ndarray] = []

    def log_progress():
        if len(rows) % log_every == 0 or len(rows) == len(paths):
            rate = len(rows) / max(time.time() - start, 1e-9)
            print_log(f'descriptors: {len(rows)}/{len(paths)} '
                      f'({rate:.0f} images/s)', 'current', logging.INFO)

    if num_workers > 0:
        with ProcessPoolExecutor(num_workers) as pool:
            for row in pool.map(describe, paths, chunksize=64):
                rows.append(row)
                log_progress()
    else:
        for path in paths:
            rows.append(describe(path))
            log_progress()
    return np.stack(rows)


def most_similar(query: np.ndarray,
                 gallery: np.ndarray,
                 top_k: int,
                 same_set: bool,
                 chunk_size: int = 1024) -> np.ndarray:
    """(Nq, top_k) gallery indices by descending cosine similarity of the
    descriptors; with ``same_set`` (query is gallery) an image never
    retrieves itself. Processed in chunks of queries to bound memory."""
    top_k = min(top_k, len(gallery) - int(same_set))
    if top_k < 1:
        raise ValueError('exemplar retrieval needs at least one other image')

    def normalise(x):
        x = x.astype(np.float32)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)

    query, gallery = normalise(query), normalise(gallery)
    result = np.empty((len(query), top_k), np.int64)
    for begin in range(0, len(query), chunk_size):
        similarity = query[begin:begin + chunk_size] @ gallery.T
        if same_set:
            rows = np.arange(similarity.shape[0])
            similarity[rows, rows + begin] = -np.inf
        candidates = np.argpartition(-similarity, top_k - 1,
                                     axis=1)[:, :top_k]
        order = np.argsort(
            -np.take_along_axis(similarity, candidates, axis=1),
            axis=1,
            kind='stable')
        result[begin:begin + chunk_size] = np.take_along_axis(
            candidates, order, axis=1)
    return result


def retrieve_exemplars(query_names: Sequence[str],
                       query_descriptors: np.ndarray,
                       gallery_names: Optional[Sequence[str]] = None,
                       gallery_descriptors: Optional[np.ndarray] = None,
                       top_k: int = 10) -> Dict[str, List[str]]:
    """Query name → its ``top_k`` most similar gallery names. Without a
    gallery, the queries are their own gallery (training lists)."""
    same_set = gallery_names is None
    if same_set:
        gallery_names, gallery_descriptors = query_names, query_descriptors
    indices = most_similar(query_descriptors, gallery_descriptors, top_k,
                           same_set)
    return {
        name: [gallery_names[j] for j in row]
        for name, row in zip(query_names, indices)
    }


# DeepFashion In-shop file names: <outfit>_<view index>_<view>.jpg inside
# one folder per person (id_xxxxxxxx).
_DEEPFASHION_NAME = re.compile(r'^(\d+)_(\d+)_([a-z]+)$')


def same_outfit_exemplars(names: Sequence[str]) -> Dict[str, List[str]]:
    """DeepFashion: each photo's exemplars are the other views of the same
    person in the same outfit (same folder, same outfit number), in view
    order. A photo with no other view is its own exemplar (CoCosNet's
    self-reference), so that every query has a line."""
    groups: Dict[str, List[str]] = defaultdict(list)
    for name in names:
        stem = osp.splitext(osp.basename(name))[0]
        match = _DEEPFASHION_NAME.match(stem)
        if match is None:
            raise ValueError(
                f'{name}: not a DeepFashion In-shop file name '
                '(<outfit>_<view index>_<view>.jpg, e.g. 02_1_front.jpg)')
        groups[osp.join(osp.dirname(name), match.group(1))].append(name)
    exemplars = {}
    for members in groups.values():
        members.sort(key=lambda n: osp.basename(n).split('_')[1])
        for name in members:
            exemplars[name] = [m for m in members if m != name] or [name]
    return {name: exemplars[name] for name in names}
