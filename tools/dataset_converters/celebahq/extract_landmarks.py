"""Find 68 face landmarks on every CelebA-HQ photo with a local model.

One JSON per photo, ``OUT_ROOT/<stem>.json``, as ``LoadFaceLandmarks``
reads it.

    # dlib, the default (pip install dlib-bin face_recognition_models:
    # a prebuilt dlib and the package that ships its 68-point predictor;
    # or give your own predictor file with --dlib-predictor FILE)
    python tools/dataset_converters/celebahq/extract_landmarks.py \
        data/CelebAMask-HQ/CelebA-HQ-img data/CelebAMask-HQ/landmarks
    # an MMPose 68-point face model (e.g. a 300W config), whole photo as box
    python tools/dataset_converters/celebahq/extract_landmarks.py \
        data/CelebAMask-HQ/CelebA-HQ-img data/CelebAMask-HQ/landmarks \
        --pose-config CONFIG.py --pose-checkpoint CHECKPOINT.pth

Existing JSON files are kept unless --overwrite. Photos without a detected
face get no file; they are listed at the end and the exit status is 1.
"""
import argparse
import importlib.util
import os
import os.path as osp
import sys
import time
from typing import Callable, List, Optional

import cv2
import numpy as np

from mclnet_plugin.datasets.checked_decoding import read_checked_image
from mclnet_plugin.datasets.face_structure_files import (NUM_LANDMARKS,
                                                         write_landmark_json)

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png')
DLIB_PREDICTOR = 'shape_predictor_68_face_landmarks.dat'

# An RGB uint8 photo (H, W, 3) → (68, 2) x, y, or None when no face is found.
LandmarkFn = Callable[[np.ndarray], Optional[np.ndarray]]


def iter_images(image_root: str) -> List[str]:
    """The photos in ``image_root``, CelebA-HQ's numbered ones in numeric
    order."""
    if not osp.isdir(image_root):
        raise FileNotFoundError(f'image folder not found: {image_root}')
    names = [
        name for name in os.listdir(image_root)
        if name.lower().endswith(IMAGE_EXTENSIONS)
    ]

    def order(name):
        stem = osp.splitext(name)[0]
        return (0, int(stem), '') if stem.isdigit() else (1, 0, stem)

    return [osp.join(image_root, name) for name in sorted(names, key=order)]


