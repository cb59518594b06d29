"""Saving what the model produces at test time, one file per image."""
import os
import os.path as osp

import cv2
from mmagic.registry import HOOKS
from mmengine.hooks import Hook

from ..visualization import cond_channels_of, to_uint8, translation_row


@HOOKS.register_module()
class SaveTranslationsHook(Hook):
    """Writes each test sample's output and warped exemplar as PNG (lossless:
    JPEG artefacts move FID), and optionally a row condition | exemplar |
    warped exemplar | output | ground truth, the condition drawn as the
    runner's visualizer says (``TranslationVisualizer.cond_channels``).

    Files in ``out_dir`` (relative paths are taken in the work dir):
    ``<name>_output.png``, ``<name>_warped.png`` and ``<name>_grid.png``;
    ``<name>`` is :func:`sample_name`, unique per sample of a dataset. Two
    samples of one run never share a file: a repeated name (the same pair
    twice) gets ``-2``, ``-3``, ... and a warning.

    Args:
        out_dir: the folder.
        grid: also write the row of pictures.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str = 'translations',
                 grid: bool = False) -> None:
        self.out_dir = out_dir
        self.grid = grid
        self.written = {}  # name → how many samples of this run used it

    def before_test(self, runner) -> None:
        self.written.clear()
        folder = osp.join(runner.work_dir, self.out_dir)
        if osp.isdir(folder) and os.listdir(folder):
            runner.logger.warning(
                f'{folder} already holds files: those of samples tested '
                'again are overwritten')

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        folder = osp.join(runner.work_dir, self.out_dir)
        os.makedirs(folder, exist_ok=True)
        for sample in outputs:
            name = self._unique(runner, sample_name(sample))
            pictures = dict(
                output=to_uint8(sample.fake_img),
                warped=to_uint8(sample.warped_exemplar))
            if self.grid:
                pictures['grid'] = translation_row(
                    sample, cond_channels_of(runner.visualizer))
            for kind, picture in pictures.items():
                path = osp.join(folder, f'{name}_{kind}.png')
                if not cv2.imwrite(path,
                                   cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)):
                    raise OSError(f'could not write {path}')

    def _unique(self, runner, name: str) -> str:
        count = self.written.get(name, 0) + 1
        self.written[name] = count
        if count == 1:
            return name
        runner.logger.warning(
            f'a test sample named {name!r} was saved before in this run; '
            f'this one is saved as {name}-{count}')
        return f'{name}-{count}'


def sample_name(sample) -> str:
    """``<query>_<exemplar>`` of a test sample: the query as its dataset
    names it (``query_id``, a path relative to the data root, without
    extension, folders joined by ``__``: DeepFashion's
    ``img/WOMEN/Dresses/id_00000002/02_1_front.jpg`` gives
    ``img__WOMEN__Dresses__id_00000002__02_1_front``), else the stem of
    its ``gt_path``; then the exemplar file's stem. Without either, the
    sample index."""
    meta = sample.metainfo
    if meta.get('query_id'):
        name = osp.splitext(meta['query_id'])[0].replace('/', '__')
    elif meta.get('gt_path'):
        name = osp.splitext(osp.basename(meta['gt_path']))[0]
    else:
        return f'{meta.get("sample_idx", 0):06d}'
    if meta.get('exemplar_path'):
        name += '_' + osp.splitext(osp.basename(meta['exemplar_path']))[0]
    return name
