"""Sliced Wasserstein distance (PGGAN, Karras et al. 2018) of the
translations vs the test set's ground truths.

MMagic's ``SlicedWassersteinDistance`` does the maths: Laplacian pyramid,
128 random 7x7 neighbourhoods per image and level, descriptors normalised
per channel over the set, 4 x 128 random projections, distances x 1e3.
This subclass takes both image sets from the model's outputs (MMagic's
reads ``gt_img`` whatever ``real_key`` says), keeps them per sample so
distributed collection drops the padded duplicates, and by default uses
PGGAN's levels (down to 16 px: 5 at 256) where MMagic stops at 4.
"""
from typing import Optional, Sequence

import torch
from mmagic.evaluation.metrics import SlicedWassersteinDistance
from mmagic.evaluation.metrics.swd import (get_descriptors_for_minibatch,
                                           laplacian_pyramid)
from mmagic.registry import METRICS

from .base_translation_metric import TranslationMetricMixin, stack_images

MIN_LEVEL_SIZE = 16


@METRICS.register_module()
class TranslationSWD(TranslationMetricMixin, SlicedWassersteinDistance):
    """SWD x 1e3 of ``fake_key`` vs ``real_key`` images, per pyramid level
    and averaged over levels.

    Result keys: the level sizes and ``avg`` (``'256'``, ``'128'``, ...,
    ``'16'``, ``'avg'``) under ``prefix`` (default ``'SWD'``:
    ``SWD/avg``). Neighbourhoods and projections are random (NumPy's and
    torch's global generators): seed the run for repeatable values.

    Args:
        image_shape: (3, H, W) of every image; None: that of the first
            batch.
        fake_key, real_key: image keys of the sample dicts (RGB, [0, 255]).
        num_levels: pyramid levels; None: PGGAN's, halving down to 16 px.
    """

    default_prefix = 'SWD'

    def __init__(self,
                 image_shape: Optional[Sequence[int]] = None,
                 fake_key: str = 'fake_img',
                 real_key: str = 'gt_img',
                 num_levels: Optional[int] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            fake_nums=-1,
            image_shape=tuple(image_shape or (3, MIN_LEVEL_SIZE,
                                              MIN_LEVEL_SIZE)),
            fake_key=fake_key,
            real_key=real_key,
            sample_model='orig',
            collect_device=collect_device,
            prefix=prefix)
        self.num_levels = num_levels
        self.image_shape = None
        if image_shape is not None:
            self.set_image_shape(tuple(image_shape))

    def set_image_shape(self, image_shape: tuple) -> None:
        """The pyramid levels for images of ``image_shape`` (3, H, W)."""
        self.image_shape = image_shape
        size, self.resolutions = image_shape[1], []
        while size >= MIN_LEVEL_SIZE and (self.num_levels is None or len(
                self.resolutions) < self.num_levels):
            self.resolutions.append(size)
            size //= 2
        if not self.resolutions:
            raise ValueError(f'SWD needs images of at least {MIN_LEVEL_SIZE}'
                             f' px, got image_shape {image_shape}')
        self.n_pyramids = len(self.resolutions)

    def _descriptors(self, images: torch.Tensor) -> list:
        """(B, 3, H, W) in [0, 255] -> per level (B, 128, 3, 7, 7)."""
        if self.image_shape is None:
            self.set_image_shape(tuple(images.shape[1:]))
        if tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(f'SWD was set up for image_shape '
                             f'{self.image_shape}, got {tuple(images.shape)}')
        pyramid = laplacian_pyramid(images / 127.5 - 1, self.n_pyramids - 1,
                                    self.gaussian_k)
        shape = (len(images), self.nhoods_per_image, 3, self.nhood_size,
                 self.nhood_size)
        return [
            get_descriptors_for_minibatch(level.contiguous(), self.nhood_size,
                                          self.nhoods_per_image).view(shape)
            .cpu() for level in pyramid
        ]

    def process(self, data_batch, data_samples) -> None:
        """Random neighbourhood descriptors of both images of every sample."""
        fake = self._descriptors(stack_images(data_samples, self.fake_key))
        real = self._descriptors(stack_images(data_samples, self.real_key))
        for idx in range(len(data_samples)):
            self.results.append(
                dict(fake=[level[idx] for level in fake],
                     real=[level[idx] for level in real]))

    def compute_metrics(self, results: list) -> dict:
        by_level = {
            kind: [[result[kind][lod] for result in results]
                   for lod in range(self.n_pyramids)]
            for kind in ('fake', 'real')
        }
        return super().compute_metrics(by_level['fake'], by_level['real'])
