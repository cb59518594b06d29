"""Extract the body keypoints of DeepFashion photos with an MMPose model.

    python tools/dataset_converters/deepfashion/extract_keypoints.py \\
        IMG_ROOT OUT_ROOT --pose-config CONFIG.py \\
        --pose-checkpoint CHECKPOINT.pth [--device cpu] [--ext .jpg] \\
        [--overwrite]

Walks IMG_ROOT (DeepFashion's ``img/<MEN|WOMEN>/<category>/id_xxxxxxxx/
NN_K_view.jpg``) and writes ``OUT_ROOT/<the same relative path>.json``: the
highest-scoring person's COCO-17 keypoints in the photo's pixels, in the
format of ``mclnet_plugin.datasets.keypoint_files`` that
``LoadPoseKeypoints`` reads. Photos already done are skipped unless
``--overwrite``, so an interrupted run can be resumed.

The model is a top-down COCO-17 body model from a local config and
checkpoint (nothing is downloaded), e.g. MMPose's
``configs/body_2d_keypoint/topdown_heatmap/coco/
td-hm_hrnet-w32_8xb64-210e_coco-256x192.py`` and its ``.pth``. A DeepFashion
photo shows one centred person, so the whole photo is the person box and no
detector runs. Building the model imports ``mmpose.models``, which needs
MMDetection (``mmdet``, itself on the compiled ``mmcv``); without it the
files can still be read and rendered, but not extracted.
"""
import argparse
import os
import time
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from mmengine.logging import print_log

from mclnet_plugin.apis.pose_estimation import EstimateFn, build_estimate_fn
from mclnet_plugin.datasets.keypoint_files import write_keypoint_json


def iter_images(root: str, ext: str = '.jpg') -> Iterator[Path]:
    """The files under ``root`` ending in ``ext`` (any case), sorted."""
    ext = ext.lower()
    yield from sorted(path for path in Path(root).rglob('*')
                      if path.name.lower().endswith(ext) and path.is_file())


def extract(images: Iterable[Path],
            estimate_fn: EstimateFn,
            img_root: str,
            out_root: str,
            overwrite: bool = False,
            log_interval: int = 100) -> dict:
    """Writes the best person of ``estimate_fn(image)`` for each image (under
    ``img_root``) to ``out_root``/<its relative path>.json.

    Returns:
        dict(written=..., skipped=...): how many files were written and how
        many already existed.
    """
    images = list(images)
    counts = dict(written=0, skipped=0)
    start = time.monotonic()
    for done, image in enumerate(images, 1):
        out_path = Path(out_root) / Path(image).relative_to(
            img_root).with_suffix('.json')
        if out_path.exists() and not overwrite:
            counts['skipped'] += 1
        else:
            try:
                keypoints, scores, image_shape = estimate_fn(str(image))
            except Exception as error:
                raise RuntimeError(
                    f'pose estimation failed on {image}: {error}') from error
            best = int(np.argmax(np.mean(scores, axis=1)))
            write_keypoint_json(
                str(out_path), keypoints[best], scores[best], image_shape,
                'coco17')
            counts['written'] += 1
        if done % log_interval == 0 or done == len(images):
            rate = counts['written'] / max(time.monotonic() - start, 1e-9)
            print_log(
                f'{done}/{len(images)} images ({counts["skipped"]} already '
                f'done), {rate:.1f} images/s', logger='current')
    return counts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract COCO-17 keypoints of DeepFashion photos')
    parser.add_argument('img_root', help='DeepFashion image folder (img/)')
    parser.add_argument('out_root', help='where the .json files go')
    parser.add_argument(
        '--pose-config',
        required=True,
        help='a local MMPose COCO-17 top-down config, e.g. '
        'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py')
    parser.add_argument(
        '--pose-checkpoint',
        required=True,
        help='the .pth checkpoint of --pose-config')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument('--ext', default='.jpg', help='image file suffix')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='extract again photos that already have a .json')
    args = parser.parse_args(argv)
    if not os.path.isdir(args.img_root):
        parser.error(f'IMG_ROOT {args.img_root} is not a folder')
    if not os.path.isfile(args.pose_config):
        parser.error(
            f'--pose-config {args.pose_config} does not exist: give a local '
            'MMPose COCO-17 top-down config, e.g. '
            'configs/body_2d_keypoint/topdown_heatmap/coco/'
            'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py from MMPose')
    if not os.path.isfile(args.pose_checkpoint):
        parser.error(
            f'--pose-checkpoint {args.pose_checkpoint} does not exist: give '
            'the .pth of --pose-config, from MMPose\'s model zoo (this tool '
            'downloads nothing)')
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    images = list(iter_images(args.img_root, args.ext))
    if not images:
        raise SystemExit(f'no *{args.ext} files under {args.img_root}')
    estimate_fn = build_estimate_fn(args.pose_config, args.pose_checkpoint,
                                    args.device)
    counts = extract(images, estimate_fn, args.img_root, args.out_root,
                     args.overwrite)
    print_log(
        f'wrote {counts["written"]} keypoint files to {args.out_root}, '
        f'{counts["skipped"]} were already there', logger='current')


if __name__ == '__main__':
    main()
