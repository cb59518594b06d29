"""Translate your own conditions and exemplars with a trained MCL-Net.

    python tools/translate.py CONFIG CHECKPOINT --exemplar PATH --out DIR
        [--cond PATH] [--photo PATH] [--pairs FILE] [--cond-size H W]
        [--grid] [--device cpu]
        [--pose-config POSE_CONFIG --pose-checkpoint POSE_CHECKPOINT]

``--cond`` is what the config's test pipeline reads (label PNG, keypoint
file, landmark file, face part masks); configs that compute the condition
from a photo (the demo's Canny edges) take ``--photo`` instead, as do pose
configs given an MMPose model (``--pose-config/--pose-checkpoint``).
``--photo`` next to ``--cond`` is the photo the condition was made from.

Each path is a file or a folder. The source (``--cond``, else ``--photo``)
and ``--exemplar`` are paired: a file with every file of a folder; two
folders by sorted file names (as many in each), or by ``--pairs``, a text
file of ``source,exemplar`` lines (names in the folders, ``#`` comments).
With folders for both ``--cond`` and ``--photo``, each condition takes the
photo of the same file stem.

Writes ``<name>_output.png`` and ``<name>_warped.png`` per pair, and with
``--grid`` ``<name>_grid.png`` (condition | exemplar | warped exemplar |
output [| photo]), where ``<name>`` is ``<source stem>_<exemplar stem>``.
See docs/translation.md.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Tuple

import cv2

from mclnet_plugin.apis import MCLNetInferencer, build_estimate_fn
from mclnet_plugin.apis.inference_inputs import part_mask_prefix
from mclnet_plugin.engine.save_translations_hook import sample_name

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
# Files in a --cond folder, by condition kind (face parts: grouped by face).
CONDITION_SUFFIXES = dict(
    label_map=('.png', ),
    keypoints=('.json', '_candidate.txt'),
    landmarks=('.json', '.txt'),
    face_parts=('.png', ))
# (condition or None, exemplar, photo or None)
Job = Tuple[Optional[str], str, Optional[str]]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Translate conditions with the style of exemplars')
    parser.add_argument('config', help='the model config')
    parser.add_argument('checkpoint', help='a checkpoint of that config')
    parser.add_argument(
        '--cond', help='condition file or folder (see docs/translation.md)')
    parser.add_argument(
        '--exemplar', required=True, help='exemplar image or folder')
    parser.add_argument(
        '--photo',
        help='photo or folder: the condition\'s photo, or its source for '
        'configs that compute the condition from it')
    parser.add_argument(
        '--pairs', help='text file of "source,exemplar" lines (folders)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--cond-size',
        nargs=2,
        type=int,
        metavar=('H', 'W'),
        help='size of the image a condition file without one (OpenPose, '
        'landmark text) was made on, when no --photo is given')
    parser.add_argument(
        '--grid', action='store_true', help='also write a row of pictures')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--pose-config',
        help='local MMPose COCO-17 top-down config, to estimate poses on '
        '--photo')
    parser.add_argument('--pose-checkpoint', help='the .pth of --pose-config')
    args = parser.parse_args(argv)
    if args.cond is None and args.photo is None:
        parser.error('give --cond, or --photo for a condition computed from '
                     'the photo')
    if (args.pose_config is None) != (args.pose_checkpoint is None):
        parser.error('--pose-config and --pose-checkpoint go together')
    if args.pairs and not osp.isfile(args.pairs):
        parser.error(f'--pairs {args.pairs} not found')
    return args


def pose_estimator(config: str, checkpoint: str, device: str):
    """An MMPose COCO-17 body model from local files, on whole photos."""
    for what, file in (('--pose-config', config), ('--pose-checkpoint',
                                                   checkpoint)):
        if not osp.isfile(file):
            raise FileNotFoundError(f'{what} {file} not found')
    return build_estimate_fn(config, checkpoint, device)


def list_files(folder: str, kind: str) -> List[str]:
    """The inputs of ``kind`` (a condition kind, or 'image') in ``folder``,
    sorted; face part masks as one prefix per face."""
    suffixes = CONDITION_SUFFIXES.get(kind, IMAGE_SUFFIXES)
    names = sorted(
        name for name in os.listdir(folder)
        if name.lower().endswith(suffixes) and not name.startswith('.'))
    paths = [osp.join(folder, name) for name in names]
    if kind == 'face_parts':
        paths = sorted({part_mask_prefix(path) for path in paths} - {None})
    if not paths:
        raise ValueError(f'no {kind.replace("_", " ")} files in {folder}')
    return paths


def file_stem(path: str) -> str:
    """'x' for 'dir/x.png' and for OpenPose's 'dir/x_candidate.txt'."""
    name = osp.basename(path)
    if name.endswith('_candidate.txt'):
        return name[:-len('_candidate.txt')]
    return osp.splitext(name)[0]


