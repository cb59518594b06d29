"""Property-based tests of the correspondence core (hypothesis).

For any input hypothesis draws (random features of magnitude 1e-3..1e3,
rows of mixed magnitudes, and degenerate ones: all-zero, all-equal,
query rows equal to key rows so cos = +1 exactly, opposite rows so
cos = -1), these tests prove:

* ``auto_chunk_size`` is the largest chunk within the element budget, never
  below ``MIN_CHUNK_QUERIES``;
* ``map_in_chunks`` equals one call of its function, values and gradients,
  for any chunk size and dimension;
* ``cosine_softmax_warp`` / ``cosine_softmax_warp_back``: finite values and
  gradients in fp32 and under bf16 autocast (output fp32 there), every output
  a convex combination of the value rows; equivariant to permuting exemplar
  positions (keys and values together: output unchanged) and query positions
  (output permuted the same way); invariant to positive scaling of queries
  and keys; chunked equals unchunked for every chunk size 1..N;
* ``neighbourhood_softmax_warp``: finite values and gradients (fp32, bf16
  autocast), convex combinations; equivariant to the same flip or transpose
  of the query and exemplar grids (a spatial permutation in general does not
  keep neighbourhoods, these do); with a 1×1 kernel, to any permutation of
  exemplar positions; invariant to positive scaling; the same for any chunk
  size;
* ``neighbourhood_cosine`` lies in [-1, 1], for random features and for
  constant maps (whose centred neighbourhoods are zero vectors: cosine 0),
  and where it is identically 0 (one channel, 1×1 kernel, centred) its
  gradient is 0;
* ``SelfCorrelationMap``: impl='factored' equals impl='materialized' (same
  parameters), values and gradients, and stays finite under bf16 autocast.

Equalities are checked in float64, where the functions keep float64, so
tolerances are tight.
"""
import math

import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mclnet_plugin.models import SelfCorrelationMap
from mclnet_plugin.models.correspondence import (MIN_CHUNK_QUERIES,
                                                 auto_chunk_size,
                                                 cosine_softmax_warp,
                                                 cosine_softmax_warp_back,
                                                 map_in_chunks,
                                                 neighbourhood_softmax_warp)
from mclnet_plugin.models.neighbourhood_similarity import neighbourhood_cosine

# deterministic, and no per-example deadline (the first call of a torch op
# can take much longer than the next ones)
FEW = settings(max_examples=15, deadline=None, derandomize=True)
SOME = settings(max_examples=20, deadline=None, derandomize=True)

# Feature kinds. 'random': N(0, 1)·scale; 'mixed': every row its own
# magnitude in 1e-3..1e3; 'zeros'; 'constant': every entry equal;
# 'repeated': every position the same random vector; 'duplicates': rows
# copied (cos = +1) and negated (cos = -1) from other rows.
VECTOR_KINDS = ('random', 'mixed', 'zeros', 'constant', 'repeated',
                'duplicates')
# How the key rows relate to the query rows: also query rows copied into the
# key (cos = +1 exactly between them), negated (cos = -1), scaled by 100.
PAIR_RELATIONS = ('independent', 'equal', 'opposite', 'scaled')
# Neighbourhood features: constant maps are left out where exact
# equalities are checked (see test_neighbourhood_cosine_of_constant_maps).
MAP_KINDS = ('random', 'mixed', 'zeros', 'constant')
TEMPERATURES = st.sampled_from([0.01, 0.1, 1.0])
seeds = st.integers(0, 2**31 - 1)
# positive scale factors 1e-3..1e3, log-uniform
scales = st.floats(-3, 3).map(lambda exponent: 10.0**exponent)


def make_features(kind, seed, shape, scale=1.0):
    """A float64 tensor of ``shape`` = (..., positions, channels)."""
    generator = torch.Generator().manual_seed(seed)

    def randn(*size):
        return torch.randn(*size, generator=generator, dtype=torch.float64)

    if kind == 'zeros':
        return torch.zeros(shape, dtype=torch.float64)
    if kind == 'constant':
        return torch.full(shape, scale, dtype=torch.float64)
    if kind == 'repeated':
        return (randn(*shape[:-2], 1, shape[-1]) * scale).expand(
            shape).clone()
    if kind == 'mixed':
        exponents = 6 * torch.rand(
            *shape[:-1], 1, generator=generator, dtype=torch.float64) - 3
        return randn(*shape) * 10**exponents
    features = randn(*shape) * scale
    if kind == 'duplicates' and shape[-2] >= 3:
        copies = features[..., 0::3, :]
        features[..., 1::3, :] = copies[..., :features[..., 1::3, :].shape[-2],
                                        :]
        features[..., 2::3, :] = -copies[..., :features[..., 2::3, :]
                                         .shape[-2], :]
    return features


