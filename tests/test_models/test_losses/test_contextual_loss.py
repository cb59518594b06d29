import math

import pytest
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS

from mclnet_plugin.models.losses.contextual_loss import (ContextualLoss,
                                                         contextual_similarity)


def naive_cx(pred, target, band_width=0.1, eps=1e-3, centering='channel'):
    """Eq. 7 written out with loops over positions i and j."""
    cx = []
    for b in range(pred.shape[0]):
        p = [v for v in pred[b].flatten(1).t()]
        t = [v for v in target[b].flatten(1).t()]
        if centering == 'channel':  # one vector: the mean target position
            mean = sum(t) / len(t)
            means_p, means_t = [mean] * len(p), [mean] * len(t)
        else:  # one number per position: the target's channel mean there
            means_p = means_t = [v.mean() for v in t]
        p = [(v - m) / (v - m).pow(2).sum().sqrt()
             for v, m in zip(p, means_p)]
        t = [(v - m) / (v - m).pow(2).sum().sqrt()
             for v, m in zip(t, means_t)]
        total = 0
        for i in range(len(p)):
            d = [1 - (p[i] * t[j]).sum() for j in range(len(t))]
            d_min = min(d)
            w = [torch.exp((1 - dj / (d_min + eps)) / band_width) for dj in d]
            total = total + max(w_j / sum(w) for w_j in w)
        cx.append(total / len(p))
    return torch.stack(cx)


def feats(shapes, batch=2, channels=3, dtype=torch.float64, grad=False):
    return {
        name: torch.randn(batch, channels, *size, dtype=dtype,
                          requires_grad=grad)
        for name, size in shapes.items()
    }


def test_similarity_matches_naive_loops():
    torch.manual_seed(0)
    pred = torch.randn(2, 3, 3, 4, dtype=torch.float64)
    target = torch.randn(2, 3, 2, 3, dtype=torch.float64)
    ours = contextual_similarity(pred, target)
    assert ours.shape == (2, ) and ours.dtype == torch.float64
    torch.testing.assert_close(ours, naive_cx(pred, target), rtol=0,
                               atol=1e-6)
    torch.testing.assert_close(
        contextual_similarity(pred, target, band_width=0.5, eps=0.1),
        naive_cx(pred, target, 0.5, 0.1), rtol=0, atol=1e-6)


def test_position_centering_matches_naive_loops_and_gradients():
    torch.manual_seed(10)
    pred = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    target = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    ours = contextual_similarity(pred, target, centering='position')
    reference = naive_cx(pred, target, centering='position')
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-6)
    # and it differs from the per-channel centring
    assert (ours - contextual_similarity(pred, target)).abs().max() > 1e-3
    for ours_grad, ref_grad in zip(
            torch.autograd.grad(ours.sum(), [pred, target]),
            torch.autograd.grad(reference.sum(), [pred, target])):
        torch.testing.assert_close(ours_grad, ref_grad, rtol=1e-6, atol=1e-8)
    loss = ContextualLoss(layer_weights=dict(relu4_2=1.0), pool_layers=(),
                          centering='position')
    torch.testing.assert_close(
        loss(dict(relu4_2=pred), dict(relu4_2=target)),
        -torch.log(reference).mean(), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match='one H×W'):
        contextual_similarity(pred, target[..., :2], centering='position')
    with pytest.raises(ValueError, match='centering'):
        ContextualLoss(centering='pono')


def test_loss_and_gradients_match_naive():
    torch.manual_seed(1)
    pred = feats(dict(relu4_2=(3, 4), relu5_2=(2, 2)), grad=True)
    target = feats(dict(relu4_2=(2, 3), relu5_2=(3, 3)), grad=True)
    loss = ContextualLoss(layer_weights=dict(relu4_2=3.0, relu5_2=2.0),
                          pool_layers=(), detach_target=False,
                          loss_weight=0.5)
    ours = loss(pred, target)
    reference = 0.5 * sum(
        weight * -torch.log(naive_cx(pred[k], target[k])).mean()
        for k, weight in dict(relu4_2=3.0, relu5_2=2.0).items())
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-6)
    ours_grads = torch.autograd.grad(ours, [*pred.values(), *target.values()])
    ref_grads = torch.autograd.grad(reference,
                                    [*pred.values(), *target.values()])
    for ours_grad, ref_grad in zip(ours_grads, ref_grads):
        torch.testing.assert_close(ours_grad, ref_grad, rtol=1e-6, atol=1e-8)


