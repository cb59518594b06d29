"""LPIPS diversity: how different the translations of one condition under
different exemplars are (paper Table 1, LPIPS column)."""
import itertools
import os
import warnings
from collections import defaultdict
from typing import Optional

import lpips
import numpy as np
import torch
from mmagic.registry import METRICS
from mmengine.evaluator import BaseMetric

from .base_translation_metric import TranslationMetricMixin, fetch_image

# torchvision's ImageNet weights of each LPIPS backbone
BACKBONE_FILES = {'alex': 'alexnet-owt-7be5be79.pth',
                  'vgg': 'vgg16-397923af.pth'}
PAIRS_PER_FORWARD = 16


def _backbone_error(net: str, problem: str) -> Exception:
    name = BACKBONE_FILES[net]
    return FileNotFoundError(
        f'LPIPS ({net}) backbone: {problem}. Provide torchvision\'s {name} '
        f'(https://download.pytorch.org/models/{name}, or torchvision.models.'
        f"{'AlexNet' if net == 'alex' else 'VGG16'}_Weights.IMAGENET1K_V1 "
        'fetched by hand) as backbone_path.')


def build_lpips(net: str = 'alex',
                backbone_path: Optional[str] = None) -> lpips.LPIPS:
    """``lpips.LPIPS`` v0.1 whose backbone comes from a local torchvision
    state dict, never a download.

    The calibrated linear heads ship inside the ``lpips`` wheel
    (``lpips/weights/v0.1/<net>.pth``); the backbone file must be given.
    """
    if net not in BACKBONE_FILES:
        raise ValueError(f'net must be one of {sorted(BACKBONE_FILES)}, got '
                         f'{net!r}')
    if backbone_path is None:
        raise _backbone_error(net, 'no backbone_path given')
    if not os.path.isfile(backbone_path):
        raise _backbone_error(net, f'{backbone_path!r} does not exist')
    # pnet_rand: a random backbone instead of torchvision's download;
    # lpips 0.1.4 builds it with torchvision's deprecated `pretrained=False`
    with warnings.catch_warnings():
        warnings.filterwarnings(
            'ignore', '.*(pretrained|weight enum)', UserWarning)
        model = lpips.LPIPS(
            pretrained=True, net=net, pnet_rand=True, verbose=False)
    state = torch.load(backbone_path, map_location='cpu', weights_only=True)
    # LPIPS splits torchvision's `features` into slices that keep the
    # module indices: features.3.weight is slice1.3.weight for VGG16
    backbone_state = {}
    for name in model.net.state_dict():
        _, index, kind = name.split('.')
        backbone_state[name] = state.get(f'features.{index}.{kind}')
    missing = [name for name, value in backbone_state.items() if value is None]
    try:
        if missing:
            raise KeyError(f'no features.* entries for {missing}')
        model.net.load_state_dict(backbone_state)
    except (KeyError, RuntimeError) as err:
        raise _backbone_error(
            net, f'{backbone_path!r} is not a torchvision {net} state dict '
            f'({err})') from err
    return model.eval().requires_grad_(False)


@METRICS.register_module()
class LPIPSDiversity(TranslationMetricMixin, BaseMetric):
    """Mean pairwise LPIPS between the translations of one condition.

    Outputs are grouped by their metainfo ``group_key`` (the condition's
    ``query_id``); each group with two or more outputs scores the mean LPIPS
    over its unordered pairs, and the result is the mean over groups (every
    condition counts once). Groups of one are ignored. Images are rounded
    to uint8 as if saved, and compared in [-1, 1] as LPIPS expects.

    Result key ``lpips_diversity`` (and ``lpips_groups``, the number of
    groups scored).

    Args:
        backbone_path: torchvision's ``alexnet-owt-7be5be79.pth`` or
            ``vgg16-397923af.pth`` (see ``build_lpips``).
        net: ``'alex'`` (LPIPS' default) or ``'vgg'``.
        img_key: the image compared.
        group_key: the metainfo naming the condition.
    """

    def __init__(self,
                 backbone_path: Optional[str] = None,
                 net: str = 'alex',
                 img_key: str = 'fake_img',
                 group_key: str = 'query_id',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.lpips = build_lpips(net, backbone_path)
        self.img_key, self.group_key = img_key, group_key
        self.device = torch.device('cpu')

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            if self.group_key not in sample:
                raise KeyError(
                    f'LPIPS diversity groups outputs by the metainfo '
                    f'{self.group_key!r}, which the output lacks (it has '
                    f'{sorted(sample)}); the model must copy it from the '
                    'input data sample.')
            image = fetch_image(sample, self.img_key)
            self.device = image.device
            self.results.append(
                (str(sample[self.group_key]),
                 image.round().clamp(0, 255).to(torch.uint8).cpu()))

    @torch.no_grad()
    def mean_pairwise_lpips(self, images: list) -> float:
        """Mean LPIPS over the unordered pairs of uint8 (3, H, W) images."""
        self.lpips.to(self.device)
        pairs = list(itertools.combinations(range(len(images)), 2))
        distances = []
        for start in range(0, len(pairs), PAIRS_PER_FORWARD):
            first, second = zip(*pairs[start:start + PAIRS_PER_FORWARD])
            batches = [
                torch.stack([images[i] for i in side]).to(self.device) / 127.5
                - 1 for side in (first, second)
            ]
            distances.append(self.lpips(*batches).flatten().cpu())
        return torch.cat(distances).double().mean().item()

    def compute_metrics(self, results: list) -> dict:
        groups = defaultdict(list)
        for group, image in results:
            groups[group].append(image)
        scored = [images for images in groups.values() if len(images) >= 2]
        if not scored:
            raise ValueError(
                f'LPIPS diversity found no {self.group_key!r} with two or '
                f'more outputs ({len(groups)} groups of one). The test set '
                'must pair each condition with several exemplars.')
        return dict(
            lpips_diversity=float(
                np.mean([self.mean_pairwise_lpips(imgs) for imgs in scored])),
            lpips_groups=len(scored))
