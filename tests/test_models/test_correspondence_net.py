import pytest
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS

ENCODER = dict(
    type='CorrespondenceEncoder',
    out_channels=16,
    channels=(8, 16, 16),
    strides=(2, 2, 1),
    num_res_blocks=1)


def tiny_net(scm=True):
    return MODELS.build(
        dict(
            type='CorrespondenceNet',
            cond_encoder=dict(ENCODER, in_channels=4),
            image_encoder=dict(ENCODER, in_channels=3),
            scm=dict(type='SelfCorrelationMap', num_positions=64,
                     out_channels=16) if scm else None,
            temperature=0.05,
            chunk_size=16))


def test_outputs_shapes_and_keys():
    net = tiny_net()
    cond, exemplar, gt = (torch.randn(2, 4, 32, 32), torch.rand(2, 3, 32, 32),
                          torch.rand(2, 3, 32, 32))
    out = net(cond, exemplar, gt)
    assert out['cond_feat'].shape == (2, 16, 8, 8)
    assert out['cond_match'].shape == (2, 32, 8, 8)  # feature ⊕ SCM
    assert out['gt_match'].shape == (2, 32, 8, 8)
    assert out['warped_exemplar_pooled'].shape == (2, 3, 8, 8)
    assert out['warped_exemplar'].shape == (2, 3, 32, 32)
    assert 'gt_feat' not in net(cond, exemplar)


def test_matching_features_are_normalised_feature_and_scm():
    net = tiny_net()
    feat = torch.randn(1, 16, 8, 8)
    match = net.matching_features(feat)
    torch.testing.assert_close(match[:, :16], F.normalize(feat, dim=1))
    torch.testing.assert_close(match[:, 16:],
                               F.normalize(net.scm(feat), dim=1))
    assert tiny_net(scm=False).matching_features(feat).shape[1] == 16


def test_warp_is_softmax_of_cosines_over_pooled_exemplar():
    net = tiny_net()
    cond, exemplar = torch.randn(1, 4, 32, 32), torch.rand(1, 3, 32, 32)
    out = net(cond, exemplar)
    query = out['cond_match'].flatten(2)[0].t()  # (N, C)
    key = out['exemplar_match'].flatten(2)[0].t()
    corr = (F.normalize(query, dim=-1) @ F.normalize(key, dim=-1).t() /
            0.05).softmax(-1)
    pooled = F.avg_pool2d(exemplar, 4).flatten(2)[0].t()  # (M, 3)
    expected = (corr @ pooled).t().reshape(1, 3, 8, 8)
    torch.testing.assert_close(out['warped_exemplar_pooled'], expected,
                               rtol=1e-5, atol=1e-5)
    # colours are convex combinations of exemplar colours
    assert out['warped_exemplar'].min() >= exemplar.min() - 1e-5


def test_gradients_reach_both_encoders_and_scm():
    net = tiny_net()
    out = net(torch.randn(1, 4, 32, 32), torch.rand(1, 3, 32, 32))
    out['warped_exemplar'].mean().backward()
    for module in (net.cond_encoder, net.image_encoder, net.scm):
        assert any(p.grad is not None and p.grad.abs().sum() > 0
                   for p in module.parameters())


def test_size_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match='same spatial size'):
        tiny_net()(torch.randn(1, 4, 32, 32), torch.rand(1, 3, 16, 16))


def test_warp_back_returns_to_the_exemplar_grid_eq4():
    net = tiny_net()
    out = net(torch.randn(1, 4, 32, 32), torch.rand(1, 3, 32, 32))
    cycled = net.warp_back(out['cond_match'], out['exemplar_match'],
                           out['warped_exemplar_pooled'])
    query = F.normalize(out['cond_match'].flatten(2)[0].t(), dim=-1)
    key = F.normalize(out['exemplar_match'].flatten(2)[0].t(), dim=-1)
    backward = (key @ query.t() / 0.05).softmax(-1)  # (M, N): Tᵀ
    warped = out['warped_exemplar_pooled'].flatten(2)[0].t()
    expected = (backward @ warped).t().reshape(1, 3, 8, 8)
    torch.testing.assert_close(cycled, expected, rtol=1e-5, atol=1e-5)
