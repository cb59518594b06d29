"""Time per training sample of each task's data pipeline, and what a sample
carries into the model, at the datasets' real image sizes.

    python benchmarks/bench_data_pipelines.py [--samples 24]

Writes small datasets in a temporary folder (scikit-image photos resized to
ADE20K's typical 512×683, DeepFashion In-shop's 256×176 and CelebA-HQ's
1024×1024, with fixture labels, keypoints, landmarks and part masks),
builds each config's train pipeline and runs it in this process (one
worker), after one warm-up pass. For ADE20K it also compares the one-hot
encoding in the pipeline (numpy, per sample) with ConditionDataPreprocessor
(torch, per batch, on the device; here the CPU).
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from mclnet_plugin.datasets import (ADE20KDataset, CelebAHQEdgeDataset,
                                    DeepFashionPoseDataset)
from mclnet_plugin.models import ConditionDataPreprocessor

# the tests' fixture writers make the datasets
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from tests.dataset_fixtures import (make_ade20k, make_celebahq,  # noqa: E402
                                    make_deepfashion)

TASKS = (
    ('ADE20K (512×683)', 'ade20k.py', ADE20KDataset,
     lambda root, n: make_ade20k(root, num_train=n, size=(512, 683)),
     dict(split='training', exemplar_list='ade20k_ref.txt')),
    ('DeepFashion (256×176)', 'deepfashion.py', DeepFashionPoseDataset,
     lambda root, n: make_deepfashion(root, size=(256, 176)),
     dict(split='train', exemplar_list='train_ref.txt')),
    ('CelebA-HQ landmarks (1024²)', 'celebahq.py', CelebAHQEdgeDataset,
     lambda root, n: make_celebahq(root, num_train=n, size=1024),
     dict(split='train', exemplar_list='train_ref.txt')),
)


def time_pipeline(dataset, pipeline, samples: int):
    """Mean seconds per sample and the last packed sample."""
    items = [dataset.get_data_info(i % len(dataset)) for i in range(samples)]
    pipeline(dict(items[0]))  # warm-up
    start = time.perf_counter()
    for item in items:
        packed = pipeline(dict(item))
    return (time.perf_counter() - start) / samples, packed


def one_hot_costs(batch_size: int = 8, repeats: int = 5):
    """ms per batch: numpy one-hot per sample vs the preprocessor's."""
    labels = [
        torch.randint(0, 151, (1, 256, 256), dtype=torch.uint8)
        for _ in range(batch_size)
    ]
    start = time.perf_counter()
    for _ in range(repeats):
        for label in labels:
            ids = label[0].numpy()
            one_hot = np.zeros((151, ) + ids.shape, np.float32)
            np.put_along_axis(one_hot, ids[None].astype(np.int64), 1, 0)
    numpy_ms = (time.perf_counter() - start) / repeats * 1e3
    preprocessor = ConditionDataPreprocessor(one_hot=dict(cond=151))
    batch = dict(
        inputs=dict(
            cond=labels,
            exemplar=[torch.zeros(3, 256, 256, dtype=torch.uint8)] *
            batch_size))
    start = time.perf_counter()
    for _ in range(repeats):
        preprocessor(batch, training=True)
    torch_ms = (time.perf_counter() - start) / repeats * 1e3
    return numpy_ms, torch_ms


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--samples', type=int, default=24)
    args = parser.parse_args(argv)
    init_default_scope('mmagic')
    print('| task | train pipeline, ms/sample | cond per sample |')
    print('|---|---|---|')
    for name, config, dataset_type, make, dataset_args in TASKS:
        with tempfile.TemporaryDirectory() as root:
            make(root, 6)
            cfg = Config.fromfile(
                osp.join(REPO, 'configs', '_base_', 'datasets', config))
            dataset = dataset_type(root, **dataset_args)
            seconds, packed = time_pipeline(
                dataset, Compose(cfg.train_pipeline), args.samples)
        cond = packed['inputs']['cond']
        size_kib = cond.numel() * cond.element_size() / 1024
        print(f'| {name} | {seconds * 1e3:.1f} | {tuple(cond.shape)} '
              f'{str(cond.dtype).replace("torch.", "")}, '
              f'{size_kib:.0f} KiB |')
    numpy_ms, torch_ms = one_hot_costs()
    print(f'\nADE20K one-hot of a batch of 8 (151 classes, 256²): '
          f'{numpy_ms:.0f} ms in the pipeline (numpy, per sample) vs '
          f'{torch_ms:.0f} ms in ConditionDataPreprocessor; the packed map '
          f'is 64 KiB of ids instead of '
          f'{151 * 256 * 256 * 4 / 2**20:.1f} MiB of floats per sample.')


if __name__ == '__main__':
    main()
