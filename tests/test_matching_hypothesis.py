"""Property-based tests of the matching core (hypothesis; modest example counts)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linear_sum_assignment as scipy_lsa

from kgalign.matching import (
    auction,
    greedy_matching,
    linear_sum_assignment,
    mutual_nearest,
    rank_alternatives,
    refine,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

shapes = st.tuples(st.integers(0, 9), st.integers(0, 9))
# adversarial values: few distinct levels (ties), negatives, large magnitudes, a dyadic grid
levels = st.sampled_from(
    [
        st.integers(-3, 3).map(float),
        st.integers(0, 1).map(float),
        st.integers(-(2**20), 2**20).map(lambda v: v / 2**10),
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32).map(float),
    ]
)


@st.composite
def matrices(draw, min_side=0):
    n1, n2 = draw(st.tuples(st.integers(min_side, 9), st.integers(min_side, 9)))
    elems = draw(levels)
    return draw(arrays(np.float64, (n1, n2), elements=elems))


@st.composite
def sparse_problems(draw):
    M = draw(matrices(min_side=1))
    mask = draw(arrays(np.bool_, M.shape))
    rows, cols = np.nonzero(mask)
    S = sp.csr_matrix((M[rows, cols], (rows, cols)), shape=M.shape)
    return S, mask


def dense_with_forbidden(S, mask):
    return np.where(mask, S.toarray(), -np.inf)


@SETTINGS
@given(matrices(), st.booleans())
def test_dense_equals_scipy_objective(C, maximize):
    r1, c1 = scipy_lsa(C, maximize=maximize)
    r2, c2 = linear_sum_assignment(C, maximize=maximize)
    assert r2.size == r1.size
    assert len(set(c2.tolist())) == c2.size and np.all(np.diff(r2) > 0)
    tol = 1e-9 * max(1.0, float(np.abs(C).sum()))
    assert abs(C[r2, c2].sum() - C[r1, c1].sum()) <= tol


@SETTINGS
@given(matrices(min_side=1), st.data())
def test_dense_permutation_invariant_objective(C, data):
    p = data.draw(st.permutations(range(C.shape[0])))
    q = data.draw(st.permutations(range(C.shape[1])))
    r, c = linear_sum_assignment(C)
    r2, c2 = linear_sum_assignment(C[np.ix_(p, q)])
    tol = 1e-9 * max(1.0, float(np.abs(C).sum()))
    assert abs(C[r, c].sum() - C[np.ix_(p, q)][r2, c2].sum()) <= tol


@SETTINGS
@given(sparse_problems(), st.one_of(st.none(), st.integers(-2, 2).map(float)))
def test_auction_exact_is_optimal_and_approx_within_bound(problem, threshold):
    S, mask = problem
    n1 = S.shape[0]
    res = auction(S, exact=True, unmatched_value=threshold)
    D = dense_with_forbidden(S, mask)
    t = res.unmatched_value
    r, c = linear_sum_assignment(D, maximize=True, unmatched_cost=t)
    opt = D[r, c].sum() + np.delete(t, r).sum()
    scale = max(1.0, float(np.abs(S.data).sum()) + float(np.abs(t).sum()))
    assert np.all(mask[res.rows, res.cols])
    if not res.rounded:
        assert abs(res.objective - opt) <= 1e-9 * scale
    assert res.dual_bound >= opt - 1e-9 * scale
    eps = 1e-3 * max(1.0, float(np.ptp(S.data)) if S.nnz else 1.0)
    approx = auction(S, epsilon=eps, unmatched_value=threshold)
    assert approx.objective >= opt - n1 * eps - 1e-9 * scale
    assert approx.objective <= opt + 1e-9 * scale
    assert -1e-9 * scale <= approx.gap <= n1 * approx.epsilon + 1e-9 * scale


@SETTINGS
@given(sparse_problems(), st.sampled_from(["greedy", "mutual", "empty"]), st.one_of(st.none(), st.just(0.0)))
def test_refine_never_decreases_objective(problem, start, threshold):
    S, mask = problem
    n1 = S.shape[0]
    if start == "greedy":
        r0, c0 = greedy_matching(S)
    elif start == "mutual":
        r0, c0 = mutual_nearest(S)
    else:
        r0, c0 = np.empty(0, np.int64), np.empty(0, np.int64)
    t = 0.0 if threshold is None else threshold

    def value(r, c, with_t):
        base = float(S[r, c].sum()) if r.size else 0.0
        return base + (t * (n1 - r.size) if with_t else 0.0)

    r, c = refine(S, r0, c0, unmatched_value=threshold)
    assert np.all(mask[r, c])
    assert len(set(c.tolist())) == c.size
    with_t = threshold is not None
    assert value(r, c, with_t) >= value(r0, c0, with_t) - 1e-9 * max(1.0, float(np.abs(S.data).sum()))


@SETTINGS
@given(sparse_problems(), st.integers(0, 5))
def test_rank_alternatives_shape_and_partner_first(problem, k):
    S, mask = problem
    res = auction(S)
    R = rank_alternatives(S, res.rows, res.cols, k)
    assert R.shape == (S.shape[0], k)
    if k:
        assert np.all(R[res.rows, 0] == res.cols)
    for i in range(S.shape[0]):
        row = R[i][R[i] >= 0]
        assert len(set(row.tolist())) == row.size
        assert np.all(mask[i, row])
        # -1 padding only at the end
        assert np.all(R[i][row.size :] == -1)
