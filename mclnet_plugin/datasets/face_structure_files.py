"""Files that describe a face's structure for the CelebA-HQ edge conditions:
68-point landmark files and CelebAMask-HQ part masks."""
import json
import os
import re
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from .checked_decoding import decode_checked

NUM_LANDMARKS = 68
LANDMARK_FORMAT = 'ibug68'

# The 13 CelebAMask-HQ parts of the face edge condition. A part's label is
# its position here + 1 (0 is background), and masks are painted in this
# order, so a later part covers an earlier one where annotations overlap:
# features over skin, eyes over glasses, lips over mouth, hair over all.
PART_NAMES = ('skin', 'nose', 'eye_g', 'l_eye', 'r_eye', 'l_brow', 'r_brow',
              'l_ear', 'r_ear', 'mouth', 'u_lip', 'l_lip', 'hair')
PART_LABELS = {name: label for label, name in enumerate(PART_NAMES, 1)}

# CelebAMask-HQ stores 2000 faces per numbered folder.
FACES_PER_MASK_FOLDER = 2000

ImageShape = Tuple[int, int]


def read_landmarks(path: str) -> Tuple[np.ndarray, Optional[ImageShape]]:
    """Reads 68 face landmarks (x, y) in the iBUG/300-W order.

    Accepted files: our JSON (:func:`write_landmark_json`); or text with 68
    rows ``x y`` or a single row of 136 numbers, separated by whitespace or
    commas.

    Returns:
        ``(landmarks, image_shape)``: (68, 2) float32 pixel coordinates and
        the (height, width) of the image they were found on, or None when
        the file does not say (text files).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'landmark file not found: {path}')
    with open(path) as file:
        text = file.read()
    if text.lstrip().startswith('{'):
        return _parse_landmark_json(path, text)
    return _parse_landmark_text(path, text), None


def _parse_landmark_json(path: str, text: str):
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f'{path}: not valid JSON ({error})') from None
    if record.get('landmark_format') != LANDMARK_FORMAT:
        raise ValueError(
            f'{path}: landmark_format is '
            f'{record.get("landmark_format")!r}, expected {LANDMARK_FORMAT!r}')
    try:
        landmarks = np.asarray(record['landmarks'], np.float32)
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f'{path}: "landmarks" must be a list of {NUM_LANDMARKS} [x, y] '
            'pairs') from None
    if landmarks.shape != (NUM_LANDMARKS, 2):
        raise ValueError(f'{path}: expected {NUM_LANDMARKS} [x, y] pairs, '
                         f'got an array of shape {landmarks.shape}')
    image_shape = None
    if 'image_height' in record and 'image_width' in record:
        image_shape = (int(record['image_height']),
                       int(record['image_width']))
    return landmarks, image_shape


def _parse_landmark_text(path: str, text: str) -> np.ndarray:
    rows = []
    for line_number, line in enumerate(text.splitlines(), 1):
        fields = [field for field in re.split(r'[\s,]+', line) if field]
        if not fields:
            continue
        try:
            rows.append((line_number, [float(field) for field in fields]))
        except ValueError:
            raise ValueError(f'{path}, line {line_number}: not numbers: '
                             f'{line.strip()!r}') from None
    if len(rows) == 1 and len(rows[0][1]) == 2 * NUM_LANDMARKS:
        return np.asarray(rows[0][1], np.float32).reshape(NUM_LANDMARKS, 2)
    for line_number, values in rows:
        if len(values) != 2:
            raise ValueError(
                f'{path}, line {line_number}: expected "x y", got '
                f'{len(values)} numbers (or give all {2 * NUM_LANDMARKS} '
                'numbers on one line)')
    if len(rows) != NUM_LANDMARKS:
        raise ValueError(
            f'{path}: expected {NUM_LANDMARKS} landmark rows, got {len(rows)}')
    return np.asarray([values for _, values in rows], np.float32)


def write_landmark_json(path: str, landmarks: np.ndarray,
                        image_shape: Sequence[int]) -> None:
    """Writes landmarks (68, 2) found on an image of ``image_shape``
    (height, width, ...) as the JSON :func:`read_landmarks` reads.
    Coordinates are rounded to 1/1000 pixel to keep the files readable."""
    landmarks = np.asarray(landmarks, np.float64)
    if landmarks.shape != (NUM_LANDMARKS, 2):
        raise ValueError(f'{path}: expected landmarks of shape '
                         f'({NUM_LANDMARKS}, 2), got {landmarks.shape}')
    record = dict(
        landmark_format=LANDMARK_FORMAT,
        image_height=int(image_shape[0]),
        image_width=int(image_shape[1]),
        landmarks=[[round(x, 3), round(y, 3)] for x, y in landmarks.tolist()])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as file:
        json.dump(record, file)


def part_mask_files(prefix: str) -> Dict[str, str]:
    """Part name → ``<prefix>_<part>.png`` for the parts of ``PART_NAMES``
    whose file exists (an absent part has none)."""
    paths = {part: f'{prefix}_{part}.png' for part in PART_NAMES}
    return {part: path for part, path in paths.items() if os.path.isfile(path)}


def celebamask_part_paths(mask_root: str, index: int) -> Dict[str, str]:
    """The part mask files of CelebA-HQ face ``index``:
    ``mask_root/<index // 2000>/<index:05d>_<part>.png``."""
    folder = os.path.join(mask_root, str(index // FACES_PER_MASK_FOLDER))
    return part_mask_files(os.path.join(folder, f'{index:05d}'))


def read_part_masks(paths: Dict[str, str]) -> np.ndarray:
    """Paints binary part masks (pixels ≥ 128 are the part) into one (H, W)
    uint8 label map: 0 background, ``PART_LABELS[part]`` elsewhere, in the
    priority order of ``PART_NAMES``."""
    if not paths:
        raise ValueError('read_part_masks: no part mask files given')
    unknown = sorted(set(paths) - set(PART_NAMES))
    if unknown:
        raise ValueError(
            f'read_part_masks: parts {unknown} ({paths[unknown[0]]}) are not '
            f'among the parts used: {PART_NAMES}')
    labels = None
    for part in PART_NAMES:
        if part not in paths:
            continue
        mask = _read_binary_mask(paths[part])
        if labels is None:
            labels, first_path = np.zeros(mask.shape, np.uint8), paths[part]
        elif mask.shape != labels.shape:
            raise ValueError(
                f'{paths[part]}: mask size {mask.shape} differs from '
                f'{labels.shape} of {first_path}')
        labels[mask] = PART_LABELS[part]
    return labels


def _read_binary_mask(path: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise FileNotFoundError(f'part mask not found: {path}')
    with open(path, 'rb') as file:
        data = file.read()
    return decode_checked(data, f'part mask {path}', flag='grayscale') >= 128
