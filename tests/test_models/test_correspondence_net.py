import pytest
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS

from mclnet_plugin.models import MatchingHead, neighbourhood_vectors

ENCODER = dict(
    type='CorrespondenceEncoder',
    out_channels=16,
    channels=(8, 16, 16),
    strides=(2, 2, 1),
    num_res_blocks=1)


def tiny_net(scm=True, **kwargs):
    cfg = dict(
        type='CorrespondenceNet',
        cond_encoder=dict(ENCODER, in_channels=4),
        image_encoder=dict(ENCODER, in_channels=3),
        matching=dict(type='MatchingHead', out_channels=12, num_blocks=2),
        scm=dict(type='SelfCorrelationMap', num_positions=64,
                 out_channels=16) if scm else None,
        temperature=0.05,
        chunk_size=16)
    return MODELS.build(dict(cfg, **kwargs))


def naive_vectors(match, kernel=3, center=True):
    """Each position's k×k neighbourhood gathered offset by offset (zeros
    beyond the border) in F.unfold's (c, row, column) order, centred and
    normalised: the matching vectors written out."""
    batch, channels, height, width = match.shape
    radius = kernel // 2
    padded = F.pad(match, (radius, ) * 4)
    vectors = torch.zeros(batch, height * width, channels, kernel, kernel,
                          dtype=match.dtype)
    for y in range(height):
        for x in range(width):
            vectors[:, y * width + x] = padded[:, :, y:y + kernel,
                                               x:x + kernel]
    vectors = vectors.flatten(2)
    if center:
        vectors = vectors - vectors.mean(-1, keepdim=True)
    return vectors / vectors.norm(dim=-1, keepdim=True)


def naive_correspondence(out, temperature=0.05):
    """T (B, N, M) from the full cosine matrix of the naive vectors."""
    query = naive_vectors(out['cond_match'])
    key = naive_vectors(out['exemplar_match'])
    return (query @ key.transpose(1, 2) / temperature).softmax(-1)


def test_outputs_shapes_and_keys():
    net = tiny_net()
    cond, exemplar, gt = (torch.randn(2, 4, 32, 32), torch.rand(2, 3, 32, 32),
                          torch.rand(2, 3, 32, 32))
    out = net(cond, exemplar, gt)
    assert out['cond_feat'].shape == (2, 16, 8, 8)
    # encoder features are L2-normalised (CoCosNet; Eq. 3 compares these)
    torch.testing.assert_close(out['cond_feat'].norm(dim=1),
                               torch.ones(2, 8, 8))
    assert out['cond_match'].shape == (2, 28, 8, 8)  # θ (12) ⊕ SCM (16)
    assert out['gt_match'].shape == (2, 28, 8, 8)
    assert out['warped_exemplar_pooled'].shape == (2, 3, 8, 8)
    assert out['warped_exemplar'].shape == (2, 3, 32, 32)
    assert 'gt_feat' not in net(cond, exemplar)
    assert 'cycled_exemplar_pooled' not in out
    assert net(cond, exemplar, with_cycle=True)[
        'cycled_exemplar_pooled'].shape == (2, 3, 8, 8)


def test_matching_features_are_projection_and_scm_each_normalised():
    net = tiny_net()
    feat = torch.randn(1, 16, 8, 8)
    for domain, projection in (('cond', net.matching.theta),
                               ('image', net.matching.phi)):
        projected = projection(net.matching.shared(feat))
        match = net.matching_features(feat, domain)
        torch.testing.assert_close(match[:, :12],
                                   F.normalize(projected, dim=1))
        torch.testing.assert_close(match[:, 12:],
                                   F.normalize(net.scm(projected), dim=1))
    without = tiny_net(scm=False, matching=None)
    torch.testing.assert_close(
        without.matching_features(feat, 'cond'), F.normalize(feat, dim=1))
    with pytest.raises(ValueError, match="domain must be one of"):
        net.matching(feat, 'exemplar')


@pytest.mark.parametrize('kernel, center', [(3, True), (3, False), (1, True),
                                            (5, True)])
def test_neighbourhood_vectors_equal_the_direct_formula(kernel, center):
    match = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(
        neighbourhood_vectors(match, kernel, center),
        naive_vectors(match, kernel, center))


def test_neighbourhood_vectors_gradient():
    match = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda m: neighbourhood_vectors(m, 3, True),
                             (match, ))
    # and the same gradient as the direct formula
    weights = torch.randn(1, 16, 18, dtype=torch.float64)
    grad, = torch.autograd.grad(
        (neighbourhood_vectors(match) * weights).sum(), match)
    expected, = torch.autograd.grad((naive_vectors(match) * weights).sum(),
                                    match)
    torch.testing.assert_close(grad, expected)


def test_warp_is_softmax_of_centred_neighbourhood_cosines():
    net = tiny_net()
    cond, exemplar = torch.randn(1, 4, 32, 32), torch.rand(1, 3, 32, 32)
    out = net(cond, exemplar)
    corr = naive_correspondence(out)[0]
    pooled = F.avg_pool2d(exemplar, 4).flatten(2)[0].t()  # (M, 3)
    expected = (corr @ pooled).t().reshape(1, 3, 8, 8)
    torch.testing.assert_close(out['warped_exemplar_pooled'], expected,
                               rtol=1e-5, atol=1e-5)
    # nearest upsampling (CoCosNet on ADE20K) repeats each cell 4×4
    torch.testing.assert_close(out['warped_exemplar'],
                               expected.repeat_interleave(4, -2)
                               .repeat_interleave(4, -1),
                               rtol=1e-5, atol=1e-5)


