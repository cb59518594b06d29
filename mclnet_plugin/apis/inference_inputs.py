"""A config's test pipeline, adapted to a condition, exemplar and photo that
come from no dataset."""
import copy
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
from PIL import Image, UnidentifiedImageError

from mclnet_plugin.datasets.face_structure_files import (PART_NAMES,
                                                         part_mask_files,
                                                         read_landmarks)
from mclnet_plugin.datasets.keypoint_files import load_pose_keypoints
from mclnet_plugin.datasets.transforms import LoadCheckedImage

# The transform that reads a condition file → the kind of condition.
CONDITION_LOADERS = {
    'LoadLabelMap': 'label_map',
    'LoadPoseKeypoints': 'keypoints',
    'LoadFaceLandmarks': 'landmarks',
    'LoadFaceParts': 'face_parts',
}
# A pipeline without any of them computes its condition from the photo
# (the demo's CannyEdges).
FROM_PHOTO = 'from_photo'
CONDITION_FILES = {
    'label_map': 'label PNG of class ids',
    'keypoints': 'body keypoint file (.json of extract_keypoints.py or '
    'OpenPose *_candidate.txt with its *_subset.txt)',
    'landmarks': '68-point face landmark file (.json or .txt)',
    'face_parts': 'set of CelebAMask-HQ part masks <prefix>_<part>.png',
}
IMAGE_LOADERS = ('LoadImageFromFile', 'LoadCheckedImage')
# Dataset-time exemplar choices; the user gives the exemplar instead.
EXEMPLAR_CHOOSERS = ('ChooseExemplar', 'PseudoExemplar')

Condition = Union[str, Dict[str, str]]


def transform_name(step: dict) -> str:
    """'Resize' for ``dict(type='Resize')``, ``dict(type='mmagic.Resize')``
    or ``dict(type=Resize)``."""
    kind = step['type']
    return kind.split('.')[-1] if isinstance(kind, str) else kind.__name__


def condition_source(steps: Sequence[dict]) -> Tuple[str, Optional[str]]:
    """The kind of condition a test pipeline reads (a key of
    ``CONDITION_LOADERS``' values, or ``FROM_PHOTO``) and the results key
    its loader takes the file from."""
    for step in steps:
        kind = CONDITION_LOADERS.get(transform_name(step))
        if kind == 'face_parts':
            return kind, step.get('paths_key', 'part_mask_paths')
        if kind is not None:
            return kind, step.get('key', 'cond') + '_path'
    return FROM_PHOTO, None


def inference_pipeline(steps: Sequence[dict], with_photo: bool) -> list:
    """The transforms of a config's test pipeline for one given pair.

    - ``ChooseExemplar`` and ``PseudoExemplar`` go: the caller sets
      ``results['exemplar_path']``. A pipeline that loads no exemplar of its
      own (the demo's was made from the photo) gets ``FitExemplar`` before
      packing.
    - Without a photo, the photo loader (key ``'gt'``) goes: the caller puts
      a blank image of the condition's size in ``results['gt']`` for the
      transforms that size things after it, and it is removed before packing
      so that no blank ground truth reaches the outputs.
    - Image loaders become ``LoadCheckedImage`` (errors that name the file),
      and ``PackInputs`` also keeps the input paths and ``query_id`` as
      metainfo.
    """
    steps = copy.deepcopy(list(steps))
    image_loaders = {
        step.get('key'): step
        for step in steps if transform_name(step) in IMAGE_LOADERS
    }
    exemplar_loader = dict(
        image_loaders.get('gt', dict(channel_order='rgb')), key='exemplar')
    exemplar_loader.pop('type', None)
    adapted = []
    for step in steps:
        name = transform_name(step)
        if name in EXEMPLAR_CHOOSERS:
            continue
        if name in IMAGE_LOADERS:
            if step.get('key') == 'gt' and not with_photo:
                continue
            step = dict(step, type='LoadCheckedImage')
        if name == 'PackInputs':
            if 'exemplar' not in image_loaders:
                adapted.append(FitExemplar(exemplar_loader))
            if not with_photo:
                adapted.append(drop_blank_photo)
            meta_keys = list(step.get('meta_keys', []))
            step = dict(
                step,
                meta_keys=meta_keys + [
                    key for key in ('query_id', 'cond_path', 'exemplar_path')
                    if key not in meta_keys
                ])
        adapted.append(step)
    return adapted


class FitExemplar:
    """Loads ``results['exemplar_path']`` and fits it to the current size of
    ``results['gt']``: the largest centred crop of that aspect ratio,
    resized bilinearly (for pipelines whose exemplar was made from the
    photo, so that nothing else sizes it)."""

    def __init__(self, loader_args: dict) -> None:
        self.load = LoadCheckedImage(**loader_args)

    def __call__(self, results: dict) -> dict:
        results = self.load(results)
        results['exemplar'] = fit_image(results['exemplar'],
                                        results['gt'].shape[:2])
        return results


def fit_image(image: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """``image`` centre-cropped to the aspect ratio of ``shape`` (h, w),
    then resized to it."""
    height, width = shape
    scale = min(image.shape[0] / height, image.shape[1] / width)
    crop_h, crop_w = round(height * scale), round(width * scale)
    top = (image.shape[0] - crop_h) // 2
    left = (image.shape[1] - crop_w) // 2
    crop = image[top:top + crop_h, left:left + crop_w]
    return mmcv.imresize(crop, (width, height), interpolation='bilinear')


def drop_blank_photo(results: dict) -> dict:
    """Removes the blank stand-in photo before packing."""
    results.pop('gt')
    return results


def face_part_paths(cond: Condition) -> Dict[str, str]:
    """Part name → mask file of one face: ``cond`` itself if a dict, else the
    CelebAMask-HQ masks ``<prefix>_<part>.png`` of the prefix ``cond`` or of
    the mask file ``cond``."""
    if isinstance(cond, dict):
        return dict(cond)
    prefix = part_mask_prefix(cond) or cond
    paths = part_mask_files(prefix)
    if not paths:
        raise FileNotFoundError(
            f'no face part masks {prefix}_<part>.png found (parts: '
            f'{", ".join(PART_NAMES)})')
    return paths


def part_mask_prefix(path: str) -> Optional[str]:
    """``'a/00000'`` for ``'a/00000_l_eye.png'``; None for a path that is no
    part mask."""
    for part in sorted(PART_NAMES, key=len, reverse=True):
        if path.endswith(f'_{part}.png'):
            return path[:-len(f'_{part}.png')]
    return None


def condition_image_shape(kind: str,
                          cond: Condition) -> Optional[Tuple[int, int]]:
    """(h, w) of the image the condition was made on, as far as its file
    tells: a label PNG's or part mask's size, a JSON's image_height and
    image_width; None for files that do not record it."""
    if kind == 'label_map':
        return _image_shape(cond)
    if kind == 'face_parts':
        return _image_shape(next(iter(cond.values())))
    if kind == 'keypoints':
        return load_pose_keypoints(cond)[2]
    if kind == 'landmarks':
        return read_landmarks(cond)[1]
    return None


def _image_shape(path: str) -> Tuple[int, int]:
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f'{path} is not a readable image: {error}') from None
    return height, width


def check_files(paths: List[Tuple[str, Optional[str]]]) -> None:
    """FileNotFoundError for the first ``(what, path)`` whose path is given
    but is no file."""
    for what, path in paths:
        if path is not None and not osp.isfile(path):
            raise FileNotFoundError(f'{what} file {path} not found')