def test_chunked_equals_whole():
    torch.manual_seed(2)
    pred = torch.randn(2, 4, 3, 4, dtype=torch.float64, requires_grad=True)
    target = torch.randn(2, 4, 3, 3, dtype=torch.float64)
    whole = contextual_similarity(pred, target)
    chunked = contextual_similarity(pred, target, chunk_size=5)
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-12)
    torch.testing.assert_close(
        torch.autograd.grad(chunked.sum(), pred)[0],
        torch.autograd.grad(whole.sum(), pred)[0], rtol=0, atol=1e-12)


def test_identical_features_give_cx_one_and_zero_loss():
    torch.manual_seed(3)
    target = feats(dict(relu4_2=(4, 4)), channels=8)
    cx = contextual_similarity(target['relu4_2'], target['relu4_2'])
    torch.testing.assert_close(cx, torch.ones_like(cx), rtol=0, atol=1e-6)
    loss = ContextualLoss(layer_weights=dict(relu4_2=1.0), pool_layers=())
    assert abs(loss(target, target).item()) < 1e-6


def test_invariant_to_target_positions_but_not_pred_content():
    torch.manual_seed(4)
    pred = feats(dict(relu4_2=(4, 5)), channels=6)
    target = feats(dict(relu4_2=(3, 4)), channels=6)
    t = target['relu4_2']
    shuffled = t.flatten(2)[:, :, torch.randperm(12)].reshape(t.shape)
    loss = ContextualLoss(layer_weights=dict(relu4_2=1.0), pool_layers=())
    value = loss(pred, target)
    assert value > 0.1
    torch.testing.assert_close(loss(pred, dict(relu4_2=shuffled)), value,
                               rtol=0, atol=1e-12)
    changed = pred['relu4_2'].clone()
    changed[:, :, 0, :] = torch.randn(2, 6, 5, dtype=torch.float64)
    assert abs(loss(dict(relu4_2=changed), target) - value) > 1e-3


def test_pooling_and_layer_weights():
    torch.manual_seed(5)
    shapes = dict(relu1_2=(2, 2), relu3_2=(8, 8), relu4_2=(4, 4),
                  relu5_2=(2, 2))
    pred, target = feats(shapes), feats(shapes)

    def layer_loss(name, pool):
        p, t = pred[name], target[name]
        if pool:
            p, t = F.avg_pool2d(p, 2), F.avg_pool2d(t, 2)
        return -torch.log(contextual_similarity(p, t)).mean()

    reference = 0.5 * (2 * layer_loss('relu3_2', True) +
                       4 * layer_loss('relu4_2', False) +
                       8 * layer_loss('relu5_2', False))
    loss = ContextualLoss(loss_weight=0.5)  # relu1_2 is ignored
    torch.testing.assert_close(loss(pred, target), reference)
    unpooled = ContextualLoss(pool_layers=(), loss_weight=0.5)
    assert abs(unpooled(pred, target) - reference) > 1e-3
    per_sample = ContextualLoss(reduction='none')(pred, target)
    assert per_sample.shape == (2, )
    torch.testing.assert_close(
        ContextualLoss(reduction='sum')(pred, target), per_sample.sum())
    torch.testing.assert_close(per_sample.mean(), reference / 0.5)


def test_detach_target():
    torch.manual_seed(6)
    pred = feats(dict(relu4_2=(3, 3)), grad=True)
    target = feats(dict(relu4_2=(3, 3)), grad=True)
    ContextualLoss(layer_weights=dict(relu4_2=1.0))(pred, target).backward()
    assert target['relu4_2'].grad is None
    assert pred['relu4_2'].grad.abs().sum() > 0


def test_completely_different_features_give_cx_one_over_m():
    # Target: ± pairs in channels 0-1 (zero mean); pred: channels 2-3 only,
    # so every cosine is 0, A is uniform and CX = 1/M exactly.
    half = torch.randn(2, 2, 16, dtype=torch.float64)
    target = torch.cat([half, -half], dim=2).reshape(2, 2, 4, 8)
    target = torch.cat([target, torch.zeros_like(target)], dim=1)
    pred = torch.cat([torch.zeros(2, 2, 3, 3, dtype=torch.float64),
                      torch.randn(2, 2, 3, 3, dtype=torch.float64)], dim=1)
    pred.requires_grad_()
    loss = ContextualLoss(layer_weights=dict(relu4_2=1.0), pool_layers=())
    value = loss(dict(relu4_2=pred), dict(relu4_2=target))
    torch.testing.assert_close(value.detach(),
                               torch.tensor(math.log(32.0),
                                            dtype=torch.float64))
    value.backward()
    assert torch.isfinite(pred.grad).all()


