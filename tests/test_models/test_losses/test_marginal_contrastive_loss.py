import math

import pytest
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS

from mclnet_plugin.models.losses import (MarginalContrastiveLoss,
                                         additive_angular_margin)


def naive_direction(anchors, targets, margin, temperature):
    """Alg. 1 written out per anchor with arccos, in the inputs' dtype; past
    θ + m = π the ArcFace fall-back cosθ − m·sin m."""
    x = anchors / anchors.norm(dim=-1, keepdim=True)
    y = targets / targets.norm(dim=-1, keepdim=True)
    scale = 1.0 / temperature
    batch, num, _ = x.shape
    losses = torch.zeros(batch, num, dtype=x.dtype)
    for b in range(batch):
        cos = x[b] @ y[b].t()
        for i in range(num):
            theta = torch.acos(cos[i, i])
            if theta + margin <= math.pi:
                positive = scale * torch.cos(theta + margin)
            else:
                positive = scale * (cos[i, i] - margin * math.sin(margin))
            negatives = torch.cat([cos[i, :i], cos[i, i + 1:]]) * scale
            denominator = positive.exp() + negatives.exp().sum()
            losses[b, i] = -torch.log(positive.exp() / denominator)
    return losses


def naive_mcl(cond, gt, margin=0.4, temperature=0.05):
    return (naive_direction(cond, gt, margin, temperature).mean() +
            naive_direction(gt, cond, margin, temperature).mean())


def random_pair(batch=2, num=12, channels=8, dtype=torch.float64):
    cond = torch.randn(batch, num, channels, dtype=dtype, requires_grad=True)
    gt = torch.randn(batch, num, channels, dtype=dtype, requires_grad=True)
    return cond, gt


def test_matches_naive_formula_values_and_gradients():
    cond, gt = random_pair()
    loss = MarginalContrastiveLoss(margin=0.4, temperature=0.05)
    ours = loss(cond.float(), gt.float())
    reference = naive_mcl(cond, gt)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(
        ours.double(), reference, rtol=1e-5, atol=1e-6)

    cond32 = cond.detach().float().requires_grad_()
    gt32 = gt.detach().float().requires_grad_()
    loss(cond32, gt32).backward()
    reference.backward()
    torch.testing.assert_close(cond32.grad.double(), cond.grad, rtol=1e-5,
                               atol=1e-6)
    torch.testing.assert_close(gt32.grad.double(), gt.grad, rtol=1e-5,
                               atol=1e-6)


def test_gradcheck_float64():
    cond, gt = random_pair(batch=1, num=5, channels=4)
    loss = MarginalContrastiveLoss(margin=0.3, chunk_size=2)
    # The module computes in fp32; gradcheck the fp64 functional core.
    from mclnet_plugin.models.losses import marginal_contrastive_loss
    assert torch.autograd.gradcheck(
        lambda a, b: marginal_contrastive_loss(a, b, 0.3, 0.05, 2), (cond, gt))
    assert torch.isfinite(loss(cond, gt))


def test_margin_zero_is_infonce_eq1():
    cond, gt = random_pair(dtype=torch.float32)
    ours = MarginalContrastiveLoss(margin=0.0, temperature=0.07)(cond, gt)
    x, y = F.normalize(cond, dim=-1), F.normalize(gt, dim=-1)
    labels = torch.arange(cond.shape[1])
    reference = 0
    for b in range(cond.shape[0]):
        logits = x[b] @ y[b].t() / 0.07
        reference = reference + F.cross_entropy(logits, labels) / 2
        reference = reference + F.cross_entropy(logits.t(), labels) / 2
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-5)


def test_loss_increases_with_margin():
    cond, gt = random_pair(dtype=torch.float32)
    gt = (gt + 2 * cond).detach()  # some positives close, some far
    values = [
        MarginalContrastiveLoss(margin=m)(cond, gt).item()
        for m in torch.linspace(0, 1.5, 16).tolist()
    ]
    assert all(b > a for a, b in zip(values, values[1:]))


def test_angular_margin_formula_and_arcface_fallback():
    margin = 0.4
    cos = torch.linspace(-1, 1, 201, dtype=torch.float64)
    ours = additive_angular_margin(cos, margin)
    theta = torch.acos(cos)
    inside = theta + margin <= math.pi
    torch.testing.assert_close(ours[inside],
                               torch.cos(theta[inside] + margin),
                               atol=2e-3, rtol=0)  # sin clamp near |cos|=1
    torch.testing.assert_close(ours[~inside],
                               cos[~inside] - margin * math.sin(margin))
    # monotone: the positive logit never increases with θ
    assert torch.all(ours[1:] >= ours[:-1])


