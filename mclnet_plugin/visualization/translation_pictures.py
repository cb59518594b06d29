"""Viewable pictures of model inputs and outputs (grids, saved results)."""
from typing import Optional, Sequence

import numpy as np
import torch


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [0, 255] -> (H, W, 3) uint8."""
    return image.clamp(0, 255).round().byte().permute(1, 2, 0).cpu().numpy()


def condition_image(cond: torch.Tensor,
                    channels: Optional[Sequence[int]] = None) -> np.ndarray:
    """An RGB picture (H, W, 3) uint8 of a (C, H, W) condition map in
    [0, 1].

    ``channels`` picks what to show: one index as grey, three as RGB (the
    pose map's skeleton is channels (0, 1, 2)). By default: one channel as
    grey, three as colours, a one-hot label map as a fixed colour per class,
    and any other map by its first channel (the edge map of the face
    conditions).
    """
    cond = cond.float().cpu()
    if channels is None:
        if cond.shape[0] in (1, 3):
            channels = range(cond.shape[0])
        elif _is_one_hot(cond):
            palette = torch.from_numpy(
                np.random.default_rng(0).integers(0, 256, (cond.shape[0], 3)))
            return palette[cond.argmax(0)].byte().numpy()
        else:
            channels = (0, )
    picked = cond[list(channels)]
    if picked.shape[0] == 1:
        picked = picked.expand(3, -1, -1)
    elif picked.shape[0] != 3:
        raise ValueError(f'show 1 or 3 condition channels, got {channels}')
    return to_uint8(picked * 255)


def translation_row(sample,
                    cond_channels: Optional[Sequence[int]] = None
                    ) -> np.ndarray:
    """condition | exemplar | warped exemplar [| oracle warp] | output [|
    ground truth] of one model output (a DataSample), (H, 4–6 × W, 3) uint8
    RGB; the oracle warp (``oracle_warp``, set by ``TranslationGridHook``
    where the true correspondence is known) and the ground truth where the
    sample has them."""
    pictures = [
        condition_image(sample.cond, cond_channels),
        to_uint8(sample.exemplar),
        to_uint8(sample.warped_exemplar)
    ]
    if 'oracle_warp' in sample:
        pictures.append(to_uint8(sample.oracle_warp))
    pictures.append(to_uint8(sample.fake_img))
    if 'gt_img' in sample:
        pictures.append(to_uint8(sample.gt_img))
    return np.concatenate(pictures, axis=1)


def _is_one_hot(cond: torch.Tensor) -> bool:
    return bool(((cond == 0) | (cond == 1)).all()
                and (cond.sum(0) == 1).all())