def pair_up(sources: str, exemplars: str, pairs: Optional[str],
            kind: str) -> List[Tuple[str, str]]:
    """(source, exemplar) paths from two files or folders (module doc)."""
    if pairs:
        if not (osp.isdir(sources) and osp.isdir(exemplars)):
            raise ValueError('--pairs needs folders for the source and '
                             '--exemplar')
        jobs = []
        with open(pairs) as file:
            for number, line in enumerate(file, 1):
                line = line.split('#')[0].strip()
                if not line:
                    continue
                fields = [field.strip() for field in line.split(',')]
                if len(fields) != 2:
                    raise ValueError(f'{pairs}, line {number}: expected '
                                     f'"source,exemplar", got {line!r}')
                source, exemplar = fields
                jobs.append((osp.join(sources,
                                      source), osp.join(exemplars, exemplar)))
        return jobs
    source_list = (
        list_files(sources, kind) if osp.isdir(sources) else [sources])
    exemplar_list = (
        list_files(exemplars, 'image')
        if osp.isdir(exemplars) else [exemplars])
    if len(source_list) == 1 or len(exemplar_list) == 1:
        return [(source, exemplar) for source in source_list
                for exemplar in exemplar_list]
    if len(source_list) != len(exemplar_list):
        raise ValueError(
            f'{len(source_list)} sources in {sources} but '
            f'{len(exemplar_list)} exemplars in {exemplars}: give as many, '
            'one exemplar, or --pairs')
    return list(zip(source_list, exemplar_list))


def make_jobs(args: argparse.Namespace, kind: str) -> List[Job]:
    """(condition, exemplar, photo) of each translation."""
    if args.cond is None:
        return [(None, exemplar, photo) for photo, exemplar in pair_up(
            args.photo, args.exemplar, args.pairs, 'image')]
    pairs = pair_up(args.cond, args.exemplar, args.pairs, kind)
    if args.photo is None or not osp.isdir(args.photo):
        if args.photo is not None and len({c for c, _ in pairs}) > 1:
            raise ValueError('--photo is one file but there are several '
                             'conditions: give a folder of photos')
        return [(cond, exemplar, args.photo) for cond, exemplar in pairs]
    photos = {file_stem(p): p for p in list_files(args.photo, 'image')}
    jobs = []
    for cond, exemplar in pairs:
        stem = file_stem(cond)
        if stem not in photos:
            raise ValueError(f'no photo {stem}.* in {args.photo} for the '
                             f'condition {cond}')
        jobs.append((cond, exemplar, photos[stem]))
    return jobs


def write_result(inferencer: MCLNetInferencer, result: dict, out_dir: str,
                 grid: bool) -> List[str]:
    name = sample_name(result['data_sample'])
    pictures = dict(
        output=result['fake_img'], warped=result['warped_exemplar'])
    if grid:
        pictures['grid'] = inferencer.visualize(result)
    paths = []
    for kind, picture in pictures.items():
        path = osp.join(out_dir, f'{name}_{kind}.png')
        if not cv2.imwrite(path, cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)):
            raise OSError(f'could not write {path}')
        paths.append(path)
    return paths


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        estimator = None
        if args.pose_config:
            estimator = pose_estimator(args.pose_config, args.pose_checkpoint,
                                       args.device)
        inferencer = MCLNetInferencer(
            args.config,
            args.checkpoint,
            args.device,
            pose_estimator=estimator)
        jobs = make_jobs(args, inferencer.condition_kind)
        os.makedirs(args.out, exist_ok=True)
        for cond, exemplar, photo in jobs:
            result = inferencer(cond, exemplar, photo, args.cond_size)
            paths = write_result(inferencer, result, args.out, args.grid)
            psnr = result.get('psnr')
            quality = (f' (PSNR vs photo: output {psnr["output"]:.2f} dB, '
                       f'warped {psnr["warped"]:.2f} dB)' if psnr else '')
            print(f'wrote {", ".join(paths)}{quality}')
    except (OSError, ValueError, KeyError, ImportError) as error:
        message = ' '.join(str(error).split())
        sys.exit(f'translate.py: error: {message}')
    print(f'{len(jobs)} translation(s) in {args.out}')


if __name__ == '__main__':
    main()
