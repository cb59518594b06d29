import pytest
import torch

from mclnet_plugin.models.losses.perceptual_loss import VGGFeatureLoss


def feats(shapes, requires_grad=False):
    return {
        name: torch.randn(*shape, requires_grad=requires_grad)
        for name, shape in shapes.items()
    }


SHAPES = dict(relu1_2=(2, 4, 8, 8), relu3_2=(2, 8, 4, 4))


def test_weighted_l1_and_mse_against_hand_computation():
    pred, target = feats(SHAPES, True), feats(SHAPES, True)
    loss = VGGFeatureLoss(dict(relu1_2=0.5, relu3_2=2.0), loss_weight=3.0)
    l1 = {k: (pred[k] - target[k]).abs().mean() for k in SHAPES}
    expected = 3.0 * (0.5 * l1['relu1_2'] + 2.0 * l1['relu3_2'])
    value = loss(pred, target)
    torch.testing.assert_close(value, expected)
    value.backward()
    assert target['relu1_2'].grad is None and pred['relu1_2'].grad is not None
    mse = VGGFeatureLoss(dict(relu3_2=1.0), criterion='mse')(pred, target)
    torch.testing.assert_close(
        mse, (pred['relu3_2'] - target['relu3_2']).pow(2).mean())


def test_missing_layer_and_bad_criterion_are_clear_errors():
    with pytest.raises(KeyError, match='relu2_2'):
        VGGFeatureLoss()(feats(SHAPES), feats(SHAPES))
    with pytest.raises(ValueError, match='criterion'):
        VGGFeatureLoss(criterion='l3')


def test_outputs_dict_call_and_loss_name():
    pred, target = feats(SHAPES), feats(SHAPES)
    loss = VGGFeatureLoss(
        dict(relu3_2=1.0), data_info=dict(pred_feats='p', target_feats='t'))
    assert loss.loss_name() == 'loss_perc'
    torch.testing.assert_close(
        loss(dict(p=pred, t=target)),
        VGGFeatureLoss(dict(relu3_2=1.0))(pred, target))
    with pytest.raises(TypeError, match='expects the outputs dict'):
        loss(pred, target)
