"""Translation grids during training, and the before/after report."""
import json
import os
import os.path as osp
from typing import Iterable, List, Optional, Union

import cv2
import numpy as np
import torch
from mmagic.registry import HOOKS
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..evaluation.oracle_warp import IDENTITY_AFFINE, oracle_warp_affine
from ..utils import separate_random_streams
from ..visualization import cond_channels_of, to_uint8, translation_row


@HOOKS.register_module()
class TranslationGridHook(Hook):
    """Draws grids condition | exemplar | warped exemplar [| oracle warp] |
    output | ground truth for a fixed batch, and measures the
    warped-exemplar PSNR.

    The batch is the first of ``dataloader`` (e.g. held-out images), drawn
    once before training. Files, in ``<work_dir>/<out_dir>``:
    ``iter_<n>.png`` every ``interval`` iterations, ``before_training.png``
    and ``after_training.png``, and ``report.json`` with the mean PSNR of
    warped exemplar and output against the ground truth before and after
    training.

    Where the batch's exemplars are pseudo pairs whose affine is known
    (``PseudoExemplar`` records ``exemplar_affine``; keep it with
    ``PackInputs(meta_keys=[..., 'exemplar_affine'])``, as the demo does),
    the grids gain an *oracle warp* column: the exemplar warped by its true
    correspondence on the network's feature grid and upsampled as the
    network upsamples (``mclnet_plugin.evaluation.oracle_warp``), the best
    any learned correspondence of this resolution can do. ``report.json``
    then also holds the oracle's PSNR and, after training,
    ``warp_gain_of_oracle``: (warped PSNR after − before) / (oracle PSNR −
    warped PSNR before), the share of the attainable gain reached. To read
    that share, ``oracle_within_one_cell`` gives the same numbers for a
    correspondence that is right but soft: each cell the mean of the 3×3
    cells around its true match (``oracle_warp(..., spread=1)``), what a
    softmax warp whose weight lies within one cell of the truth reaches.

    Each grid and its PSNRs also go to the runner's visualizer, so to every
    ``vis_backends`` (TensorBoard, W&B, MMagic's ``vis_data``): the image
    ``<out_dir>`` and the scalars ``<out_dir>/psnr_warped`` and
    ``<out_dir>/psnr_output``, at the iteration they were measured (0
    before training). Any MMEngine ``Visualizer`` will do; a
    ``TranslationVisualizer`` also says how the condition is drawn
    (``cond_channels``).

    Args:
        dataloader: config of the dataloader providing the batch, or
            ``'val'``: the runner's validation dataloader.
        interval: iterations between grids (0: only before and after).
        out_dir: folder inside the work dir, and the visualizer's tag.
        seed: the batch is drawn with Python's, NumPy's and torch's random
            generators seeded with it and restored afterwards, so its random
            transforms (the demo's pseudo-exemplar affines) are the same
            whatever the model's construction consumed (reports stay
            comparable across configs), and drawing it does not shift the
            training's random stream. None: draw with the current state.
    """

    priority = 'LOW'

    def __init__(self,
                 dataloader: Union[dict, str],
                 interval: int = 0,
                 out_dir: str = 'translation_grids',
                 seed: Optional[int] = 0) -> None:
        self.dataloader_cfg = dataloader
        self.interval = interval
        self.out_dir = out_dir
        self.seed = seed
        self.batch: Optional[dict] = None
        self.oracle: Optional[List[torch.Tensor]] = None
        self._columns: List[str] = []
        self.report = {}

    def before_train(self, runner) -> None:
        if self.dataloader_cfg == 'val':
            loader = runner.val_dataloader
        else:
            loader = runner.build_dataloader(self.dataloader_cfg)
        self.batch = first_batch(loader, self.seed)
        self._record(runner, 'before_training', runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self.interval and self.every_n_train_iters(runner, self.interval):
            self._record(runner, f'iter_{runner.iter + 1}', runner.iter + 1)

    def after_train(self, runner) -> None:
        self._record(runner, 'after_training', runner.iter)
        self._write_report(runner)

    @torch.no_grad()
    def _record(self, runner, name: str, step: int) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        was_training = model.training
        model.eval()
        samples = model.val_step(self.batch)
        model.train(was_training)
        if self.oracle is None and all('exemplar_affine' in s.metainfo
                                       for s in samples):
            self.oracle = oracle_warps(model, samples)
            oracle = mean_psnr_of(self.oracle, samples)
            soft = mean_psnr_of(
                oracle_warps(model, samples, spread=1), samples)
            self.report['oracle'] = dict(psnr_warped=oracle)
            self.report['oracle_within_one_cell'] = dict(psnr_warped=soft)
            runner.logger.info(
                f'[oracle] warped-exemplar PSNR {oracle:.2f} dB (the '
                'exemplar warped by its true correspondence); '
                f'{soft:.2f} dB right but spread over the 3×3 cells '
                'around it')
        if self.oracle is not None:
            for oracle_warp, sample in zip(self.oracle, samples):
                sample.oracle_warp = oracle_warp
        self.report[name] = dict(
            psnr_warped=_mean_psnr(samples, 'warped_exemplar'),
            psnr_output=_mean_psnr(samples, 'fake_img'))
        runner.logger.info(
            f'[{name}] warped-exemplar PSNR '
            f'{self.report[name]["psnr_warped"]:.2f} dB, output PSNR '
            f'{self.report[name]["psnr_output"]:.2f} dB')
        self._columns = _columns(samples[0])
        self._publish(runner, name, step, samples)

    @master_only
    def _publish(self, runner, name: str, step: int, samples: List) -> None:
        """Writes ``<name>.png`` and sends grid and PSNRs to the
        visualizer's backends."""
        visualizer = runner.visualizer
        cond_channels = cond_channels_of(visualizer)
        grid = np.concatenate(
            [translation_row(s, cond_channels) for s in samples], axis=0)
        folder = osp.join(runner.work_dir, self.out_dir)
        os.makedirs(folder, exist_ok=True)
        cv2.imwrite(
            osp.join(folder, f'{name}.png'),
            cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
        # RGB: what every backend's add_image expects
        visualizer.add_image(self.out_dir, grid, step=step)
        visualizer.add_scalars(
            {
                f'{self.out_dir}/{key}': value
                for key, value in self.report[name].items()
            },
            step=step)

    @master_only
    def _write_report(self, runner) -> None:
        report = dict(columns=self._columns, **self.report)
        if 'oracle' in self.report:
            before = self.report['before_training']['psnr_warped']
            after = self.report['after_training']['psnr_warped']
            oracle = self.report['oracle']['psnr_warped']
            report['warp_gain_of_oracle'] = share_of_oracle_gain(
                after, before, oracle)
            soft = self.report['oracle_within_one_cell']['psnr_warped']
            soft_share = share_of_oracle_gain(soft, before, oracle)
            report['oracle_within_one_cell'] = dict(
                psnr_warped=soft, gain_of_oracle=soft_share)
            runner.logger.info(
                f'warped-exemplar PSNR {before:.2f} dB before training, '
                f'{after:.2f} dB after, oracle {oracle:.2f} dB: '
                f'{_format_share(report["warp_gain_of_oracle"])} of the '
                "oracle's gain (a warp right to within one cell: "
                f'{_format_share(soft_share)})')
        path = osp.join(runner.work_dir, self.out_dir, 'report.json')
        with open(path, 'w') as f:
            json.dump(report, f, indent=2)
        runner.logger.info(f'wrote {path}')


def first_batch(loader: Iterable, seed: Optional[int]):
    """The first batch of ``loader``, drawn with the random generators
    seeded with ``seed`` and restored afterwards (None: as they are)."""
    if seed is None:
        return next(iter(loader))
    with separate_random_streams(seed):
        return next(iter(loader))


def _columns(sample) -> List[str]:
    """The grid's columns, as ``translation_row`` draws them."""
    columns = ['condition', 'exemplar', 'warped exemplar']
    if 'oracle_warp' in sample:
        columns.append('oracle warp')
    columns.append('output')
    if 'gt_img' in sample:
        columns.append('ground truth')
    return columns


def oracle_warps(model,
                 samples: List,
                 spread: int = 0,
                 unwarped: bool = False) -> List[torch.Tensor]:
    """Each sample's exemplar warped by its known affine at the resolution
    and upsampling of the model's correspondence network (``spread``: see
    ``oracle_warp``; ``unwarped``: read at the identity instead, the
    exemplar only pooled and upsampled)."""
    generator = model.generator.module if is_model_wrapper(
        model.generator) else model.generator
    correspondence = generator.correspondence
    stride = correspondence.image_encoder.downsample_factor
    return [
        oracle_warp_affine(
            s.exemplar,
            IDENTITY_AFFINE if unwarped else s.metainfo['exemplar_affine'],
            stride,
            correspondence.upsample_mode,
            warp_patch=correspondence.warp_patch,
            spread=spread) for s in samples
    ]


def share_of_oracle_gain(psnr: float, before: float,
                         oracle: float) -> Optional[float]:
    """(psnr − before) / (oracle − before); None when the oracle does not
    beat the untrained warp."""
    attainable = oracle - before
    return (psnr - before) / attainable if attainable > 0 else None


def _format_share(share: Optional[float]) -> str:
    return 'n/a' if share is None else f'{share:.2f}'


def _mean_psnr(samples: List, key: str) -> float:
    return mean_psnr_of([getattr(s, key) for s in samples], samples)


def mean_psnr_of(images: List[torch.Tensor], samples: List) -> float:
    """Mean PSNR of (3, H, W) images in [0, 255] against the samples'
    ground truths."""
    # imported here: mmagic.evaluation imports all of mmagic.models (~10 s)
    from mmagic.evaluation.metrics.psnr import psnr
    return float(
        np.mean([
            psnr(to_uint8(image), to_uint8(s.gt_img))
            for image, s in zip(images, samples)
        ]))
