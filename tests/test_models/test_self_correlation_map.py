import pytest
import torch
import torch.nn.functional as F
from mmagic.registry import MODELS

from mclnet_plugin.models import SelfCorrelationMap


def naive_scm(feat, fc, normalize=True):
    """Eq. 2 literally: the N×N self-correlation, then the FC on each row."""
    batch, _, height, width = feat.shape
    positions = feat.flatten(2)  # (B, C, N)
    if normalize:
        positions = F.normalize(positions, dim=1)
    correlation = positions.transpose(1, 2) @ positions  # (B, N, N): SCM_i
    out = correlation @ fc.weight.t() + fc.bias  # (B, N, out)
    return out.transpose(1, 2).reshape(batch, -1, height, width)


@pytest.mark.parametrize('normalize, impl', [(True, 'factored'),
                                             (False, 'factored'),
                                             (True, 'materialized')])
def test_impls_equal_naive_values_and_gradients(normalize, impl):
    scm = SelfCorrelationMap(
        num_positions=6 * 5, out_channels=7, normalize=normalize,
        impl=impl).double()
    feat = torch.randn(2, 4, 6, 5, dtype=torch.float64, requires_grad=True)
    ours = scm(feat)
    reference = naive_scm(feat, scm.fc, normalize)
    assert ours.shape == (2, 7, 6, 5)
    torch.testing.assert_close(ours, reference, rtol=1e-10, atol=1e-10)

    upstream = torch.randn_like(ours)
    grads = torch.autograd.grad((ours * upstream).sum(),
                                (feat, scm.fc.weight, scm.fc.bias))
    ref_grads = torch.autograd.grad((reference * upstream).sum(),
                                    (feat, scm.fc.weight, scm.fc.bias))
    for ours_grad, ref_grad in zip(grads, ref_grads):
        torch.testing.assert_close(ours_grad, ref_grad, rtol=1e-10,
                                   atol=1e-10)


def test_fp32_matches_fp64_reference():
    scm = SelfCorrelationMap(num_positions=64, out_channels=16)
    feat = torch.randn(1, 8, 8, 8)
    reference = naive_scm(feat.double(), scm.double().fc)
    torch.testing.assert_close(
        scm.float()(feat).double(), reference, rtol=1e-5, atol=1e-5)


def test_paper_defaults_and_registry():
    scm = MODELS.build(dict(type='SelfCorrelationMap'))
    assert isinstance(scm.fc, torch.nn.Linear)
    assert (scm.fc.in_features, scm.fc.out_features) == (4096, 256)
    assert scm(torch.randn(1, 3, 64, 64)).shape == (1, 256, 64, 64)


def test_wrong_number_of_positions_is_a_clear_error():
    scm = SelfCorrelationMap(num_positions=64, out_channels=4)
    with pytest.raises(ValueError, match=r'num_positions=64.*7×9 = 63'):
        scm(torch.randn(1, 3, 7, 9))
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        scm(torch.randn(3, 8, 8))


def test_unknown_impl_is_a_clear_error():
    with pytest.raises(ValueError, match="impl must be 'factored'"):
        SelfCorrelationMap(impl='naive')
