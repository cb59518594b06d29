"""Property-based tests of the marginal contrastive loss (hypothesis).

For any features hypothesis draws (random, magnitudes 1e-3..1e3, rows of
mixed magnitudes, and degenerate ones: all-zero, all-equal, duplicated and
negated rows, ground truth equal to the condition so every positive has
cos = +1 exactly, or opposite to it so cos = -1), these tests prove:

* ``additive_angular_margin``: finite values and gradients for every cosine
  in [-1, 1] and margin in [0, π/2), never above the cosine, non-increasing
  in the margin;
* ``MarginalContrastiveLoss`` / ``marginal_contrastive_loss``: finite
  values and gradients, per-anchor losses ≥ 0, in fp32 and under bf16
  autocast (the result is fp32 there); invariant to positive scaling of
  either feature map; equivariant to permuting the positions (of both maps
  alike); non-decreasing in the margin for margins in {0} ∪ [1e-3, π/2)
  (in (0, 1e-3) it is not, by up to ~2e-7 in the cosine: a known defect of
  the clamped sine, ``xfail``); chunked equals unchunked for every chunk
  size 1..N, values and gradients.

Equalities are checked in float64, which the loss keeps, so tolerances are
tight.
"""
import math

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mclnet_plugin.models.losses import (MarginalContrastiveLoss,
                                         additive_angular_margin,
                                         marginal_contrastive_loss)

SOME = settings(max_examples=25, deadline=None, derandomize=True)

# 'random': N(0, 1)·scale; 'mixed': each position its own magnitude in
# 1e-3..1e3; 'zeros'; 'constant': every entry equal; 'repeated': every
# position the same vector; 'duplicates': rows copied from and negated
# from other rows (cos = +1 and -1 among the negatives).
KINDS = ('random', 'mixed', 'zeros', 'constant', 'repeated', 'duplicates')
# the ground truth: independent of the condition, equal to it (every
# positive at cos = +1), opposite (cos = -1), or the condition scaled
RELATIONS = ('independent', 'equal', 'opposite', 'scaled')
seeds = st.integers(0, 2**31 - 1)
scales = st.floats(-3, 3).map(lambda exponent: 10.0**exponent)
temperatures = st.sampled_from([0.05, 0.1, 1.0])
# the margins the module accepts: [0, π/2) radians
margins = st.floats(0, math.pi / 2, exclude_max=True)


def make_features(kind, seed, shape, scale=1.0):
    """A float64 (B, N, C) tensor."""
    generator = torch.Generator().manual_seed(seed)

    def randn(*size):
        return torch.randn(*size, generator=generator, dtype=torch.float64)

    batch, num, channels = shape
    if kind == 'zeros':
        return torch.zeros(shape, dtype=torch.float64)
    if kind == 'constant':
        return torch.full(shape, scale, dtype=torch.float64)
    if kind == 'repeated':
        return (randn(batch, 1, channels) * scale).expand(shape).clone()
    if kind == 'mixed':
        exponents = 6 * torch.rand(
            batch, num, 1, generator=generator, dtype=torch.float64) - 3
        return randn(*shape) * 10**exponents
    features = randn(*shape) * scale
    if kind == 'duplicates':
        copies = features[:, 0::3]
        features[:, 1::3] = copies[:, :len(range(1, num, 3))]
        features[:, 2::3] = -copies[:, :len(range(2, num, 3))]
    return features


