"""Shared helpers: model outputs as MMEngine's Evaluator receives them."""
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import skimage.data
import torch
from mmagic.structures import DataSample
from mmengine.evaluator import Evaluator

import mclnet_plugin.evaluation  # noqa: F401  (registers the metrics)

PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket', 'cat',
          'immunohistochemistry')


def photos(size: int = 64, names: Sequence[str] = PHOTOS) -> torch.Tensor:
    """scikit-image's bundled photos, (N, 3, size, size) float RGB 0-255."""
    images = [
        cv2.resize(getattr(skimage.data, name)(), (size, size),
                   interpolation=cv2.INTER_AREA) for name in names
    ]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()


def outputs(query_ids: Optional[Sequence[str]] = None,
            **images: torch.Tensor) -> List[DataSample]:
    """One DataSample per row of the (N, 3, H, W) ``images``, as
    ``MCLNet.test_step`` returns them."""
    count = len(next(iter(images.values())))
    return [
        DataSample(
            metainfo=dict(sample_idx=idx) if query_ids is None else dict(
                sample_idx=idx, query_id=query_ids[idx]),
            **{key: value[idx]
               for key, value in images.items()}) for idx in range(count)
    ]


def run_evaluator(metrics, samples: Sequence[DataSample],
                  batch_size: int = 3) -> Dict[str, float]:
    """MMEngine's Evaluator over ``samples`` in batches, as its TestLoop
    drives it."""
    evaluator = Evaluator(metrics)
    for start in range(0, len(samples), batch_size):
        evaluator.process(samples[start:start + batch_size])
    return evaluator.evaluate(len(samples))