def relate(query, key, relation):
    """Overwrite the first rows of ``key`` with (transformed) query rows."""
    rows = min(query.shape[-2], key.shape[-2])
    key = key.clone()
    if relation == 'equal':
        key[..., :rows, :] = query[..., :rows, :]
    elif relation == 'opposite':
        key[..., :rows, :] = -query[..., :rows, :]
    elif relation == 'scaled':
        key[..., :rows, :] = 100 * query[..., :rows, :]
    return key


@st.composite
def warp_inputs(draw, kinds=VECTOR_KINDS, max_positions=16):
    """(query (B, N, C), key (B, M, C), value (B, M, D)) in float64."""
    batch = draw(st.integers(1, 2))
    num_queries = draw(st.integers(1, max_positions))
    num_keys = draw(st.integers(1, max_positions))
    channels = draw(st.integers(1, 8))
    depth = draw(st.integers(1, 3))
    query = make_features(draw(st.sampled_from(kinds)), draw(seeds),
                          (batch, num_queries, channels), draw(scales))
    key = make_features(draw(st.sampled_from(kinds)), draw(seeds),
                        (batch, num_keys, channels), draw(scales))
    key = relate(query, key, draw(st.sampled_from(PAIR_RELATIONS)))
    value = make_features('random', draw(seeds), (batch, num_keys, depth))
    return query, key, value


@st.composite
def feature_maps(draw, kinds=MAP_KINDS, relations=('independent', ),
                 max_side=6):
    """(query (B, C, H, W), key (B, C, H', W'), value (B, H'·W', D)); for a
    relation other than 'independent' the key is the query, negated or
    scaled by 100."""
    batch = draw(st.integers(1, 2))
    channels = draw(st.integers(1, 4))
    sides = st.integers(1, max_side)
    query_hw = (draw(sides), draw(sides))
    key_hw = (draw(sides), draw(sides))
    maps = []
    for hw in (query_hw, key_hw):
        # (B, H·W, C) drawn as rows of vectors, then channels first
        vectors = make_features(
            draw(st.sampled_from(kinds)), draw(seeds),
            (batch, hw[0] * hw[1], channels), draw(scales))
        maps.append(vectors.transpose(1, 2).reshape(batch, channels, *hw))
    query, key = maps
    relation = draw(st.sampled_from(relations))
    if relation != 'independent':
        key_hw = query_hw
        key = {'equal': 1, 'opposite': -1, 'scaled': 100}[relation] * query
    value = make_features('random', draw(seeds),
                          (batch, key_hw[0] * key_hw[1], draw(
                              st.integers(1, 3))))
    return query, key, value


def leaves(tensors, dtype):
    return [t.detach().to(dtype).requires_grad_() for t in tensors]


def values_and_grads(fn, inputs, wrt=None):
    """fn(*inputs) and the gradients (with respect to ``wrt``, default the
    inputs) of a fixed random projection of it."""
    output = fn(*inputs)
    generator = torch.Generator().manual_seed(0)
    upstream = torch.randn(output.shape, generator=generator,
                           dtype=output.dtype)
    grads = torch.autograd.grad((output * upstream).sum(), wrt or inputs)
    return output, grads


def assert_all_close(actual, expected, rtol=1e-9, atol=1e-9):
    assert len(actual) == len(expected)
    for ours, reference in zip(actual, expected):
        torch.testing.assert_close(ours, reference, rtol=rtol, atol=atol)


def assert_convex_combination(output, value):
    """Each output row is a convex combination of the value rows, so it lies
    between their minimum and maximum in every channel."""
    low = value.amin(dim=1, keepdim=True)
    high = value.amax(dim=1, keepdim=True)
    slack = 1e-5 * (value.abs().amax() + 1)
    assert torch.all(output >= low - slack)
    assert torch.all(output <= high + slack)


