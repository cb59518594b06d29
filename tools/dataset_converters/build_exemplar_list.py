"""Build an exemplar list (CoCosNet's ``query,ref1,ref2,...`` format) for a
dataset that comes without one.

    # ADE20K: label-histogram similarity, training queries vs training
    python tools/dataset_converters/build_exemplar_list.py ade20k \
        data/ADEChallengeData2016 --split training \
        --out data/ADEChallengeData2016/ade20k_ref.txt
    # validation queries, training references (the test protocol)
    python tools/dataset_converters/build_exemplar_list.py ade20k \
        data/ADEChallengeData2016 --split validation --gallery-split training \
        --out data/ADEChallengeData2016/ade20k_ref_test.txt
    # DeepFashion: the same person and outfit in another view
    python tools/dataset_converters/build_exemplar_list.py deepfashion \
        data/DeepFashion --split train --out data/DeepFashion/train_ref.txt
    # CelebA-HQ: a cheap colour-layout descriptor
    python tools/dataset_converters/build_exemplar_list.py celebahq \
        data/CelebAMask-HQ --split train --out data/CelebAMask-HQ/train_ref.txt

Speed and the methods: docs/datasets.md.
"""
import argparse
import os.path as osp
import time

from mclnet_plugin.datasets import (ADE20KDataset, CelebAHQEdgeDataset,
                                    write_exemplar_list)
from mclnet_plugin.datasets.exemplar_retrieval import (compute_descriptors,
                                                       label_histogram,
                                                       retrieve_exemplars,
                                                       same_outfit_exemplars,
                                                       thumbnail_descriptor)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('dataset', choices=['ade20k', 'deepfashion',
                                            'celebahq'])
    parser.add_argument('data_root')
    parser.add_argument('--split', required=True,
                        help='the queries\' split')
    parser.add_argument(
        '--gallery-split',
        help='retrieve references from this split (default: the queries\' '
        'own split, never the query itself)')
    parser.add_argument('--out', required=True, help='the list to write')
    parser.add_argument('--top-k', type=int, default=10)
    parser.add_argument(
        '--workers', type=int, default=0, help='processes decoding files')
    return parser.parse_args(argv)


def split_items(dataset: str, data_root: str, split: str):
    """(names as the exemplar list writes them, files to describe)."""
    if dataset == 'ade20k':
        samples = ADE20KDataset(
            data_root, split=split, lazy_init=True).list_samples()
        return ([s['query_id'] for s in samples],
                [s['cond_path'] for s in samples])
    samples = CelebAHQEdgeDataset(
        data_root, split=split, lazy_init=True).list_images()
    return ([s['query_id'] for s in samples],
            [s['gt_path'] for s in samples])


def read_names(data_root: str, split: str):
    path = osp.join(data_root, f'{split}.txt')
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file {path} not found')
    with open(path, encoding='utf-8') as file:
        return [line.strip() for line in file if line.strip()]


def build(args) -> dict:
    if args.dataset == 'deepfashion':
        return same_outfit_exemplars(read_names(args.data_root, args.split))
    describe = (label_histogram
                if args.dataset == 'ade20k' else thumbnail_descriptor)
    names, files = split_items(args.dataset, args.data_root, args.split)
    descriptors = compute_descriptors(describe, files, args.workers)
    if args.gallery_split is None:
        return retrieve_exemplars(names, descriptors, top_k=args.top_k)
    gallery_names, gallery_files = split_items(args.dataset, args.data_root,
                                               args.gallery_split)
    gallery = compute_descriptors(describe, gallery_files, args.workers)
    return retrieve_exemplars(names, descriptors, gallery_names, gallery,
                              args.top_k)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    exemplars = build(args)
    write_exemplar_list(args.out, exemplars)
    print(f'wrote {len(exemplars)} queries to {args.out} in '
          f'{time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
