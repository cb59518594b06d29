"""Check an ADE20K download and write its exemplar lists.

    python tools/dataset_converters/ade20k/prepare_ade20k.py \
        data/ADEChallengeData2016 [--top-k 10] [--workers 2] [--skip-check]

Reads either layout ADE20KDataset accepts, checks every label map (a
single-channel PNG of ids 0…150, the size of its image) and writes
``ade20k_ref.txt`` (training queries and references) and
``ade20k_ref_test.txt`` (validation queries, training references) next to
the data, by label-histogram similarity. Existing lists (e.g. CoCosNet's)
are kept unless ``--overwrite``.
"""
import argparse
import os.path as osp
import sys
import time

from PIL import Image

from mclnet_plugin.datasets import ADE20KDataset, LoadLabelMap

# the generic list builder next to this folder
sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))
import build_exemplar_list  # noqa: E402

LISTS = (('ade20k_ref.txt', 'training', None),
         ('ade20k_ref_test.txt', 'validation', 'training'))


def check_labels(data_root: str, split: str) -> int:
    """Loads every label map of a split with the dataset's checks; raises
    on the first bad one. Returns the number checked."""
    load = LoadLabelMap(num_classes=151)
    samples = ADE20KDataset(data_root, split=split,
                            lazy_init=True).list_samples()
    start = time.time()
    for count, sample in enumerate(samples, start=1):
        with Image.open(sample['gt_path']) as image:
            shape = (image.height, image.width)
        load(dict(sample, ori_gt_shape=shape))
        if count % 2000 == 0 or count == len(samples):
            print(f'{split}: checked {count}/{len(samples)} label maps '
                  f'({count / (time.time() - start):.0f}/s)')
    return len(samples)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('data_root')
    parser.add_argument('--top-k', type=int, default=10)
    parser.add_argument('--workers', type=int, default=0)
    parser.add_argument('--skip-check', action='store_true')
    parser.add_argument('--overwrite', action='store_true')
    args = parser.parse_args(argv)
    if not args.skip_check:
        for split in ('training', 'validation'):
            check_labels(args.data_root, split)
    for name, split, gallery in LISTS:
        out = osp.join(args.data_root, name)
        if osp.isfile(out) and not args.overwrite:
            print(f'{out} exists, kept (--overwrite to rebuild)')
            continue
        build_argv = ['ade20k', args.data_root, '--split', split, '--out',
                      out, '--top-k', str(args.top_k), '--workers',
                      str(args.workers)]
        if gallery:
            build_argv += ['--gallery-split', gallery]
        build_exemplar_list.main(build_argv)


if __name__ == '__main__':
    main()
