"""What every MCL-Net metric shares: reading images from the sample dicts
the Evaluator passes, and running under either family of test loops."""
from typing import Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric


def fetch_image(data_sample: dict, key: str) -> torch.Tensor:
    """Image ``key`` of one sample as a (3, H, W) float tensor.

    ``data_sample`` is ``DataSample.to_dict()`` of one output of
    ``MCLNet.test_step``: images (``fake_img``, ``warped_exemplar``,
    ``exemplar``, ``gt_img``) are RGB in [0, 255] on the model's device, and
    metainfo (``query_id``, ...) sits at the same level.
    """
    if key not in data_sample:
        raise KeyError(
            f'The model output has no {key!r} (it has '
            f'{sorted(data_sample)}). Set the metric\'s key argument, or, for '
            "'gt_img', use a test set with ground truths.")
    image = data_sample[key]
    if not isinstance(image, torch.Tensor) or image.dim() != 3:
        raise ValueError(f'{key!r} should be a (3, H, W) tensor, got '
                         f'{getattr(image, "shape", type(image))}')
    return image.float()


def stack_images(data_samples: Sequence[dict], key: str) -> torch.Tensor:
    """Image ``key`` of every sample, (B, 3, H, W)."""
    return torch.stack([fetch_image(sample, key) for sample in data_samples])


class TranslationMetricMixin:
    """Lets a metric run in MMEngine's ``TestLoop``/``ValLoop`` and in
    MMagic's ``MultiTestLoop``/``MultiValLoop``.

    MMEngine's loops call ``evaluate(size)``. MMagic's loops first call
    ``prepare(module, dataloader)`` and ``get_metric_sampler``, group metrics
    by ``SAMPLER_MODE`` and ``sample_model``, then call ``evaluate()``.
    Every metric here takes its inputs from the model's outputs on the test
    set, so it needs nothing prepared and samples the dataloader as is.
    Put the mixin first in the bases so it overrides MMagic's metrics.
    """

    SAMPLER_MODE = 'normal'
    sample_model = 'orig'

    def prepare(self, module: torch.nn.Module, dataloader) -> None:
        """Records the dataset size for ``evaluate()`` without argument."""
        self.size = len(dataloader.dataset)

    def get_metric_sampler(self, model, dataloader, metrics):
        """The test dataloader itself."""
        return dataloader

    def evaluate(self, size: Optional[int] = None) -> dict:
        """``BaseMetric.evaluate``; ``size`` defaults to ``prepare``'s."""
        if size is None:
            size = getattr(self, 'size', None)
            if size is None:
                raise RuntimeError(
                    f'{type(self).__name__}.evaluate() needs the dataset '
                    'size: pass it, or call prepare() first (MMagic\'s '
                    'MultiTestLoop does).')
        return BaseMetric.evaluate(self, size)