def extract(images: List[str],
            landmark_fn: LandmarkFn,
            out_root: str,
            overwrite: bool = False,
            log_every: int = 500,
            log: Callable[[str], None] = print) -> dict:
    """Writes ``out_root/<stem>.json`` for each photo in ``images``.

    Landmarks are clipped to the photo, as ``FlipWithPoints`` reads a
    negative x as a missing point.

    Returns:
        ``dict(written=[...], skipped=[...], no_face=[...])`` of photo paths.
    """
    os.makedirs(out_root, exist_ok=True)
    report = dict(written=[], skipped=[], no_face=[])
    start = time.time()
    for count, image_path in enumerate(images, 1):
        stem = osp.splitext(osp.basename(image_path))[0]
        out_path = osp.join(out_root, stem + '.json')
        if osp.exists(out_path) and not overwrite:
            report['skipped'].append(image_path)
        else:
            image = read_checked_image(image_path)
            height, width = image.shape[:2]
            landmarks = landmark_fn(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            if landmarks is None:
                report['no_face'].append(image_path)
            else:
                landmarks = np.clip(landmarks, 0, (width - 1, height - 1))
                write_landmark_json(out_path, landmarks, (height, width))
                report['written'].append(image_path)
        if count % log_every == 0 or count == len(images):
            log(f'{count}/{len(images)} photos, {time.time() - start:.0f} s '
                f'({len(report["written"])} written, '
                f'{len(report["skipped"])} already there, '
                f'{len(report["no_face"])} without a face)')
    return report


def _require_file(path: str, what: str) -> None:
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')


def packaged_dlib_predictor() -> Optional[str]:
    """The 68-point predictor that the ``face_recognition_models`` package
    ships, or None when it is not installed."""
    # Found without importing the package: its __init__ imports
    # pkg_resources, which setuptools 81+ no longer has.
    spec = importlib.util.find_spec('face_recognition_models')
    if spec is None or spec.origin is None:
        return None
    path = osp.join(osp.dirname(spec.origin), 'models', DLIB_PREDICTOR)
    return path if osp.isfile(path) else None


def dlib_landmark_fn(predictor_path: Optional[str] = None) -> LandmarkFn:
    """dlib's frontal face detector and 68-point shape predictor (by
    default the packaged one); of several faces, the surest."""
    if predictor_path is None:
        predictor_path = packaged_dlib_predictor()
        if predictor_path is None:
            raise FileNotFoundError(
                'no dlib shape predictor: pip install dlib-bin '
                'face_recognition_models (a prebuilt dlib, and the package '
                f'that ships {DLIB_PREDICTOR}), or give your own file with '
                '--dlib-predictor')
    else:
        _require_file(
            predictor_path, 'dlib shape predictor (give the decompressed '
            f'{DLIB_PREDICTOR} with --dlib-predictor)')
    try:
        import dlib
    except ImportError:
        raise ImportError('the dlib landmark model needs dlib: pip install '
                          'dlib-bin (prebuilt) or dlib') from None
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(predictor_path)

    def find_landmarks(image):
        faces, scores, _ = detector.run(image, 1)
        if len(faces) == 0:
            return None
        # By score, not size: false detections can be as large as the face
        # (a round badge on the chest of skimage's astronaut is).
        face = faces[int(np.argmax(scores))]
        shape = predictor(image, face)
        return np.array([(shape.part(i).x, shape.part(i).y)
                         for i in range(shape.num_parts)], np.float32)

    return find_landmarks


def mmpose_landmark_fn(config: str,
                       checkpoint: str,
                       device: str = 'cpu') -> LandmarkFn:
    """A top-down MMPose face model with 68 keypoints, the whole photo as
    the face box (CelebA-HQ photos are aligned face crops)."""
    _require_file(config, 'MMPose config (--pose-config)')
    _require_file(checkpoint, 'MMPose checkpoint (--pose-checkpoint)')
    try:
        from mmpose.apis import inference_topdown, init_model
    except ImportError as error:
        raise ImportError(
            f'--pose-config needs MMPose with its dependencies ({error}): '
            'pip install "mmpose>=1.3,<1.4" and mmdet ("mim install '
            'mmdet>=3")') from None
    model = init_model(config, checkpoint, device=device)

    def find_landmarks(image):
        sample = inference_topdown(model, image[..., ::-1].copy())[0]
        landmarks = np.asarray(sample.pred_instances.keypoints[0], np.float32)
        if landmarks.shape != (NUM_LANDMARKS, 2):
            raise ValueError(
                f'{config}: the model predicts {len(landmarks)} keypoints, '
                f'expected a {NUM_LANDMARKS}-point (300W) face model')
        return landmarks

    return find_landmarks


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('image_root', help='the CelebA-HQ-img folder')
    parser.add_argument('out_root', help='where the JSON files go')
    model = parser.add_mutually_exclusive_group()
    model.add_argument(
        '--dlib-predictor',
        help=f'dlib {DLIB_PREDICTOR} (default: the one the '
        'face_recognition_models package ships)')
    model.add_argument('--pose-config', help='MMPose 68-point face config')
    parser.add_argument(
        '--pose-checkpoint', help='checkpoint for --pose-config')
    parser.add_argument('--device', default='cpu', help='for MMPose')
    parser.add_argument(
        '--overwrite', action='store_true', help='redo existing files')
    parser.add_argument(
        '--log-every', type=int, default=500, help='photos per progress line')
    args = parser.parse_args(argv)
    if args.log_every < 1:
        parser.error('--log-every must be at least 1')
    if args.pose_config and not args.pose_checkpoint:
        parser.error('--pose-config needs --pose-checkpoint')
    if args.pose_checkpoint and not args.pose_config:
        parser.error('--pose-checkpoint needs --pose-config')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.pose_config:
        landmark_fn = mmpose_landmark_fn(args.pose_config,
                                         args.pose_checkpoint, args.device)
    else:
        landmark_fn = dlib_landmark_fn(args.dlib_predictor)
    report = extract(
        iter_images(args.image_root),
        landmark_fn,
        args.out_root,
        overwrite=args.overwrite,
        log_every=args.log_every)
    for image_path in report['no_face']:
        print(f'no face found, no landmarks written: {image_path}')
    return 1 if report['no_face'] else 0


if __name__ == '__main__':
    sys.exit(main())
