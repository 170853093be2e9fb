"""Top-k selection in C++ (``topk_rows``, ``topk_candidates``) against two numpy oracles.

Oracle 1 is a full stable sort of every row (``np.lexsort((col, -value))``), independent of
any selection trick; oracle 2 is the numpy selection ``_select_topk`` the C++ code replaced.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kgalign.errors import InputError
from kgalign.matching import topk_candidates, topk_rows
from kgalign.matching.topk import _select_topk, _select_topk_cpp


def _has_openmp() -> bool:
    from kgalign import _core

    return bool(getattr(_core, "has_openmp", False))


SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def full_sort_topk(M: np.ndarray, k: int):
    """(cols int64 (n1, kk), vals (n1, kk)) by a full sort: value desc, then column asc."""
    n1, n2 = M.shape
    kk = min(k, n2)
    cols = np.empty((n1, kk), dtype=np.int64)
    for i in range(n1):
        order = np.lexsort((np.arange(n2), -M[i].astype(np.float64)))
        cols[i] = order[:kk]
    return cols, np.take_along_axis(M, cols, axis=1)


def csr_rows(S):
    return [
        (S.indices[S.indptr[i] : S.indptr[i + 1]], S.data[S.indptr[i] : S.indptr[i + 1]]) for i in range(S.shape[0])
    ]


levels = st.sampled_from(
    [
        st.integers(0, 2).map(float),  # many ties
        st.integers(-3, 3).map(float),
        st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32).map(float),
        st.sampled_from([-np.inf, -1.0, 0.0, 1.0, np.inf]),  # infinities are ordinary values
    ]
)


@st.composite
def dense(draw):
    n1 = draw(st.integers(0, 7))
    n2 = draw(st.integers(0, 70))  # > 16: crosses the vectorised 16-wide blocks
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return draw(arrays(dtype, (n1, n2), elements=draw(levels)))


@SETTINGS
@given(dense(), st.integers(0, 80))
def test_selection_equals_full_sort_and_numpy_oracle(M, k):
    kk = min(k, M.shape[1])
    cols, vals = _select_topk_cpp(np.ascontiguousarray(M), kk)
    assert cols.dtype == np.int32 and vals.dtype == M.dtype and cols.shape == (M.shape[0], kk)
    ref_cols, ref_vals = full_sort_topk(M, kk)
    np.testing.assert_array_equal(cols, ref_cols)
    np.testing.assert_array_equal(vals, ref_vals)
    if kk > 0 and M.shape[0] > 0:
        c2, v2 = _select_topk(M, kk)
        np.testing.assert_array_equal(cols, c2)
        np.testing.assert_array_equal(vals, v2.astype(M.dtype))


@SETTINGS
@given(dense(), st.integers(0, 80))
def test_topk_rows_csr(M, k):
    S = topk_rows(M, k)
    n1, n2 = M.shape
    kk = min(k, n2)
    assert isinstance(S, sp.csr_matrix) and S.shape == (n1, n2) and S.dtype == M.dtype
    assert S.nnz == n1 * kk and S.has_sorted_indices
    ref_cols, _ = full_sort_topk(M, kk)
    for i, (c, v) in enumerate(csr_rows(S)):
        assert np.all(np.diff(c) > 0)
        assert c.tolist() == sorted(ref_cols[i].tolist())
        np.testing.assert_array_equal(v, M[i, c])


@settings(max_examples=30, deadline=None)
@given(dense(), st.integers(1, 20), st.randoms(use_true_random=False))
def test_row_permutation_equivariance(M, k, rnd):
    perm = list(range(M.shape[0]))
    rnd.shuffle(perm)
    a = topk_rows(M, k)
    b = topk_rows(M[perm], k)
    assert (a[perm] != b).nnz == 0


@pytest.mark.skipif(not _has_openmp(), reason="built without OpenMP: both runs would be sequential")
def test_threads_agree_on_a_larger_block():
    rng = np.random.default_rng(0)
    M = np.round(rng.standard_normal((301, 1003)), 1).astype(np.float32)  # many ties
    one = _select_topk_cpp(M, 37, 1)
    two = _select_topk_cpp(M, 37, 2)
    default = _select_topk_cpp(M, 37)
    for other in (two, default):
        np.testing.assert_array_equal(one[0], other[0])
        np.testing.assert_array_equal(one[1], other[1])
    ref_cols, _ = full_sort_topk(M, 37)
    np.testing.assert_array_equal(one[0], ref_cols)


def test_edge_shapes():
    M = np.array([[0.5, 2.0, 2.0, -1.0]], dtype=np.float32)  # 1 x n
    S = topk_rows(M, 2)
    assert S.indices.tolist() == [1, 2]
    assert topk_rows(M, 0).nnz == 0 and topk_rows(M, 0).shape == (1, 4)
    assert topk_rows(M, 99).nnz == 4
    col = np.array([[3.0], [1.0], [2.0]])  # n x 1
    assert topk_rows(col, 5).indices.tolist() == [0, 0, 0]
    assert topk_rows(np.zeros((0, 5)), 3).shape == (0, 5)
    assert topk_rows(np.zeros((4, 0)), 3).nnz == 0
    ints = topk_rows([[1, 3, 2]], 1)  # other real dtypes: float64
    assert ints.dtype == np.float64 and ints.indices.tolist() == [1]
    strided = np.arange(40, dtype=np.float32).reshape(4, 10)[:, ::2]  # non-contiguous
    assert topk_rows(strided, 1).indices.tolist() == [4, 4, 4, 4]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [0, 1, 3, 40])
@pytest.mark.parametrize("where", [(0, 0), (2, 17), (3, 39)])
def test_nan_rejected_naming_row_and_column(dtype, k, where):
    M = np.random.default_rng(1).random((4, 40)).astype(dtype)
    M[where] = np.nan
    M[3, 5] = 7.0  # a large value elsewhere: the NaN need not be among the top k
    with pytest.raises(InputError, match=rf"row {where[0]} / column {where[1]}"):
        topk_rows(M, k)


def test_bad_arguments():
    with pytest.raises(InputError):
        topk_rows(np.zeros(3), 1)
    with pytest.raises(InputError):
        topk_rows(np.zeros((2, 2)), -1)
    with pytest.raises(InputError):
        topk_rows(np.array([["a"]]), 1)


def test_topk_candidates_backends_equal_topk_rows_of_the_product():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((57, 16)).astype(np.float32)
    B = rng.standard_normal((91, 16)).astype(np.float32)
    ref = topk_rows(A @ B.T, 9)
    for backend, bs in (("numpy", 4096), ("numpy", 5), ("torch", 7), ("auto", 1)):
        S = topk_candidates(A, B, 9, backend=backend, block_size=bs)
        assert S.dtype == np.float32 and S.has_sorted_indices
        np.testing.assert_array_equal(S.indptr, ref.indptr)
        np.testing.assert_array_equal(S.indices, ref.indices)  # well separated: no rounding ties
        np.testing.assert_allclose(S.data, ref.data, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ parallel (Jacobi) bidding
def _random_sparse(n, k, seed):
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), k)
    cols = rng.integers(0, n, n * k)
    S = sp.csr_matrix((1.0 + np.round(rng.random(n * k), 3), (rows, cols)), shape=(n, n))
    S.sum_duplicates()
    return S


@pytest.mark.skipif(not _has_openmp(), reason="built without OpenMP: both runs would be sequential")
@pytest.mark.parametrize("seed", [0, 1])
def test_parallel_bidding_same_guarantees(seed):
    """n_threads=2 runs Jacobi rounds (>= 4096 free rows): exact mode reaches the same
    optimum as the sequential solver, default mode stays within n * epsilon of it."""
    from kgalign.matching import auction

    S = _random_sparse(6000, 6, seed)  # ~1 % of rows cannot be matched: partial problem
    seq = auction(S, exact=True)
    par = auction(S, exact=True, n_threads=2)
    assert par.objective == pytest.approx(seq.objective, abs=1e-9)
    assert par.gap >= -1e-9 and seq.gap >= -1e-9
    approx = auction(S, n_threads=2)
    assert approx.objective >= seq.objective - 6000 * approx.epsilon - 1e-9
    assert np.unique(approx.cols).size == approx.cols.size
    assert np.all(np.asarray(S[approx.rows, approx.cols]).ravel() != 0)
    with pytest.raises(InputError):
        auction(S, n_threads=0)


# ------------------------------------------------------------------ refinement pruning
@st.composite
def sparse_with_start(draw):
    n1, n2 = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    M = draw(arrays(np.float64, (n1, n2), elements=st.integers(-4, 4).map(float)))  # ties
    mask = draw(arrays(np.bool_, (n1, n2)))
    r, c = np.nonzero(mask)
    S = sp.csr_matrix((M[r, c] + 10.0, (r, c)), shape=(n1, n2))  # stored values all nonzero
    return S, mask


@SETTINGS
@given(sparse_with_start(), st.sampled_from(["greedy", "mutual"]))
def test_sparse_refine_leaves_no_improving_exchange(problem, start):
    """The exchange pruning (row-maximum bound) never hides an improving move: after
    refinement no stored exchange or move to a free stored column gains (brute force)."""
    from kgalign.matching import greedy_matching, mutual_nearest, refine

    S, mask = problem
    D = S.toarray()
    r0, c0 = greedy_matching(S) if start == "greedy" else mutual_nearest(S)
    r, c = refine(S, r0, c0)
    x = dict(zip(r.tolist(), c.tolist()))
    taken = set(x.values())
    for i in x:
        for k in x:
            if i < k and mask[i, x[k]] and mask[k, x[i]]:
                assert D[i, x[k]] + D[k, x[i]] - D[i, x[i]] - D[k, x[k]] <= 1e-9
        for j in np.flatnonzero(mask[i]):
            if j not in taken:
                assert D[i, j] <= D[i, x[i]] + 1e-9


def test_bad_k_and_containers_are_input_errors():
    import scipy.sparse as sp

    from kgalign.errors import InputError
    from kgalign.matching import linear_sum_assignment, topk_rows

    S = np.arange(6, dtype=np.float32).reshape(2, 3)
    for k in (1.5, True, "2"):
        with pytest.raises(InputError, match="k must be an integer"):
            topk_rows(S, k)
    assert topk_rows(S, 2.0).nnz == 4  # an integral float is fine
    for fn in (linear_sum_assignment, lambda a: topk_rows(a, 1)):
        with pytest.raises(InputError, match="dense array"):
            fn(sp.csr_matrix(S))
        with pytest.raises(InputError, match="rectangular"):
            fn([[1.0, 2.0], [3.0]])
        with pytest.raises(InputError, match="None"):
            fn(None)


def test_auction_refuses_coo_duplicates_instead_of_adding_them():
    import scipy.sparse as sp

    from kgalign.errors import InputError
    from kgalign.matching import auction

    dup = sp.coo_matrix(([0.5, 0.6], ([0, 0], [1, 1])), shape=(2, 2))
    with pytest.raises(InputError, match="row 0 / column 1.*twice"):
        auction(dup)
    ok = sp.coo_matrix(([0.5, 0.6], ([0, 1], [1, 0])), shape=(2, 2))
    assert auction(ok).matched_similarity == pytest.approx(1.1)


def test_n_threads_must_be_a_positive_integer():
    S = np.ones((2, 3), dtype=np.float32)
    for bad in (0, -5, "x", 1.5, True):
        with pytest.raises(InputError, match="n_threads"):
            topk_rows(S, 1, n_threads=bad)
    assert topk_rows(S, 1, n_threads=1).nnz == 2