def assert_finite_with_finite_grads(output, inputs):
    assert torch.isfinite(output).all()
    output.sum().backward()
    for tensor in inputs:
        assert tensor.grad is not None
        assert torch.isfinite(tensor.grad).all()


# ---------------------------------------------------------------------------
# chunking helpers


@SOME
@given(num_keys=st.integers(0, 2**22), budget=st.integers(1, 2**24))
@example(num_keys=4096, budget=2**20)
@example(num_keys=1, budget=1)
def test_auto_chunk_size_is_the_largest_chunk_within_budget(num_keys, budget):
    chunk = auto_chunk_size(num_keys, budget)
    keys = max(1, num_keys)
    assert chunk >= MIN_CHUNK_QUERIES
    if chunk > MIN_CHUNK_QUERIES:
        # within the budget, and one more query would exceed it
        assert chunk * keys <= budget < (chunk + 1) * keys
    else:
        # the floor is used only where a larger chunk would exceed the budget
        assert (MIN_CHUNK_QUERIES + 1) * keys > budget


@SOME
@given(inputs=warp_inputs(kinds=('random', 'mixed')),
       chunk=st.integers(1, 20), dim=st.sampled_from([0, 1]),
       grad=st.booleans())
def test_map_in_chunks_equals_one_call(inputs, chunk, dim, grad):
    query, key = leaves(inputs[:2], torch.float64)
    # a function of each row (along ``dim``), its index and a shared tensor
    fn = lambda row, index, shared: (  # noqa: E731
        torch.tanh(row @ shared.t()) @ shared * index)
    index = torch.arange(query.shape[dim], dtype=torch.float64).reshape(
        (-1, 1, 1) if dim == 0 else (1, -1, 1))
    index = index.expand(*query.shape[:-1], 1).contiguous()
    with torch.set_grad_enabled(grad):
        shared = key[0]  # (M, C)
        chunked = map_in_chunks(fn, (query, index), (shared, ), chunk, dim)
        whole = fn(query, index, shared)
    torch.testing.assert_close(chunked, whole, rtol=1e-12, atol=1e-12)
    assert chunked.requires_grad == grad
    if grad:
        assert_all_close(
            torch.autograd.grad(chunked.sum(), (query, key)),
            torch.autograd.grad(whole.sum(), (query, key)), 1e-12, 1e-12)


# ---------------------------------------------------------------------------
# cosine_softmax_warp / cosine_softmax_warp_back


@SOME
@given(inputs=warp_inputs(), temperature=TEMPERATURES,
       chunk=st.sampled_from([None, 1, 3]),
       mode=st.sampled_from(['fp32', 'bf16 autocast', 'bf16 inputs']))
def test_warp_finite_values_and_gradients(inputs, temperature, chunk, mode):
    query, key, value = leaves(inputs, torch.float32)
    args = [query, key, value]
    if mode == 'bf16 inputs':
        args = [t.bfloat16() for t in args]
    with torch.autocast('cpu', dtype=torch.bfloat16,
                        enabled=mode != 'fp32'):
        warped = cosine_softmax_warp(*args, temperature, chunk)
        back = cosine_softmax_warp_back(*args[:2], warped, temperature,
                                        chunk)
    assert warped.dtype == back.dtype == torch.float32
    assert_convex_combination(warped, args[2].float())
    assert_convex_combination(back, warped)
    assert_finite_with_finite_grads(warped + back.sum(), (query, key, value))


@SOME
@given(inputs=warp_inputs(), temperature=TEMPERATURES, seed=seeds)
def test_warp_equivariant_to_position_permutations(inputs, temperature,
                                                   seed):
    query, key, value = inputs
    generator = torch.Generator().manual_seed(seed)
    key_order = torch.randperm(key.shape[1], generator=generator)
    query_order = torch.randperm(query.shape[1], generator=generator)
    warped = cosine_softmax_warp(query, key, value, temperature)
    # the same exemplar, its positions listed in another order
    torch.testing.assert_close(
        cosine_softmax_warp(query, key[:, key_order], value[:, key_order],
                            temperature),
        warped, rtol=1e-9, atol=1e-9)
    # queries in another order: the same rows, in that order
    torch.testing.assert_close(
        cosine_softmax_warp(query[:, query_order], key, value, temperature),
        warped[:, query_order], rtol=1e-9, atol=1e-9)
    # warp back: the positions it returns to follow the key order
    torch.testing.assert_close(
        cosine_softmax_warp_back(query, key[:, key_order], warped,
                                 temperature),
        cosine_softmax_warp_back(query, key, warped, temperature)[:,
                                                                  key_order],
        rtol=1e-9, atol=1e-9)


