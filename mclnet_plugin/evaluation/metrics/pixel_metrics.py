"""L1, PSNR and SSIM between two images of each output (paper Table 4:
warped exemplar vs ground truth; also usable for the translation).

MMagic's ``MAE``/``PSNR``/``SSIM`` compute the values; these subclasses only
change where the images come from. MMagic's versions read
``data_sample['output'][pred_key]``, assume BGR for ``convert_to='Y'`` and
expect ``prepare()`` from MMagic's loops; our outputs are flat dicts of RGB
[0, 255] (3, H, W) tensors, and MMEngine's loops call ``evaluate(size)``.
"""
from typing import Optional

import numpy as np
from mmagic.evaluation.metrics import MAE, PSNR, SSIM
from mmagic.registry import METRICS
from mmengine.logging import print_log

from .base_translation_metric import TranslationMetricMixin, fetch_image


class _PairedImageMixin(TranslationMetricMixin):
    """Per-sample value of ``process_image(gt, pred)`` on the sample dicts."""

    def _set_keys(self, pred_key: str, gt_key: str) -> None:
        self.pred_key, self.gt_key = pred_key, gt_key
        self.channel_order = 'RGB'  # MMagic's base assumes BGR

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            gt = fetch_image(sample, self.gt_key).cpu()
            pred = fetch_image(sample, self.pred_key).cpu()
            if gt.shape != pred.shape:
                raise ValueError(f'{self.pred_key} {tuple(pred.shape)} and '
                                 f'{self.gt_key} {tuple(gt.shape)} differ')
            self.results.append(
                {self.metric: float(self.process_image(gt, pred, None))})


@METRICS.register_module()
class TranslationMAE(_PairedImageMixin, MAE):
    """Mean absolute error (the paper's L1) of ``pred_key`` vs ``gt_key``,
    on [0, 1] pixel values; ``scaling=255`` reports it on [0, 255].

    Result key ``MAE`` (with ``prefix``: ``<prefix>/MAE``).
    """

    def __init__(self,
                 pred_key: str = 'fake_img',
                 gt_key: str = 'gt_img',
                 scaling: float = 1,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            scaling=scaling, collect_device=collect_device, prefix=prefix)
        self._set_keys(pred_key, gt_key)


@METRICS.register_module()
class TranslationPSNR(_PairedImageMixin, PSNR):
    """PSNR in dB of ``pred_key`` vs ``gt_key`` (peak 255), averaged over
    samples. Result key ``PSNR``.

    An image equal to its ground truth has PSNR = inf, and then so has the
    average (as MMagic's and scikit-image's PSNR). ``max_psnr`` caps each
    image's value instead, e.g. at 100 dB; an integer-valued 256x256 RGB
    image that differs from its ground truth has at most ~101 dB.
    ``crop_border`` and ``convert_to='Y'`` are MMagic's options.
    """

    def __init__(self,
                 pred_key: str = 'fake_img',
                 gt_key: str = 'gt_img',
                 crop_border: int = 0,
                 convert_to: Optional[str] = None,
                 max_psnr: Optional[float] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            crop_border=crop_border,
            input_order='CHW',
            convert_to=convert_to)
        self._set_keys(pred_key, gt_key)
        self.max_psnr = max_psnr

    def compute_metrics(self, results: list) -> dict:
        """Average PSNR, each sample's capped at ``max_psnr`` if given."""
        values = np.array([result[self.metric] for result in results])
        identical = int(np.isinf(values).sum())
        if self.max_psnr is not None:
            values = np.minimum(values, self.max_psnr)
        elif identical:
            print_log(
                f'{identical} of {len(values)} {self.pred_key} images equal '
                f'their {self.gt_key} (PSNR = inf), so the mean PSNR is inf; '
                'set max_psnr to cap each image\'s value.', 'current')
        return {self.metric: float(values.mean())}


@METRICS.register_module()
class TranslationSSIM(_PairedImageMixin, SSIM):
    """SSIM of ``pred_key`` vs ``gt_key`` (11x11 Gaussian window, sigma 1.5,
    per channel then averaged, as MATLAB's reference code), averaged over
    samples. Result key ``SSIM``.
    """

    def __init__(self,
                 pred_key: str = 'fake_img',
                 gt_key: str = 'gt_img',
                 crop_border: int = 0,
                 convert_to: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            crop_border=crop_border,
            input_order='CHW',
            convert_to=convert_to)
        self._set_keys(pred_key, gt_key)