@pytest.mark.parametrize('sign', [1.0, -1.0])
def test_finite_at_cos_plus_minus_one(sign):
    feat = torch.randn(2, 6, 8)
    cond = feat.clone().requires_grad_()
    gt = (sign * feat).clone().requires_grad_()
    value = MarginalContrastiveLoss()(cond, gt)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(cond.grad).all() and torch.isfinite(gt.grad).all()


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_fp32_and_finite_under_autocast(dtype):
    cond = torch.randn(2, 16, 8, 8).requires_grad_()
    gt = torch.randn(2, 16, 8, 8).requires_grad_()
    loss = MarginalContrastiveLoss()
    with torch.autocast(device_type='cpu', dtype=dtype):
        value = loss(cond.to(dtype), gt.to(dtype))
    value.backward()
    assert value.dtype == torch.float32
    assert torch.isfinite(value)
    assert torch.isfinite(cond.grad).all() and torch.isfinite(gt.grad).all()
    reference = loss(cond.to(dtype).float(), gt.to(dtype).float())
    torch.testing.assert_close(value, reference)


def test_chunked_equals_unchunked():
    cond, gt = random_pair(num=23, dtype=torch.float32)
    full = MarginalContrastiveLoss()(cond, gt)
    grads = torch.autograd.grad(full, (cond, gt))
    for chunk in (1, 5, 23, 64):
        chunked = MarginalContrastiveLoss(chunk_size=chunk)(cond, gt)
        torch.testing.assert_close(chunked, full)
        for ours, ref in zip(torch.autograd.grad(chunked, (cond, gt)), grads):
            torch.testing.assert_close(ours, ref)


def test_maps_and_vectors_agree_and_reductions():
    cond_map = torch.randn(2, 8, 3, 4)
    gt_map = torch.randn(2, 8, 3, 4)
    as_vectors = (cond_map.flatten(2).transpose(1, 2),
                  gt_map.flatten(2).transpose(1, 2))
    mean = MarginalContrastiveLoss()(cond_map, gt_map)
    torch.testing.assert_close(mean, MarginalContrastiveLoss()(*as_vectors))
    per_anchor = MarginalContrastiveLoss(reduction='none')(cond_map, gt_map)
    assert per_anchor.shape == (2, 12)
    torch.testing.assert_close(per_anchor.mean(), mean)
    total = MarginalContrastiveLoss(reduction='sum')(cond_map, gt_map)
    torch.testing.assert_close(total, per_anchor.sum())
    weighted = MarginalContrastiveLoss(loss_weight=0.01)(cond_map, gt_map)
    torch.testing.assert_close(weighted, 0.01 * mean)


def test_one_direction_and_detached_target():
    cond, gt = random_pair(dtype=torch.float32)
    one_way = MarginalContrastiveLoss(bidirectional=False)(cond, gt)
    torch.testing.assert_close(
        one_way.double(),
        naive_direction(cond.double(), gt.double(), 0.4, 0.05).mean())
    detached = MarginalContrastiveLoss(detach_target=True)(cond, gt)
    detached.backward()
    assert gt.grad is None and cond.grad is not None


def test_num_samples_uses_shared_random_positions():
    cond, gt = random_pair(num=30, dtype=torch.float32)
    torch.manual_seed(3)
    sampled = MarginalContrastiveLoss(num_samples=7)(cond, gt)
    torch.manual_seed(3)
    index = torch.randperm(30)[:7]
    reference = MarginalContrastiveLoss()(cond[:, index], gt[:, index])
    torch.testing.assert_close(sampled, reference)
    with pytest.raises(ValueError, match='num_samples=31'):
        MarginalContrastiveLoss(num_samples=31)(cond, gt)


def test_data_info_outputs_dict_and_loss_name():
    cond, gt = random_pair(dtype=torch.float32)
    loss = MarginalContrastiveLoss(
        data_info=dict(cond_feat='cond_match', gt_feat='gt_match'))
    assert loss.loss_name() == 'loss_mcl'
    outputs = dict(cond_match=cond, gt_match=gt, other=1)
    direct = MarginalContrastiveLoss()(cond, gt)
    torch.testing.assert_close(loss(outputs), direct)
    torch.testing.assert_close(loss(outputs_dict=outputs), direct)
    with pytest.raises(KeyError, match='gt_match'):
        loss(dict(cond_match=cond))
    with pytest.raises(ValueError, match='data_info'):
        MarginalContrastiveLoss(data_info=dict(cond='a', gt='b'))


def test_clear_errors_for_wrong_shapes_and_arguments():
    loss = MarginalContrastiveLoss()
    with pytest.raises(ValueError, match=r'\(2, 12, 8\) vs \(2, 12, 9\)'):
        loss(torch.randn(2, 12, 8), torch.randn(2, 12, 9))  # C mismatch
    with pytest.raises(ValueError, match='positions N'):
        loss(torch.randn(2, 12, 8), torch.randn(2, 10, 8))  # N mismatch
    with pytest.raises(ValueError, match='cond_feat must be'):
        loss(torch.randn(12, 8), torch.randn(12, 8))
    with pytest.raises(TypeError, match='cond_feat, gt_feat'):
        loss(torch.randn(2, 12, 8))
    with pytest.raises(ValueError, match='reduction'):
        MarginalContrastiveLoss(reduction='avg')
    with pytest.raises(ValueError, match='margin'):
        MarginalContrastiveLoss(margin=2.0)


def test_builds_from_registry():
    loss = MODELS.build(
        dict(type='MarginalContrastiveLoss', margin=0.25, num_samples=64))
    assert isinstance(loss, MarginalContrastiveLoss)
    assert loss.margin == 0.25 and loss.num_samples == 64