def test_patch_warp_moves_full_resolution_patches():
    net = tiny_net(warp_patch=True)
    cond, exemplar = torch.randn(1, 4, 32, 32), torch.rand(1, 3, 32, 32)
    out = net(cond, exemplar)
    corr = naive_correspondence(out)[0]  # (64, 64)
    expected = torch.zeros(3, 32, 32)
    for i in range(64):
        qy, qx = divmod(i, 8)
        for j in range(64):
            ky, kx = divmod(j, 8)
            expected[:, 4 * qy:4 * qy + 4, 4 * qx:4 * qx + 4] += \
                corr[i, j] * exemplar[0, :, 4 * ky:4 * ky + 4,
                                      4 * kx:4 * kx + 4]
    torch.testing.assert_close(out['warped_exemplar'][0], expected,
                               rtol=1e-5, atol=1e-5)
    # its pooled version is the warp of the pooled exemplar
    pooled = F.avg_pool2d(exemplar, 4).flatten(2)[0].t()
    torch.testing.assert_close(
        out['warped_exemplar_pooled'],
        (corr @ pooled).t().reshape(1, 3, 8, 8),
        rtol=1e-5,
        atol=1e-5)


def test_gradients_reach_encoders_matching_head_and_scm():
    net = tiny_net()
    out = net(torch.randn(1, 4, 32, 32), torch.rand(1, 3, 32, 32))
    out['warped_exemplar'].mean().backward()
    for module in (net.cond_encoder, net.image_encoder, net.matching.shared,
                   net.matching.theta, net.matching.phi, net.scm):
        assert any(p.grad is not None and p.grad.abs().sum() > 0
                   for p in module.parameters())


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match='same spatial size'):
        tiny_net()(torch.randn(1, 4, 32, 32), torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match='match_kernel must be odd'):
        tiny_net(match_kernel=2)


def test_warp_back_returns_to_the_exemplar_grid_eq4():
    net = tiny_net()
    out = net(torch.randn(1, 4, 32, 32), torch.rand(1, 3, 32, 32),
              with_cycle=True)
    cycled = out['cycled_exemplar_pooled']
    torch.testing.assert_close(
        net.warp_back(out['cond_match'], out['exemplar_match'],
                      out['warped_exemplar_pooled']), cycled)
    query = naive_vectors(out['cond_match'])[0]
    key = naive_vectors(out['exemplar_match'])[0]
    backward = (key @ query.t() / 0.05).softmax(-1)  # (M, N): Tᵀ
    warped = out['warped_exemplar_pooled'].flatten(2)[0].t()
    expected = (backward @ warped).t().reshape(1, 3, 8, 8)
    torch.testing.assert_close(cycled, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('kernel, center, warp_patch',
                         [(3, True, False), (1, False, False),
                          (3, True, True)])
def test_efficient_and_materialized_impls_agree(kernel, center, warp_patch):
    """The same outputs and parameter gradients (warp, cycle, all
    encoders) from both implementations, at several chunk sizes."""
    torch.manual_seed(0)
    nets = [
        tiny_net(match_kernel=kernel, center=center, warp_patch=warp_patch,
                 impl=impl, chunk_size=chunk)
        for impl, chunk in (('materialized', None), ('efficient', 8),
                            ('efficient', 64), ('efficient', None))
    ]
    for net in nets[1:]:
        net.load_state_dict(nets[0].state_dict())
    inputs = (torch.randn(2, 4, 32, 32), torch.rand(2, 3, 32, 32) * 2 - 1)
    results = []
    for net in nets:
        out = net(*inputs, with_cycle=True)
        loss = (out['warped_exemplar'] * inputs[1]).sum() + (
            out['cycled_exemplar_pooled'].square().sum())
        loss.backward()
        results.append((out, {
            name: param.grad
            for name, param in net.named_parameters()
            if param.grad is not None
        }))
    (ref_out, ref_grads), others = results[0], results[1:]
    assert len(ref_grads) == len(list(nets[0].parameters()))
    # biases right before an instance norm get rounding noise only
    scale = max(grad.abs().max().item() for grad in ref_grads.values())
    for out, grads in others:
        for key in ('warped_exemplar', 'cycled_exemplar_pooled'):
            torch.testing.assert_close(out[key], ref_out[key], rtol=1e-4,
                                       atol=1e-5)
        assert grads.keys() == ref_grads.keys()
        for name, grad in grads.items():
            torch.testing.assert_close(
                grad, ref_grads[name], rtol=1e-3, atol=1e-5 * scale,
                msg=name)


def test_unknown_impl_is_a_clear_error():
    with pytest.raises(ValueError, match="impl must be one of"):
        tiny_net(impl='fused')


def test_matching_head_blocks_follow_cocosnet():
    head = MatchingHead(in_channels=4, num_blocks=1)
    block = head.shared[0]
    x = torch.randn(1, 4, 5, 5)
    inner = block.norm1(block.conv1(x))
    inner = F.prelu(inner, block.act.weight)
    inner = block.norm2(block.conv2(inner))
    torch.testing.assert_close(block(x), F.prelu(x + inner, block.act.weight))
    # reflection padding, not zeros
    assert block.conv1.padding_mode == 'reflect'
    assert head.theta.out_channels == 4  # out_channels defaults to in
