"""Write DeepFashion In-shop's split files and exemplar lists.

    python tools/dataset_converters/deepfashion/prepare_deepfashion.py \
        data/DeepFashion [--partition Eval/list_eval_partition.txt]

From the release's ``list_eval_partition.txt`` (``image_name item_id
evaluation_status`` rows; status train, query or gallery) writes
``train.txt`` (status train) and ``val.txt`` (query and gallery) with the
image paths, keeping only photos that exist under ``data_root``, and the
exemplar lists ``train_ref.txt`` / ``val_ref.txt``: each photo's other
views of the same person and outfit. Keypoints come separately
(``extract_keypoints.py`` or CoCosNet's OpenPose files).
"""
import argparse
import os.path as osp
from collections import defaultdict
from typing import Dict, List

from mclnet_plugin.datasets import write_exemplar_list
from mclnet_plugin.datasets.exemplar_retrieval import same_outfit_exemplars

SPLIT_OF_STATUS = dict(train='train', query='val', gallery='val')


def read_partition(path: str) -> Dict[str, List[str]]:
    """Split name → image paths, from ``list_eval_partition.txt`` (its
    first two lines are the row count and the header)."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} not found: it comes with DeepFashion In-shop '
            '(Eval/list_eval_partition.txt)')
    splits: Dict[str, List[str]] = defaultdict(list)
    with open(path, encoding='utf-8') as file:
        lines = file.read().splitlines()
    for line_no, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or fields[2] not in SPLIT_OF_STATUS:
            raise ValueError(f'{path}, line {line_no}: expected "image_name '
                             f'item_id train|query|gallery", got {line!r}')
        splits[SPLIT_OF_STATUS[fields[2]]].append(fields[0])
    return splits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root')
    parser.add_argument(
        '--partition',
        default='Eval/list_eval_partition.txt',
        help='relative to data_root unless absolute')
    args = parser.parse_args(argv)
    splits = read_partition(osp.join(args.data_root, args.partition))
    for split, names in sorted(splits.items()):
        present = [
            name for name in names
            if osp.isfile(osp.join(args.data_root, name))
        ]
        if not present:
            raise FileNotFoundError(
                f'none of the {len(names)} {split} photos of the partition '
                f'file exist under {args.data_root} (e.g. {names[0]})')
        with open(osp.join(args.data_root, f'{split}.txt'), 'w') as file:
            file.write('\n'.join(present) + '\n')
        write_exemplar_list(
            osp.join(args.data_root, f'{split}_ref.txt'),
            same_outfit_exemplars(present))
        print(f'{split}: {len(present)} photos ({len(names) - len(present)}'
              f' listed but missing), {split}.txt and {split}_ref.txt '
              'written')


if __name__ == '__main__':
    main()
