"""Write CelebA-HQ's train/val(/test) split files for CelebAHQEdgeDataset.

One image stem per line in ``OUT_DIR/<split>.txt``.

    # CelebA's official partition, through CelebAMask-HQ's mapping
    python tools/dataset_converters/celebahq/make_splits.py \
        data/CelebAMask-HQ \
        --mapping data/CelebAMask-HQ/CelebA-HQ-to-CelebA-mapping.txt \
        [--partition list_eval_partition.txt]
    # without the mapping: the last 2000 photos as val
    python tools/dataset_converters/celebahq/make_splits.py \
        data/CelebAMask-HQ --image-root data/CelebAMask-HQ/CelebA-HQ-img

With the mapping, each CelebA-HQ photo takes the split of the CelebA photo
it was made from: CelebA's ``list_eval_partition.txt`` if given (0 train,
1 val, 2 test), else CelebA's fixed ranges (0-based index < 162770 train,
< 182637 val, the rest test); ``train.txt``, ``val.txt`` and ``test.txt``
are written. Without it, the photos in numeric order split into
``train.txt`` and the last ``--num-val`` as ``val.txt``.
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

CELEBA_SPLITS = ('train', 'val', 'test')
# First 0-based CelebA index of val and of test in the official partition.
CELEBA_VAL_START, CELEBA_TEST_START = 162770, 182637


def read_celebahq_mapping(path: str) -> List[Tuple[str, int, str]]:
    """``(stem, orig_idx, orig_file)`` per row of CelebAMask-HQ's
    ``CelebA-HQ-to-CelebA-mapping.txt`` (header ``idx orig_idx
    orig_file``)."""
    rows = []
    for line_number, fields in _table_rows(path):
        if fields[0] == 'idx':
            continue
        if len(fields) != 3 or not (fields[0].isdigit()
                                    and fields[1].isdigit()):
            raise ValueError(f'{path}, line {line_number}: expected "idx '
                             f'orig_idx orig_file", got {" ".join(fields)!r}')
        rows.append((fields[0], int(fields[1]), fields[2]))
    if not rows:
        raise ValueError(f'{path}: no mapping rows')
    return rows


def read_celeba_partition(path: str) -> Dict[str, str]:
    """CelebA file name → split name, from ``list_eval_partition.txt``
    (``000001.jpg 0``)."""
    partition = {}
    for line_number, fields in _table_rows(path):
        if len(fields) != 2 or fields[1] not in ('0', '1', '2'):
            raise ValueError(f'{path}, line {line_number}: expected '
                             f'"<file> 0|1|2", got {" ".join(fields)!r}')
        partition[fields[0]] = CELEBA_SPLITS[int(fields[1])]
    return partition


def _table_rows(path: str):
    if not osp.isfile(path):
        raise FileNotFoundError(f'file not found: {path}')
    with open(path) as file:
        for line_number, line in enumerate(file, 1):
            if line.strip():
                yield line_number, line.split()


def official_splits(
        mapping: List[Tuple[str, int, str]],
        partition: Optional[Dict[str, str]] = None) -> Dict[str, List[str]]:
    """Split name → CelebA-HQ stems, by the CelebA photo each came from."""
    splits = {name: [] for name in CELEBA_SPLITS}
    for stem, orig_idx, orig_file in mapping:
        if partition is not None:
            if orig_file not in partition:
                raise ValueError(f'CelebA photo {orig_file} (CelebA-HQ '
                                 f'{stem}) is not in the partition file')
            split = partition[orig_file]
        elif orig_idx < CELEBA_VAL_START:
            split = 'train'
        elif orig_idx < CELEBA_TEST_START:
            split = 'val'
        else:
            split = 'test'
        splits[split].append(stem)
    return splits


def last_n_splits(stems: List[str], num_val: int = 2000) -> dict:
    """``train``: all but the last ``num_val`` stems in numeric order;
    ``val``: those."""
    if not 0 < num_val < len(stems):
        raise ValueError(f'num_val must be in [1, {len(stems) - 1}] for '
                         f'{len(stems)} photos, got {num_val}')
    stems = sorted(
        stems,
        key=lambda stem: (0, int(stem), '')
        if stem.isdigit() else (1, 0, stem))
    return dict(train=stems[:-num_val], val=stems[-num_val:])


def image_stems(image_root: str) -> List[str]:
    """Stems of the ``.jpg``/``.png`` photos in ``image_root``."""
    if not osp.isdir(image_root):
        raise FileNotFoundError(f'image folder not found: {image_root}')
    return [
        osp.splitext(name)[0] for name in os.listdir(image_root)
        if name.lower().endswith(('.jpg', '.jpeg', '.png'))
    ]


def write_splits(out_dir: str, splits: Dict[str, List[str]]) -> None:
    """``out_dir/<split>.txt``, one stem per line."""
    os.makedirs(out_dir, exist_ok=True)
    for name, stems in splits.items():
        with open(osp.join(out_dir, f'{name}.txt'), 'w') as file:
            file.writelines(stem + '\n' for stem in stems)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='where <split>.txt go')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--mapping', help='CelebA-HQ-to-CelebA-mapping.txt')
    source.add_argument(
        '--image-root', help='CelebA-HQ-img, when there is no mapping')
    parser.add_argument(
        '--partition', help="CelebA's list_eval_partition.txt (--mapping)")
    parser.add_argument(
        '--num-val', type=int, default=2000, help='val photos (--image-root)')
    args = parser.parse_args(argv)
    if args.partition and not args.mapping:
        parser.error('--partition needs --mapping')
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.mapping:
        partition = (
            read_celeba_partition(args.partition) if args.partition else None)
        splits = official_splits(read_celebahq_mapping(args.mapping),
                                 partition)
    else:
        splits = last_n_splits(image_stems(args.image_root), args.num_val)
    write_splits(args.out_dir, splits)
    print(', '.join(f'{name}: {len(stems)}' for name, stems in splits.items()),
          'written to', args.out_dir)


if __name__ == '__main__':
    main()