@SOME
@given(inputs=warp_inputs(), temperature=TEMPERATURES,
       query_scale=scales, key_scale=scales)
def test_warp_invariant_to_positive_feature_scaling(inputs, temperature,
                                                    query_scale, key_scale):
    query, key, value = inputs
    warped = cosine_softmax_warp(query, key, value, temperature)
    torch.testing.assert_close(
        cosine_softmax_warp(query * query_scale, key * key_scale, value,
                            temperature),
        warped, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(
        cosine_softmax_warp_back(query * query_scale, key * key_scale,
                                 warped, temperature),
        cosine_softmax_warp_back(query, key, warped, temperature),
        rtol=1e-9, atol=1e-9)


@SOME
@given(inputs=warp_inputs(), temperature=TEMPERATURES, data=st.data())
def test_warp_chunked_equals_unchunked(inputs, temperature, data):
    query, key, value = leaves(inputs, torch.float64)
    chunk = data.draw(st.integers(1, query.shape[1]), label='chunk')
    back_chunk = data.draw(st.integers(1, key.shape[1]), label='back_chunk')

    def warp_and_back(chunk_size, back_chunk_size):
        def fn(q, k, v):
            warped = cosine_softmax_warp(q, k, v, temperature, chunk_size)
            back = cosine_softmax_warp_back(q, k, warped, temperature,
                                            back_chunk_size)
            return torch.cat([warped.flatten(), back.flatten()])

        return values_and_grads(fn, (query, key, value))

    chunked, chunked_grads = warp_and_back(chunk, back_chunk)
    whole, whole_grads = warp_and_back(None, None)
    assert_all_close((chunked, *chunked_grads), (whole, *whole_grads),
                     1e-10, 1e-10)


# ---------------------------------------------------------------------------
# neighbourhood_cosine / neighbourhood_softmax_warp


@SOME
@given(maps=feature_maps(kinds=MAP_KINDS + ('repeated', 'duplicates'),
                         relations=PAIR_RELATIONS),
       temperature=TEMPERATURES, kernel=st.sampled_from([1, 3, 5]),
       center=st.booleans(),
       mode=st.sampled_from(['fp32', 'bf16 autocast', 'bf16 inputs']))
def test_neighbourhood_warp_finite_values_and_gradients(
        maps, temperature, kernel, center, mode):
    query, key, value = leaves(maps, torch.float32)
    args = [query, key]
    if mode == 'bf16 inputs':
        args = [t.bfloat16() for t in args]
    with torch.autocast('cpu', dtype=torch.bfloat16,
                        enabled=mode != 'fp32'):
        cosine = neighbourhood_cosine(*args, kernel, center)
        warped = neighbourhood_softmax_warp(*args, value, temperature,
                                            kernel, center)
    assert warped.dtype == torch.float32
    assert_convex_combination(warped, value)
    assert_finite_with_finite_grads(warped + cosine.float().sum(),
                                    (query, key, value))


def grid_transform(name):
    """A spatial permutation of (..., H, W) grids."""
    return {
        'flip rows': lambda grid: grid.flip(-2),
        'flip columns': lambda grid: grid.flip(-1),
        'rotate 180': lambda grid: grid.flip(-2, -1),
        'transpose': lambda grid: grid.transpose(-2, -1),
    }[name]


def per_position(rows, grid_hw, transform):
    """Apply a grid ``transform`` to (B, H·W, D) per-position rows."""
    batch, _, depth = rows.shape
    grid = rows.transpose(1, 2).reshape(batch, depth, *grid_hw)
    return transform(grid).flatten(2).transpose(1, 2)


@SOME
@given(maps=feature_maps(kinds=('random', 'mixed')),
       temperature=TEMPERATURES, kernel=st.sampled_from([1, 3, 5]),
       center=st.booleans(),
       name=st.sampled_from(
           ['flip rows', 'flip columns', 'rotate 180', 'transpose']))
def test_neighbourhood_warp_equivariant_to_grid_symmetries(
        maps, temperature, kernel, center, name):
    """The same flip (or transpose) of both grids permutes the entries of
    every k×k neighbourhood vector in the same way (zero padding is
    symmetric), so all cosines are kept: the warped values of the flipped
    exemplar land on the flipped query positions. Flipping only one grid
    would change the cosines."""
    query, key, value = maps
    transform = grid_transform(name)
    warped = neighbourhood_softmax_warp(query, key, value, temperature,
                                        kernel, center)
    moved = neighbourhood_softmax_warp(
        transform(query), transform(key),
        per_position(value, key.shape[-2:], transform), temperature, kernel,
        center)
    torch.testing.assert_close(
        moved, per_position(warped, query.shape[-2:], transform), rtol=1e-9,
        atol=1e-9)


@SOME
@given(maps=feature_maps(kinds=MAP_KINDS), temperature=TEMPERATURES,
       center=st.booleans(), seed=seeds)
def test_neighbourhood_warp_with_1x1_kernel_ignores_exemplar_layout(
        maps, temperature, center, seed):
    """With a 1×1 kernel a neighbourhood is the position alone: any
    permutation of the exemplar positions (and value rows) keeps the
    output."""
    query, key, value = maps
    order = torch.randperm(
        value.shape[1], generator=torch.Generator().manual_seed(seed))
    shuffled_key = key.flatten(2)[:, :, order].view_as(key)
    torch.testing.assert_close(
        neighbourhood_softmax_warp(query, shuffled_key, value[:, order],
                                   temperature, 1, center),
        neighbourhood_softmax_warp(query, key, value, temperature, 1,
                                   center),
        rtol=1e-9, atol=1e-9)


@SOME
@given(maps=feature_maps(kinds=('random', 'mixed', 'zeros')),
       temperature=TEMPERATURES, kernel=st.sampled_from([1, 3, 5]),
       center=st.booleans(), query_scale=scales, key_scale=scales)
def test_neighbourhood_warp_invariant_to_positive_feature_scaling(
        maps, temperature, kernel, center, query_scale, key_scale):
    query, key, value = maps
    torch.testing.assert_close(
        neighbourhood_softmax_warp(query * query_scale, key * key_scale,
                                   value, temperature, kernel, center),
        neighbourhood_softmax_warp(query, key, value, temperature, kernel,
                                   center),
        rtol=1e-9, atol=1e-9)


@SOME
@given(maps=feature_maps(kinds=('random', 'mixed', 'zeros')),
       temperature=TEMPERATURES, kernel=st.sampled_from([1, 3]),
       center=st.booleans(), data=st.data())
def test_neighbourhood_warp_chunked_equals_unchunked(maps, temperature,
                                                     kernel, center, data):
    """``chunk_size`` is rounded up to whole grid rows; any size gives the
    values and gradients of one chunk (None: at least 8 rows, so one chunk
    of these ≤ 6-row grids)."""
    query, key, value = leaves(maps, torch.float64)
    num_queries = query.shape[-2] * query.shape[-1]
    chunk = data.draw(st.integers(1, num_queries), label='chunk')

    def warp(chunk_size):
        return values_and_grads(
            lambda q, k, v: neighbourhood_softmax_warp(
                q, k, v, temperature, kernel, center, chunk_size),
            (query, key, value))

    chunked, chunked_grads = warp(chunk)
    whole, whole_grads = warp(None)
    assert_all_close((chunked, *chunked_grads), (whole, *whole_grads),
                     1e-10, 1e-10)


@SOME
@given(maps=feature_maps(kinds=('random', 'mixed')),
       kernel=st.sampled_from([1, 3, 5]), center=st.booleans())
def test_neighbourhood_cosine_is_a_cosine(maps, kernel, center):
    query, key, _ = maps
    for dtype in (torch.float32, torch.float64):
        cosine = neighbourhood_cosine(query.to(dtype), key.to(dtype), kernel,
                                      center)
        assert cosine.abs().max() <= 1 + 1e-5


@FEW
@given(value=st.floats(0.01, 10), channels=st.integers(1, 4),
       side=st.integers(3, 6),
       dtype=st.sampled_from([torch.float32, torch.float64]))
@example(value=0.1, channels=1, side=3, dtype=torch.float32)
def test_neighbourhood_cosine_of_constant_maps(value, channels, side, dtype):
    query = torch.full((1, channels, side, side), value, dtype=dtype)
    cosine = neighbourhood_cosine(query, query)
    assert cosine.abs().max() <= 1 + 1e-5
    # an interior neighbourhood (no zero padding in it) is constant: its
    # centred vector is zero, and F.normalize leaves it zero
    interior = cosine.view(side, side, -1)[1:-1, 1:-1]
    assert torch.equal(interior, torch.zeros_like(interior))


@FEW
@given(maps=feature_maps(kinds=('random', ), max_side=3))
@example(maps=(torch.tensor([[[[1.5410, -0.2934, -2.1788],
                               [0.5684, -1.0845, -1.3986]]]],
                            dtype=torch.float64),
               torch.tensor([[[[1.5410, -0.2934]]]], dtype=torch.float64),
               None))
def test_neighbourhood_cosine_gradient_where_it_is_constant(maps):
    query, key = leaves(maps[:2], torch.float64)
    query, key = query[:, :1], key[:, :1]  # one channel
    cosine = neighbourhood_cosine(query, key, 1, True)
    assert torch.equal(cosine, torch.zeros_like(cosine))
    upstream = torch.randn(cosine.shape, dtype=torch.float64,
                           generator=torch.Generator().manual_seed(0))
    for grad in torch.autograd.grad((cosine * upstream).sum(), (query, key)):
        assert torch.equal(grad, torch.zeros_like(grad))


# ---------------------------------------------------------------------------
# SelfCorrelationMap


@SOME
@given(kind=st.sampled_from(VECTOR_KINDS), seed=seeds, scale=scales,
       batch=st.integers(1, 2), channels=st.integers(1, 8),
       height=st.integers(1, 6), width=st.integers(1, 6),
       out_channels=st.integers(1, 6), normalize=st.booleans())
def test_scm_factored_equals_materialized(kind, seed, scale, batch, channels,
                                          height, width, out_channels,
                                          normalize):
    feat = make_features(kind, seed, (batch, height * width, channels),
                         scale)
    feat = feat.transpose(1, 2).reshape(batch, channels, height, width)
    torch.manual_seed(seed)
    materialized = SelfCorrelationMap(height * width, out_channels,
                                      normalize, 'materialized').double()
    factored = SelfCorrelationMap(height * width, out_channels, normalize,
                                  'factored').double()
    factored.load_state_dict(materialized.state_dict())
    results = []
    for scm in (factored, materialized):
        leaf = feat.clone().requires_grad_()
        output, grads = values_and_grads(
            scm, (leaf, ), wrt=(leaf, scm.fc.weight, scm.fc.bias))
        results.append((output, *grads))
    assert_all_close(results[0], results[1], 1e-9, 1e-9)


@FEW
@given(kind=st.sampled_from(VECTOR_KINDS), seed=seeds, scale=scales,
       normalize=st.booleans(),
       impl=st.sampled_from(['factored', 'materialized']))
def test_scm_finite_under_bf16_autocast(kind, seed, scale, normalize, impl):
    torch.manual_seed(seed)
    scm = SelfCorrelationMap(16, 8, normalize, impl)
    feat = make_features(kind, seed, (2, 16, 4), scale).float()
    feat = feat.transpose(1, 2).reshape(2, 4, 4, 4).requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        output = scm(feat)
    assert_finite_with_finite_grads(output.float(),
                                    (feat, scm.fc.weight, scm.fc.bias))


def test_property_strategies_cover_degenerate_cosines():
    """The degenerate kinds do give cos = +1 and -1 exactly (fp64), so the
    properties above are exercised there."""
    rows = make_features('duplicates', 0, (1, 6, 4))
    unit = torch.nn.functional.normalize(rows, dim=-1)
    cos = unit[0] @ unit[0].t()
    assert math.isclose(cos[0, 1].item(), 1.0, abs_tol=1e-15)
    assert math.isclose(cos[0, 2].item(), -1.0, abs_tol=1e-15)
    repeated = make_features('repeated', 1, (1, 5, 3))
    assert torch.equal(repeated[0, 0], repeated[0, 4])
