"""Saving what the model produces at test time, one file per image."""
import os
import os.path as osp
from typing import Optional, Sequence

import cv2
from mmagic.registry import HOOKS
from mmengine.hooks import Hook

from .visualization import to_uint8, translation_row


@HOOKS.register_module()
class SaveTranslationsHook(Hook):
    """Writes each test sample's output and warped exemplar as PNG (lossless:
    JPEG artefacts move FID), and optionally a row condition | exemplar |
    warped exemplar | output | ground truth.

    Files in ``out_dir`` (relative paths are taken in the work dir):
    ``<name>_output.png``, ``<name>_warped.png`` and ``<name>_grid.png``,
    where ``<name>`` is ``<query>_<exemplar>`` (file stems from the sample's
    ``query_id``/``gt_path`` and ``exemplar_path``), or the sample index.

    Args:
        out_dir: the folder.
        grid: also write the row of pictures.
        cond_channels: condition channels shown in the grid (see
            ``condition_image``).
    """

    priority = 'LOW'

    def __init__(self,
                 out_dir: str = 'translations',
                 grid: bool = False,
                 cond_channels: Optional[Sequence[int]] = None) -> None:
        self.out_dir = out_dir
        self.grid = grid
        self.cond_channels = cond_channels

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        folder = osp.join(runner.work_dir, self.out_dir)
        os.makedirs(folder, exist_ok=True)
        for sample in outputs:
            name = sample_name(sample)
            pictures = dict(
                output=to_uint8(sample.fake_img),
                warped=to_uint8(sample.warped_exemplar))
            if self.grid:
                pictures['grid'] = translation_row(sample, self.cond_channels)
            for kind, picture in pictures.items():
                cv2.imwrite(
                    osp.join(folder, f'{name}_{kind}.png'),
                    cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))


def sample_name(sample) -> str:
    """``<query stem>_<exemplar stem>``, or ``<sample index>``."""
    meta = sample.metainfo
    query = meta.get('query_id') or meta.get('gt_path')
    if query is None:
        return f'{meta.get("sample_idx", 0):06d}'
    name = osp.splitext(osp.basename(query))[0]
    if meta.get('exemplar_path'):
        name += '_' + osp.splitext(osp.basename(meta['exemplar_path']))[0]
    return name
