"""MMagic's DataPreprocessor, plus one-hot encoding of label-map conditions
on the device."""
from typing import Dict, List, Optional

import torch
from mmagic.models import DataPreprocessor
from mmagic.registry import MODELS


@MODELS.register_module()
class ConditionDataPreprocessor(DataPreprocessor):
    """Normalises images as MMagic's ``DataPreprocessor`` does, leaves the
    condition maps un-normalised, and expands integer label maps into
    one-hot channels.

    The pipeline packs a label map as (1, H, W) integer ids (``LoadLabelMap``
    leaves them so); here, after batching and moving to the device, it
    becomes (B, num_classes, H, W) float one-hot — 151 float maps per sample
    never pass through the dataloader.

    Args:
        one_hot: input key → number of classes, e.g. ``dict(cond=151)``.
            Such keys are treated as non-image keys.
        non_image_keys: further input keys to stack without normalising
            (pose and edge maps).
        **kwargs: the rest of ``DataPreprocessor``'s arguments.
    """

    def __init__(self,
                 one_hot: Optional[Dict[str, int]] = None,
                 non_image_keys: Optional[List[str]] = None,
                 **kwargs) -> None:
        self.one_hot = dict(one_hot or {})
        keys = list(non_image_keys or [])
        keys += [key for key in self.one_hot if key not in keys]
        super().__init__(non_image_keys=keys or None, **kwargs)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        for key, num_classes in self.one_hot.items():
            data['inputs'][key] = one_hot_labels(data['inputs'][key],
                                                 num_classes, key)
        return data


def one_hot_labels(labels: torch.Tensor, num_classes: int,
                   name: str = 'labels') -> torch.Tensor:
    """(B, 1, H, W) integer ids → (B, num_classes, H, W) float32 one-hot."""
    if labels.dim() != 4 or labels.shape[1] != 1:
        raise ValueError(
            f'inputs[{name!r}] should be (B, 1, H, W) class ids for one-hot '
            f'encoding, got shape {tuple(labels.shape)}')
    if labels.is_floating_point():
        raise TypeError(f'inputs[{name!r}] should hold integer class ids, '
                        f'got {labels.dtype}')
    labels = labels.long()
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f'inputs[{name!r}] has class ids in [{int(labels.min())}, '
            f'{int(labels.max())}], outside [0, {num_classes - 1}]')
    one_hot = torch.zeros(
        labels.shape[0],
        num_classes,
        *labels.shape[2:],
        device=labels.device,
        dtype=torch.float32)
    return one_hot.scatter_(1, labels, 1.0)
