import numpy as np
import pytest
import torch

from mclnet_plugin.models.vgg19 import VGG19FeatureExtractor
from tests.test_evaluation import outputs, photos, run_evaluator

KEYS = {
    'semantic_consistency', 'semantic_consistency_relu3_2',
    'semantic_consistency_relu4_2', 'semantic_consistency_relu5_2',
    'style_color', 'style_texture', 'style_relevance'
}


def cosine(a, b):
    return (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))


def test_identical_images_score_one():
    images = photos(names=('astronaut', 'chelsea', 'coffee'))
    metrics = run_evaluator(
        [dict(type='StyleSemanticConsistency')],
        outputs(fake_img=images, gt_img=images.clone(),
                exemplar=images.clone()))
    assert set(metrics) == KEYS
    for value in metrics.values():
        assert value == pytest.approx(1, abs=1e-6)


def test_matches_naive_statistics():
    images = photos()
    pred, gt, exemplar = images[:2], images[2:4], images[4:]
    metrics = run_evaluator(
        [dict(type='StyleSemanticConsistency')],
        outputs(fake_img=pred, gt_img=gt, exemplar=exemplar), batch_size=1)

    vgg = VGG19FeatureExtractor(
        layers=('relu1_2', 'relu2_2', 'relu3_2', 'relu4_2', 'relu5_2'))
    with torch.no_grad():
        feats = [{
            name: feat.double().numpy()
            for name, feat in vgg(batch / 127.5 - 1).items()
        } for batch in (pred, gt, exemplar)]
    pred_feats, gt_feats, exemplar_feats = feats

    def mean(feat):  # (B, C, H, W) -> (B, C)
        return feat.reshape(*feat.shape[:2], -1).mean(-1)

    def std(feat):
        return feat.reshape(*feat.shape[:2], -1).std(-1)

    semantic = {
        layer: cosine(mean(pred_feats[layer]), mean(gt_feats[layer])).mean()
        for layer in ('relu3_2', 'relu4_2', 'relu5_2')
    }
    color = cosine(mean(pred_feats['relu1_2']),
                   mean(exemplar_feats['relu1_2'])).mean()
    texture = cosine(std(pred_feats['relu2_2']),
                     std(exemplar_feats['relu2_2'])).mean()
    expected = {f'semantic_consistency_{k}': v for k, v in semantic.items()}
    expected.update(
        semantic_consistency=np.mean(list(semantic.values())),
        style_color=color,
        style_texture=texture,
        style_relevance=(color + texture) / 2)
    assert metrics == pytest.approx(expected, abs=1e-6)
    assert all(value < 0.999 for value in metrics.values())
