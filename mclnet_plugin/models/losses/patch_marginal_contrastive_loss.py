"""The marginal contrastive loss on a network's own features (PatchNCE-style).

MMagic's loss components get what they need from the outputs dict of the
model calling them. This one gets a network and two images, reads the
activations of named layers of that network on both images (forward hooks),
and applies the marginal contrastive loss of Alg. 1 at sampled positions, so
a translation model needs no code to use it.
"""
import difflib
import functools
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmagic.registry import MODELS

from .loss_inputs import LossComponent
from .marginal_contrastive_loss import MarginalContrastiveLoss


class _AllLayersSeen(Exception):
    """Raised by the last hook: the rest of the network is not needed."""


def missing_layer_message(net: nn.Module, name: str) -> str:
    """Says that ``name`` is not in ``net.named_modules()``, with the
    closest names that are."""
    names = [n for n, _ in net.named_modules() if n]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    top_level = [n for n in names if '.' not in n]
    return (f'PatchMarginalContrastiveLoss: layer {name!r} is not a submodule '
            f'of {type(net).__name__} (names as in named_modules()); closest: '
            f'{close}; top-level: {top_level}; it has {len(names)} named '
            'submodules')


def layer_features(net: nn.Module, img: torch.Tensor,
                   layers: Sequence[str]) -> List[torch.Tensor]:
    """The outputs of the submodules ``layers`` of ``net`` on ``img``.

    The forward pass stops once every layer has been seen, so an encoder
    layer costs the encoder, not the whole network.
    """
    modules = dict(net.named_modules())
    for name in layers:
        if name not in modules:
            raise KeyError(missing_layer_message(net, name))
    feats: Dict[str, torch.Tensor] = {}

    def keep(name, module, args, output):
        feats.setdefault(name, output)
        if len(feats) == len(set(layers)):
            raise _AllLayersSeen

    handles = [
        modules[name].register_forward_hook(functools.partial(keep, name))
        for name in set(layers)
    ]
    try:
        net(img)
    except _AllLayersSeen:
        pass
    finally:
        for handle in handles:
            handle.remove()
    for name in layers:
        feat = feats.get(name)
        if not (isinstance(feat, torch.Tensor) and feat.dim() == 4):
            got = (tuple(feat.shape) if isinstance(feat, torch.Tensor) else
                   'no call' if feat is None else type(feat).__name__)
            raise ValueError(
                f'PatchMarginalContrastiveLoss: layer {name!r} of '
                f'{type(net).__name__} must output a (B, C, H, W) tensor in '
                f'forward, got {got}')
    return [feats[name] for name in layers]


def projection_head(in_channels: int, channels: int) -> nn.Sequential:
    """Two-layer MLP applied to each sampled feature vector."""
    return nn.Sequential(
        nn.Linear(in_channels, channels), nn.ReLU(inplace=True),
        nn.Linear(channels, channels))