@st.composite
def feature_pairs(draw, kinds=KINDS, relations=RELATIONS, max_num=16):
    """(cond, gt), both (B, N, C) float64."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, max_num)),
             draw(st.integers(1, 8)))
    cond = make_features(draw(st.sampled_from(kinds)), draw(seeds), shape,
                         draw(scales))
    gt = make_features(draw(st.sampled_from(kinds)), draw(seeds), shape,
                       draw(scales))
    relation = draw(st.sampled_from(relations))
    if relation != 'independent':
        gt = {'equal': 1, 'opposite': -1, 'scaled': 100}[relation] * cond
    return cond, gt


def leaves(tensors, dtype):
    return [t.detach().to(dtype).requires_grad_() for t in tensors]


def values_and_grads(fn, inputs):
    """fn(*inputs) and the gradients of a fixed random projection of it."""
    output = fn(*inputs)
    upstream = torch.randn(output.shape, dtype=output.dtype,
                           generator=torch.Generator().manual_seed(0))
    return output, torch.autograd.grad((output * upstream).sum(), inputs)


# ---------------------------------------------------------------------------
# additive_angular_margin


@SOME
@given(cos=st.floats(-1, 1), margin=margins)
@example(cos=1.0, margin=0.4)
@example(cos=-1.0, margin=0.4)
@example(cos=-1.0, margin=1e-9)
@example(cos=-math.cos(0.4), margin=0.4)  # θ + m = π: the branch switch
def test_angular_margin_finite_and_never_above_the_cosine(cos, margin):
    for dtype in (torch.float32, torch.float64):
        cos_theta = torch.tensor(cos, dtype=dtype, requires_grad=True)
        logit = additive_angular_margin(cos_theta, margin)
        logit.backward()
        assert torch.isfinite(logit) and torch.isfinite(cos_theta.grad)
        # the margin only ever lowers the positive logit
        assert logit <= cos_theta
        # and by at most what θ + m = π (or the fall-back) allows
        assert logit >= -1 - margin * math.sin(margin) - 1e-6


# Why the margin range: the positive logit f(m) is cos(θ+m) while θ+m ≤ π
# (decreasing in m there) and the ArcFace fall-back cosθ − m·sin m past it,
# whose derivative −(sin m + m·cos m) is ≤ 0 only up to m ≈ 2.03 rad; at
# the switch the fall-back is below −1 = cos(π) because cos m + m·sin m ≥ 1
# for m ≤ π/2. So for m in [0, π/2), the range the module accepts, f never
# increases, and the loss (decreasing in the positive logit, the negatives
# do not depend on m) never decreases. One exception: where 1 − cos²θ <
# SIN_EPS = 1e-6, sinθ is clamped to 1e-3 (> the true sinθ) and then, for
# cosθ near −1, the switch at m = π − θ < 1e-3 jumps *up* by up to ~2e-7
# (test_loss_not_monotone_where_the_sine_is_clamped). Margins from
# {0} ∪ [1e-3, π/2) never straddle that switch.
monotone_margins = st.one_of(
    st.just(0.0), st.floats(1e-3, math.pi / 2, exclude_max=True))


@SOME
@given(cos=st.floats(-1, 1), first=monotone_margins,
       second=monotone_margins)
@example(cos=-1.0, first=0.0, second=1e-3)
@example(cos=1.0, first=0.0, second=1e-3)
@example(cos=-math.cos(0.4), first=0.4 - 1e-3, second=0.4 + 1e-3)
def test_angular_margin_non_increasing_in_the_margin(cos, first, second):
    low, high = sorted((first, second))
    cos_theta = torch.tensor(cos, dtype=torch.float64)
    assert (additive_angular_margin(cos_theta, high) <=
            additive_angular_margin(cos_theta, low) + 1e-15)


# ---------------------------------------------------------------------------
# MarginalContrastiveLoss


@SOME
@given(pair=feature_pairs(), margin=margins, temperature=temperatures,
       bidirectional=st.booleans(), chunk=st.sampled_from([None, 1, 5]),
       mode=st.sampled_from(['fp32', 'bf16 autocast', 'bf16 inputs']))
@example(pair=(torch.ones(1, 4, 3, dtype=torch.float64),
               torch.ones(1, 4, 3, dtype=torch.float64)),
         margin=0.4, temperature=0.05, bidirectional=True, chunk=None,
         mode='bf16 inputs')
def test_loss_finite_values_and_gradients(pair, margin, temperature,
                                          bidirectional, chunk, mode):
    cond, gt = leaves(pair, torch.float32)
    args = [cond, gt]
    if mode == 'bf16 inputs':
        args = [t.bfloat16() for t in args]
    loss = MarginalContrastiveLoss(
        margin=margin, temperature=temperature, bidirectional=bidirectional,
        reduction='none', chunk_size=chunk)
    with torch.autocast('cpu', dtype=torch.bfloat16,
                        enabled=mode != 'fp32'):
        per_anchor = loss(*args)
    assert per_anchor.dtype == torch.float32
    assert per_anchor.shape == cond.shape[:2]
    assert torch.isfinite(per_anchor).all()
    # −log of a softmax probability
    assert torch.all(per_anchor >= -1e-5 / temperature)
    per_anchor.sum().backward()
    assert torch.isfinite(cond.grad).all() and torch.isfinite(gt.grad).all()


@SOME
@given(pair=feature_pairs(), margin=margins, temperature=temperatures,
       cond_scale=scales, gt_scale=scales)
def test_loss_invariant_to_positive_feature_scaling(pair, margin,
                                                    temperature, cond_scale,
                                                    gt_scale):
    cond, gt = pair
    loss = MarginalContrastiveLoss(margin=margin, temperature=temperature,
                                   reduction='none')
    torch.testing.assert_close(
        loss(cond * cond_scale, gt * gt_scale), loss(cond, gt), rtol=1e-9,
        atol=1e-9)


@SOME
@given(pair=feature_pairs(), margin=margins, temperature=temperatures,
       seed=seeds)
def test_loss_equivariant_to_position_permutations(pair, margin,
                                                   temperature, seed):
    """Positives are matched by position and all other positions are
    negatives, so listing the positions of both maps in another order
    lists the per-anchor losses in that order."""
    cond, gt = pair
    order = torch.randperm(
        cond.shape[1], generator=torch.Generator().manual_seed(seed))
    loss = MarginalContrastiveLoss(margin=margin, temperature=temperature,
                                   reduction='none')
    torch.testing.assert_close(
        loss(cond[:, order], gt[:, order]),
        loss(cond, gt)[:, order], rtol=1e-9, atol=1e-9)


@SOME
@given(pair=feature_pairs(), first=monotone_margins,
       second=monotone_margins, temperature=temperatures,
       bidirectional=st.booleans())
def test_loss_non_decreasing_in_the_margin(pair, first, second, temperature,
                                           bidirectional):
    """See ``monotone_margins`` for the range."""
    low, high = sorted((first, second))
    cond, gt = pair

    def per_anchor(margin):
        return MarginalContrastiveLoss(
            margin=margin, temperature=temperature,
            bidirectional=bidirectional, reduction='none')(cond, gt)

    at_low = per_anchor(low)
    assert torch.all(per_anchor(high) >= at_low - 1e-12 * (1 + at_low.abs()))


@pytest.mark.xfail(
    strict=True,
    reason='defect: sinθ is clamped to sqrt(SIN_EPS) = 1e-3 where 1 - cos²θ '
    '< 1e-6, so for θ close to π the switch to the ArcFace fall-back at '
    'm = π - θ raises the positive logit: for cosθ = -cos(3.3e-4) (float64) '
    'additive_angular_margin gives -1.00000021 at m = 3.2e-4 and '
    '-1.00000006 at m = 3.4e-4, and the loss decreases as the margin grows')
@SOME
@given(delta=st.floats(1e-5, 6e-4), gap=st.floats(1e-7, 1e-5))
@example(delta=3.3e-4, gap=1e-5)
def test_loss_not_monotone_where_the_sine_is_clamped(delta, gap):
    """Anchor 0's positive at angle π − δ, margins just below and above
    the switch at m = δ."""
    theta = math.pi - delta
    cond = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)
    gt = torch.tensor([[[math.cos(theta), math.sin(theta)], [0.0, 1.0]]],
                      dtype=torch.float64)
    low, high = max(delta - gap, 0.0), delta + gap
    at_low = marginal_contrastive_loss(cond, gt, low)
    assert torch.all(marginal_contrastive_loss(cond, gt, high) >= at_low)


@SOME
@given(pair=feature_pairs(), margin=margins, temperature=temperatures,
       data=st.data())
def test_chunked_equals_unchunked(pair, margin, temperature, data):
    cond, gt = leaves(pair, torch.float64)
    chunk = data.draw(st.integers(1, cond.shape[1]), label='chunk')
    # the functional core, per anchor
    chunked, chunked_grads = values_and_grads(
        lambda a, b: marginal_contrastive_loss(a, b, margin, temperature,
                                               chunk), (cond, gt))
    whole, whole_grads = values_and_grads(
        lambda a, b: marginal_contrastive_loss(a, b, margin, temperature),
        (cond, gt))
    for ours, reference in zip((chunked, *chunked_grads),
                               (whole, *whole_grads)):
        torch.testing.assert_close(ours, reference, rtol=1e-10, atol=1e-10)
    # the module, both directions, mean
    chunked = MarginalContrastiveLoss(
        margin=margin, temperature=temperature, chunk_size=chunk)
    whole = MarginalContrastiveLoss(margin=margin, temperature=temperature)
    for ours, reference in zip(
            values_and_grads(chunked, (cond, gt)),
            values_and_grads(whole, (cond, gt))):
        if isinstance(ours, tuple):
            for ours_grad, reference_grad in zip(ours, reference):
                torch.testing.assert_close(ours_grad, reference_grad,
                                           rtol=1e-10, atol=1e-10)
        else:
            torch.testing.assert_close(ours, reference, rtol=1e-10,
                                       atol=1e-10)
