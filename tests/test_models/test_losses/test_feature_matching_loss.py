import pytest
import torch
from mmagic.registry import MODELS

from mclnet_plugin.models.losses.feature_matching_loss import \
    DiscFeatureMatchingLoss


def features(shapes, requires_grad=False):
    return [[torch.randn(*s, requires_grad=requires_grad) for s in scale]
            for scale in shapes]


SHAPES = [[(2, 4, 8, 8), (2, 8, 4, 4), (2, 1, 3, 3)],
          [(2, 4, 4, 4), (2, 8, 2, 2), (2, 1, 2, 2)]]


def test_value_against_hand_computation_and_real_detached():
    fake = features(SHAPES, requires_grad=True)
    real = features(SHAPES, requires_grad=True)
    loss = DiscFeatureMatchingLoss(loss_weight=10.0)(fake, real)
    expected = 0
    for fake_layers, real_layers in zip(fake, real):
        for f, r in zip(fake_layers[:2], real_layers[:2]):
            expected = expected + (f - r).abs().mean() / 2  # 2 scales
    torch.testing.assert_close(loss, 10 * expected)
    loss.backward()
    assert all(layer.grad is None for scale in real for layer in scale)
    # the patch predictions (last layers) are not matched
    assert fake[0][-1].grad is None and fake[0][0].grad is not None


def test_outputs_dict_and_registry():
    fake, real = features(SHAPES), features(SHAPES)
    loss = MODELS.build(
        dict(
            type='DiscFeatureMatchingLoss',
            loss_weight=1.0,
            data_info=dict(fake_feats='f', real_feats='r')))
    assert loss.loss_name() == 'loss_disc_feat_match'
    torch.testing.assert_close(
        loss(dict(f=fake, r=real)),
        DiscFeatureMatchingLoss(loss_weight=1.0)(fake, real))


def test_mismatched_scales_are_a_clear_error():
    with pytest.raises(ValueError, match='1 and 2 discriminator scales'):
        DiscFeatureMatchingLoss()(features(SHAPES[:1]), features(SHAPES))