@pytest.mark.parametrize('zero_pred, zero_target', [(True, False),
                                                    (False, True),
                                                    (True, True)])
def test_zero_feature_vectors_are_finite(zero_pred, zero_target):
    torch.manual_seed(7)
    pred = torch.randn(2, 4, 3, 3)
    target = torch.randn(2, 4, 4, 4)
    if zero_pred:
        pred[:, :, :2] = 0  # some positions all zero
    if zero_target:
        target.zero_()
    pred.requires_grad_()
    value = ContextualLoss(layer_weights=dict(relu4_2=1.0))(
        dict(relu4_2=pred), dict(relu4_2=target))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(pred.grad).all()


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_autocast_computes_in_fp32(dtype):
    torch.manual_seed(8)
    shapes = dict(relu3_2=(8, 8), relu4_2=(4, 4), relu5_2=(2, 2))
    pred = feats(shapes, channels=16, dtype=torch.float32)
    target = feats(shapes, channels=16, dtype=torch.float32)
    loss = ContextualLoss()
    expected = loss(pred, target)
    with torch.autocast('cpu', dtype=dtype):
        from_fp32 = loss(pred, target)
        half_pred = {k: v.to(dtype) for k, v in pred.items()}
        half_target = {k: v.to(dtype) for k, v in target.items()}
        from_half = loss(half_pred, half_target)
    assert from_fp32.dtype == from_half.dtype == torch.float32
    torch.testing.assert_close(from_fp32, expected, rtol=1e-6, atol=0)
    rounded = loss({k: v.float() for k, v in half_pred.items()},
                   {k: v.float() for k, v in half_target.items()})
    assert torch.isfinite(from_half)
    torch.testing.assert_close(from_half, rounded, rtol=1e-6, atol=0)


def test_registry_and_data_info():
    loss = MODELS.build(dict(type='ContextualLoss'))
    assert isinstance(loss, ContextualLoss) and loss.loss_name() == 'loss_cx'
    torch.manual_seed(9)
    shapes = dict(relu3_2=(4, 4), relu4_2=(2, 2), relu5_2=(2, 2))
    pred, target = feats(shapes), feats(shapes)
    component = ContextualLoss(
        data_info=dict(pred_feats='fake_vgg', target_feats='ref_vgg'))
    outputs = dict(fake_vgg=pred, ref_vgg=target, other=0)
    torch.testing.assert_close(component(outputs), loss(pred, target))
    torch.testing.assert_close(component(outputs_dict=outputs),
                               loss(pred, target))
    with pytest.raises(KeyError, match='ref_vgg'):
        component(dict(fake_vgg=pred))
    with pytest.raises(TypeError, match='outputs dict'):
        component(pred, target)


def test_error_messages():
    loss = ContextualLoss(layer_weights=dict(relu4_2=1.0, relu5_2=1.0),
                          pool_layers=())
    x = torch.randn(1, 3, 2, 2)
    with pytest.raises(KeyError, match=r"relu5_2.*available.*relu4_2"):
        loss(dict(relu4_2=x), dict(relu4_2=x, relu5_2=x))
    with pytest.raises(ValueError, match='relu5_2.*channels'):
        loss(dict(relu4_2=x, relu5_2=x),
             dict(relu4_2=x, relu5_2=torch.randn(1, 4, 2, 2)))
    with pytest.raises(ValueError, match=r'relu4_2 must be \(B, C, H, W\)'):
        loss(dict(relu4_2=x[0], relu5_2=x), dict(relu4_2=x, relu5_2=x))
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        contextual_similarity(x, x.flatten(2))
    with pytest.raises(TypeError, match='must be a dict'):
        loss(x, x)
    with pytest.raises(ValueError, match='empty'):
        ContextualLoss(layer_weights={})
    with pytest.raises(ValueError, match='reduction'):
        ContextualLoss(reduction='max')
    with pytest.raises(ValueError, match='band_width'):
        ContextualLoss(band_width=0)
    with pytest.raises(ValueError, match='data_info'):
        ContextualLoss(data_info=dict(pred='a', target='b'))