@MODELS.register_module()
class PatchMarginalContrastiveLoss(LossComponent):
    """Marginal contrastive loss between a network's features of two images.

    For each layer l in ``layers``, the network ``net`` is run on
    ``source_img`` and on ``target_img`` (e.g. a translation generator on
    its input and on its output); ``num_patches`` positions are sampled
    (the same for both images and the whole batch), optionally projected by
    a per-layer MLP head, and the features of ``target_img`` are anchors
    whose positive is the ``source_img`` feature at the same position
    (``MarginalContrastiveLoss``, Alg. 1). The result is
    ``loss_weight * Σ_l layer_weights[l] * L_mcl,l``.

    The heads are parameters of this module: a model must put it where its
    generator optimizer finds it (``Pix2PixWithAuxLoss`` and
    ``CycleGANWithAuxLoss`` keep their auxiliary losses inside
    ``generators``).

    Args:
        layers: names of submodules of ``net``, as in ``named_modules()``.
        layer_weights: weight per layer; default ``1/len(layers)`` each.
        num_patches: positions sampled per layer (all when the map is
            smaller).
        head_channels: output width of the MLP heads; None: no heads.
        layer_channels: channels of each layer's output, needed to build the
            heads with the model (before the optimizer).
        margin, temperature, bidirectional, chunk_size: as in
            ``MarginalContrastiveLoss``.
        detach_source: stop gradients through the ``source_img`` features
            (as PatchNCE does with its keys).
        loss_weight: multiplies the loss.
        data_info: maps ``net``, ``source_img`` and ``target_img`` to keys of
            the outputs dict, e.g. ``dict(net='gen', source_img='real_mask',
            target_img='fake_photo')``; None: called with the three values.
        loss_name: name in the log; the ``loss_`` prefix puts it in backward.
    """

    arg_names = ('net', 'source_img', 'target_img')

    def __init__(self,
                 layers: Sequence[str],
                 layer_weights: Optional[Sequence[float]] = None,
                 num_patches: int = 256,
                 head_channels: Optional[int] = 256,
                 layer_channels: Optional[Sequence[int]] = None,
                 margin: float = 0.4,
                 temperature: float = 0.05,
                 bidirectional: bool = False,
                 chunk_size: Optional[int] = None,
                 detach_source: bool = True,
                 loss_weight: float = 1.0,
                 data_info: Optional[dict] = None,
                 loss_name: str = 'loss_mcl') -> None:
        super().__init__(loss_weight, data_info, loss_name)
        self.layers = list(layers)
        if not self.layers:
            raise ValueError('PatchMarginalContrastiveLoss: layers is empty')
        self.layer_weights = (
            [1.0 / len(self.layers)] * len(self.layers)
            if layer_weights is None else list(layer_weights))
        self._check_per_layer('layer_weights', self.layer_weights)
        if num_patches < 1:
            raise ValueError('PatchMarginalContrastiveLoss: num_patches must '
                             f'be >= 1, got {num_patches}')
        self.num_patches = num_patches
        self.detach_source = detach_source
        self.heads = None
        if head_channels is not None:
            if layer_channels is None:
                raise ValueError(
                    'PatchMarginalContrastiveLoss: head_channels needs '
                    'layer_channels (the channels of each layer in `layers`)'
                    ', or set head_channels=None to use no MLP heads')
            self._check_per_layer('layer_channels', layer_channels)
            self.layer_channels = list(layer_channels)
            self.heads = nn.ModuleList(
                projection_head(channels, head_channels)
                for channels in layer_channels)
        self.mcl = MarginalContrastiveLoss(
            margin=margin,
            temperature=temperature,
            bidirectional=bidirectional,
            chunk_size=chunk_size)

    def _check_per_layer(self, name: str, values: Sequence) -> None:
        if len(values) != len(self.layers):
            raise ValueError(
                f'PatchMarginalContrastiveLoss: {name} needs one value per '
                f'layer ({len(self.layers)} layers), got {list(values)}')

    def forward(self, *args, **kwargs) -> torch.Tensor:
        """``forward(net, source_img, target_img)``, or
        ``forward(outputs_dict)`` when ``data_info`` is set."""
        net, source_img, target_img = self.inputs(args, kwargs)
        if not isinstance(net, nn.Module):
            raise TypeError('PatchMarginalContrastiveLoss: net must be an '
                            f'nn.Module, got {type(net).__name__}')
        target_feats = layer_features(net, target_img, self.layers)
        source_feats = layer_features(net, source_img, self.layers)
        total = 0.
        for index, (target_feat, source_feat) in enumerate(
                zip(target_feats, source_feats)):
            if self.detach_source:
                source_feat = source_feat.detach()
            anchors, positives = self._sampled_vectors(
                index, target_feat, source_feat)
            total = total + self.layer_weights[index] * self.mcl(
                anchors, positives)
        return self.loss_weight * total

    def _sampled_vectors(self, index: int, target_feat: torch.Tensor,
                         source_feat: torch.Tensor):
        """(B, C, H, W) maps -> (B, K, C') vectors at K shared positions."""
        name = self.layers[index]
        if self.heads is not None and (target_feat.shape[1] !=
                                       self.layer_channels[index]):
            raise ValueError(
                f'PatchMarginalContrastiveLoss: layer {name!r} has '
                f'{target_feat.shape[1]} channels, layer_channels says '
                f'{self.layer_channels[index]}')
        target_vecs = target_feat.flatten(2).transpose(1, 2)  # (B, HW, C)
        source_vecs = source_feat.flatten(2).transpose(1, 2)  # (B, HW, C)
        num_positions = target_vecs.shape[1]
        if self.num_patches < num_positions:
            positions = torch.randperm(
                num_positions, device=target_vecs.device)[:self.num_patches]
            target_vecs = target_vecs[:, positions]
            source_vecs = source_vecs[:, positions]
        if self.heads is not None:
            target_vecs = self.heads[index](target_vecs)
            source_vecs = self.heads[index](source_vecs)
        return target_vecs, source_vecs
