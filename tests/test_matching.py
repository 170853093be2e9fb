"""Matching core: differential tests against scipy and brute force, validation, invariants."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment as scipy_lsa
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from kgalign.errors import InputError, SolverError
from kgalign.matching import (
    auction,
    greedy_matching,
    linear_sum_assignment,
    mutual_nearest,
    rank_alternatives,
    refine,
    topk_candidates,
)


def brute_force(C, unmatched=None):
    """Min-cost matching by enumeration (inf = forbidden). Without ``unmatched``: maximum
    cardinality first, then minimum cost. Returns (cardinality, cost incl. unmatched costs)."""
    n1, n2 = C.shape
    best = None
    for assign in itertools.product(range(-1, n2), repeat=n1):
        used = [j for j in assign if j >= 0]
        if len(used) != len(set(used)):
            continue
        if any(j >= 0 and not np.isfinite(C[i, j]) for i, j in enumerate(assign)):
            continue
        cost = sum(C[i, j] for i, j in enumerate(assign) if j >= 0)
        if unmatched is not None:
            cost += sum(unmatched[i] for i, j in enumerate(assign) if j < 0)
            key = (0, cost)
        else:
            key = (-len(used), cost)
        if best is None or key < best:
            best = key
    return -best[0] if unmatched is None else None, best[1]


def check_assignment(rows, cols, n1, n2):
    assert rows.dtype == np.int64 and cols.dtype == np.int64
    assert len(set(rows.tolist())) == rows.size and len(set(cols.tolist())) == cols.size
    assert np.all(np.diff(rows) > 0)
    assert rows.size == 0 or (rows.max() < n1 and cols.max() < n2 and rows.min() >= 0 and cols.min() >= 0)


# ------------------------------------------------------------------ dense exact LAP
MATRICES = {
    "random": lambda rng, a, b: rng.random((a, b)),
    "ties": lambda rng, a, b: rng.integers(0, 3, (a, b)).astype(float),
    "constant": lambda rng, a, b: np.full((a, b), 2.5),
    "negative": lambda rng, a, b: -rng.integers(0, 100, (a, b)).astype(float) - 0.5,
    "large": lambda rng, a, b: rng.random((a, b)) * 1e9,
}


@pytest.mark.parametrize("kind", sorted(MATRICES))
@pytest.mark.parametrize("maximize", [False, True])
def test_dense_matches_scipy(kind, maximize):
    rng = np.random.default_rng(hash(kind) % 2**32)
    shapes = [(1, 1), (1, 7), (7, 1), (5, 5), (6, 9), (9, 6), (30, 30), (40, 25), (25, 40)]
    for n1, n2 in shapes:
        C = MATRICES[kind](rng, n1, n2)
        r1, c1 = scipy_lsa(C, maximize=maximize)
        r2, c2 = linear_sum_assignment(C, maximize=maximize)
        check_assignment(r2, c2, n1, n2)
        assert r2.size == r1.size == min(n1, n2)
        assert C[r2, c2].sum() == pytest.approx(C[r1, c1].sum(), rel=1e-12, abs=1e-9)


def test_dense_unique_optimum_identical_to_scipy_and_float32():
    rng = np.random.default_rng(1)
    for n1, n2 in [(50, 50), (60, 80), (80, 60)]:
        C = rng.random((n1, n2))
        r1, c1 = scipy_lsa(C)
        r2, c2 = linear_sum_assignment(C)
        np.testing.assert_array_equal(r1, r2)
        np.testing.assert_array_equal(c1, c2)
        C32 = C.astype(np.float32)
        r3, c3 = linear_sum_assignment(C32)
        r4, c4 = scipy_lsa(C32.astype(np.float64))
        assert C32[r3, c3].astype(np.float64).sum() == pytest.approx(C32[r4, c4].astype(np.float64).sum(), rel=1e-6)


def test_dense_larger_alignment_like_matches_scipy():
    rng = np.random.default_rng(2)
    n = 300
    X = rng.standard_normal((n, 16))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y = X[rng.permutation(n)] + 0.3 * rng.standard_normal((n, 16))
    S = X @ Y.T
    r1, c1 = scipy_lsa(S, maximize=True)
    r2, c2 = linear_sum_assignment(S, maximize=True)
    assert S[r2, c2].sum() == pytest.approx(S[r1, c1].sum(), rel=1e-12)


@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_column_minima_permutation_is_the_optimum(maximize, dtype):
    # each column's best row is a different row: the column reduction alone is optimal (the
    # solver then skips the reduction transfer); the optimum is unique by a margin of 0.01
    rng = np.random.default_rng(7)
    n = 200
    C = rng.random((n, n))
    p = rng.permutation(n)
    C[p, np.arange(n)] = C.min(axis=0) - 0.01
    C = (-C if maximize else C).astype(dtype)
    r1, c1 = scipy_lsa(C.astype(np.float64), maximize=maximize)
    r2, c2 = linear_sum_assignment(C, maximize=maximize)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(c2[p], np.arange(n))
    # one column's best row taken twice: the general path gives the same optimum as scipy
    C[p[0], 1] = C[p[1], 1] + (0.02 if maximize else -0.02)
    r1, c1 = scipy_lsa(C.astype(np.float64), maximize=maximize)
    r2, c2 = linear_sum_assignment(C, maximize=maximize)
    check_assignment(r2, c2, n, n)
    assert float(C[r2, c2].astype(np.float64).sum()) == pytest.approx(
        float(C[r1, c1].astype(np.float64).sum()), rel=1e-6
    )


def test_empty_and_degenerate_shapes():
    for shape in [(0, 0), (0, 3), (3, 0)]:
        r, c = linear_sum_assignment(np.zeros(shape))
        assert r.size == c.size == 0 and r.dtype == np.int64
    r, c = linear_sum_assignment([[3.0]])
    assert r.tolist() == [0] and c.tolist() == [0]
    r, c = linear_sum_assignment(np.array([[True, False], [False, True]]))
    assert c.tolist() == [1, 0]


def test_forbidden_cells_documented_example():
    r, c = linear_sum_assignment(np.array([[1, np.inf], [2, np.inf]]))
    assert r.tolist() == [0] and c.tolist() == [0]
    r, c = linear_sum_assignment(np.array([[5, np.inf], [1, np.inf]]))
    assert r.tolist() == [1] and c.tolist() == [0]
    r, c = linear_sum_assignment(np.array([[-np.inf, 3.0], [1.0, 2.0]]), maximize=True)
    assert r.tolist() == [0, 1] and c.tolist() == [1, 0]
    r, c = linear_sum_assignment(np.full((3, 2), np.inf))
    assert r.size == 0


def test_forbidden_cells_brute_force():
    rng = np.random.default_rng(3)
    for _trial in range(150):
        n1, n2 = rng.integers(1, 5, 2)
        C = rng.integers(-3, 6, (n1, n2)).astype(float)
        C[rng.random((n1, n2)) < 0.45] = np.inf
        card, cost = brute_force(C)
        r, c = linear_sum_assignment(C)
        check_assignment(r, c, n1, n2)
        assert np.all(np.isfinite(C[r, c]))
        assert r.size == card
        assert C[r, c].sum() == pytest.approx(cost)


def test_unmatched_cost_brute_force():
    rng = np.random.default_rng(4)
    for trial in range(150):
        n1, n2 = rng.integers(1, 5, 2)
        C = rng.integers(0, 10, (n1, n2)).astype(float)
        if trial % 2:
            C[rng.random((n1, n2)) < 0.3] = np.inf
        u = rng.integers(0, 8, n1).astype(float)
        _, cost = brute_force(C, u)
        r, c = linear_sum_assignment(C, unmatched_cost=u)
        check_assignment(r, c, n1, n2)
        free = np.setdiff1d(np.arange(n1), r)
        assert C[r, c].sum() + u[free].sum() == pytest.approx(cost)
        # maximising similarities with a threshold is the same problem negated
        r2, c2 = linear_sum_assignment(-C, maximize=True, unmatched_cost=-u)
        free2 = np.setdiff1d(np.arange(n1), r2)
        assert C[r2, c2].sum() + u[free2].sum() == pytest.approx(cost)


def test_scalar_unmatched_cost_threshold_semantics():
    S = np.array([[0.9, 0.1], [0.2, 0.3]])
    r, c = linear_sum_assignment(S, maximize=True, unmatched_cost=0.5)
    assert r.tolist() == [0] and c.tolist() == [0]
    r, c = linear_sum_assignment(S, maximize=True, unmatched_cost=0.0)
    assert r.tolist() == [0, 1]


def test_validation_errors_name_the_pair():
    C = np.ones((3, 3))
    C[1, 2] = np.nan
    with pytest.raises(InputError, match=r"row 1 \(b\) / column 2 \(z\)"):
        linear_sum_assignment(C, row_names=["a", "b", "c"], col_names=["x", "y", "z"])
    with pytest.raises(InputError, match=r"row 1 / column 2"):
        linear_sum_assignment(C)
    with pytest.raises(InputError, match="-inf"):
        linear_sum_assignment(np.array([[1.0, -np.inf]]))
    with pytest.raises(InputError, match="inf"):
        linear_sum_assignment(np.array([[1.0, np.inf]]), maximize=True)
    with pytest.raises(InputError, match="2-D"):
        linear_sum_assignment(np.ones(3))
    with pytest.raises(InputError, match="real numbers"):
        linear_sum_assignment(np.array([["a", "b"]]))
    with pytest.raises(InputError, match="real numbers"):
        linear_sum_assignment(np.ones((2, 2), dtype=complex))
    with pytest.raises(InputError, match="finite"):
        linear_sum_assignment(np.ones((2, 2)), unmatched_cost=np.inf)
    with pytest.raises(InputError, match="row_names"):
        linear_sum_assignment(np.ones((2, 2)), row_names=["a"])
    assert issubclass(InputError, ValueError)


def test_dense_permutation_equivariant():
    rng = np.random.default_rng(5)
    C = rng.random((40, 55))
    p, q = rng.permutation(40), rng.permutation(55)
    r, c = linear_sum_assignment(C)
    r2, c2 = linear_sum_assignment(C[p][:, q])
    assert {(int(p[a]), int(q[b])) for a, b in zip(r2, c2)} == set(zip(r.tolist(), c.tolist()))


# ------------------------------------------------------------------ top-k candidates
def test_topk_exact_against_full_sort():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((37, 8)).astype(np.float32)
    B = rng.standard_normal((53, 8)).astype(np.float32)
    full = A @ B.T
    for k in [1, 5, 53, 80]:
        S = topk_candidates(A, B, k, block_size=7)
        assert S.shape == (37, 53) and S.dtype == np.float32 and isinstance(S, sp.csr_matrix)
        kk = min(k, 53)
        for i in range(37):
            cols = S.indices[S.indptr[i] : S.indptr[i + 1]]
            assert cols.size == kk and np.all(np.diff(cols) > 0)
            expect = np.sort(full[i])[::-1][:kk]
            np.testing.assert_allclose(
                np.sort(S.data[S.indptr[i] : S.indptr[i + 1]])[::-1], expect, rtol=1e-5, atol=1e-6
            )
            assert set(cols.tolist()) == set(np.argsort(-full[i], kind="stable")[:kk].tolist())


def test_topk_ties_go_to_smaller_columns_and_backends_agree():
    A = np.ones((3, 2), dtype=np.float32)
    B = np.ones((6, 2), dtype=np.float32)
    S = topk_candidates(A, B, 2)
    for i in range(3):
        assert S.indices[S.indptr[i] : S.indptr[i + 1]].tolist() == [0, 1]
    rng = np.random.default_rng(7)
    A = rng.standard_normal((20, 4))
    B = rng.standard_normal((30, 4))
    S1 = topk_candidates(A, B, 4, backend="numpy")
    S2 = topk_candidates(A, B, 4, backend="torch", block_size=3)
    np.testing.assert_array_equal(S1.indices, S2.indices)
    np.testing.assert_allclose(S1.data, S2.data, rtol=1e-5)
    assert topk_candidates(A, B, 0).nnz == 0
    with pytest.raises(InputError):
        topk_candidates(A, B[:, :3], 2)
    with pytest.raises(InputError):
        topk_candidates(A, B, 2, backend="gpu")
    A[2, 1] = np.nan
    with pytest.raises(InputError, match="row 2"):
        topk_candidates(A, B, 2)


# ------------------------------------------------------------------ sparse auction
def random_sparse(rng, n1, n2, density, grid=True):
    S = sp.random(n1, n2, density=density, random_state=rng, format="csr")
    if grid:
        S.data = np.round(S.data * 64) / 64 + 1 / 64  # exact binary grid, nonzero
    return S


def lap_value(S, t):
    """Optimum of the partial problem by our dense LAP on the complete matrix (absent = forbidden)."""
    D = S.toarray()
    mask = np.zeros(S.shape, dtype=bool)
    mask[S.nonzero()] = True
    D = np.where(mask, D, -np.inf)
    r, c = linear_sum_assignment(D, maximize=True, unmatched_cost=t)
    free = np.setdiff1d(np.arange(S.shape[0]), r)
    return D[r, c].sum() + t[free].sum()


def test_auction_exact_matches_lap_with_thresholds_and_empty_rows():
    rng = np.random.default_rng(8)
    for trial in range(40):
        n1, n2 = rng.integers(1, 40, 2)
        S = random_sparse(rng, n1, n2, rng.uniform(0.05, 0.5))
        t = None if trial % 2 else rng.uniform(0, 1, n1).round(3)
        res = auction(S, exact=True, unmatched_value=t)
        check_assignment(res.rows, res.cols, n1, n2)
        assert np.all(S[res.rows, res.cols].A1 != 0)  # only candidate pairs
        assert res.objective == pytest.approx(lap_value(S, res.unmatched_value), abs=1e-9)
        assert res.dual_bound >= res.objective - 1e-9
        approx = auction(S, unmatched_value=t, epsilon=1e-3)
        opt = lap_value(S, approx.unmatched_value)
        assert opt - n1 * 1e-3 - 1e-9 <= approx.objective <= opt + 1e-9
        assert -1e-9 <= approx.gap <= n1 * approx.epsilon + 1e-9
        assert approx.dual_bound >= opt - 1e-9


def test_auction_against_scipy_full_sparse_matching():
    rng = np.random.default_rng(9)
    for n in [5, 30, 120]:
        perm = rng.permutation(n)
        S = random_sparse(rng, n, n, 0.1).tolil()
        S[np.arange(n), perm] = rng.integers(1, 64, n) / 64  # a perfect matching exists
        S = S.tocsr()
        r, c = min_weight_full_bipartite_matching(S, maximize=True)
        best = S[r, c].sum()
        res = auction(S, exact=True)
        assert res.rows.size == n
        assert res.matched_similarity == pytest.approx(best, abs=1e-9)


def test_auction_contested_blocks_long_eviction_chains_match_scipy():
    # blocks of rows competing for the same few columns: many evictions, so evicted rows wait
    # in the re-bid slots while queue rows keep bidding; exact mode must still be optimal
    rng = np.random.default_rng(21)
    n, block = 1200, 40
    rows, cols, vals = [], [], []
    for s in range(0, n, block):
        for i in range(s, s + block):
            c = s + rng.choice(block, 6, replace=False)
            rows += [i] * 6
            cols += c.tolist()
            vals += (0.5 + rng.integers(0, 64, 6) / 256).tolist()  # near ties: long price wars
        perm = s + rng.permutation(block)
        rows += list(range(s, s + block))
        cols += perm.tolist()
        vals += [0.25] * block  # a perfect matching exists
    S = sp.coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsr()
    S.sum_duplicates()
    r, c = min_weight_full_bipartite_matching(S, maximize=True)
    res = auction(S, exact=True)
    assert res.n_bids > 2 * n
    assert res.rows.size == n
    assert res.matched_similarity == pytest.approx(S[r, c].sum(), abs=1e-9)
    approx = auction(S)
    assert S[r, c].sum() - n * approx.epsilon - 1e-9 <= approx.matched_similarity <= S[r, c].sum() + 1e-9


def test_auction_bid_cap_raises_solver_error():
    rng = np.random.default_rng(22)
    S = random_sparse(rng, 200, 200, 0.2)
    assert auction(S, exact=True).n_bids > 50
    with pytest.raises(SolverError, match="auction"):
        auction(S, exact=True, max_bids=50)


def test_auction_rows_without_candidates_and_abstention():
    S = sp.csr_matrix(np.array([[0.0, 0.0], [0.9, 0.1], [0.8, 0.0]]))
    res = auction(S, exact=True)
    assert res.rows.tolist() == [1, 2] and res.cols.tolist() == [1, 0]
    res = auction(S, exact=True, unmatched_value=0.5)
    assert res.rows.tolist() == [1] and res.cols.tolist() == [0]
    empty = auction(sp.csr_matrix((4, 0)))
    assert empty.rows.size == 0
    res = auction(sp.csr_matrix((0, 3)))
    assert res.rows.size == 0


def test_auction_exact_rounds_arbitrary_floats_within_bound():
    rng = np.random.default_rng(10)
    S = sp.random(60, 70, density=0.3, random_state=rng, format="csr")
    res = auction(S, exact=True)
    opt = lap_value(S, res.unmatched_value)
    assert opt - 61 * 2.0**-30 <= res.objective <= opt + 1e-12
    assert res.dual_bound >= opt - 1e-9


def test_auction_permutation_invariant_exact():
    rng = np.random.default_rng(11)
    S = random_sparse(rng, 50, 60, 0.2)
    S.data = S.data + rng.integers(0, 2**20, S.nnz) / 2**30  # distinct values: unique optimum
    p, q = rng.permutation(50), rng.permutation(60)
    a = auction(S, exact=True)
    b = auction(S[p][:, q], exact=True)
    assert {(int(p[i]), int(q[j])) for i, j in zip(b.rows, b.cols)} == set(zip(a.rows.tolist(), a.cols.tolist()))
    # deterministic
    c = auction(S, exact=False)
    d = auction(S, exact=False)
    np.testing.assert_array_equal(c.cols, d.cols)


def test_auction_validation():
    S = sp.csr_matrix(np.array([[1.0, 2.0]]))
    S.data[1] = np.nan
    with pytest.raises(InputError, match="row 0 / column 1"):
        auction(S)
    dup = sp.csr_matrix((np.array([1.0, 2.0]), np.array([0, 0]), np.array([0, 2])), shape=(1, 2))
    with pytest.raises(InputError, match="twice"):
        auction(dup)
    with pytest.raises(InputError):
        auction(sp.csr_matrix(np.eye(2)), epsilon=-1)
    with pytest.raises(InputError):
        auction(sp.csr_matrix(np.eye(2)), unmatched_value=[1.0, 2.0, 3.0])
    unsorted = sp.csr_matrix((np.array([1.0, 3.0]), np.array([1, 0]), np.array([0, 2])), shape=(1, 2))
    assert auction(unsorted, exact=True).cols.tolist() == [0]


# ------------------------------------------------------------------ refinement and ranking
def objective(S, rows, cols):
    return float(np.asarray(S[rows, cols]).sum())


def test_refine_never_worse_and_two_opt_dense():
    rng = np.random.default_rng(12)
    for _trial in range(20):
        n1, n2 = rng.integers(2, 30, 2)
        S = rng.random((n1, n2))
        for start in (greedy_matching(S), mutual_nearest(S)):
            r, c = refine(S, *start)
            check_assignment(r, c, n1, n2)
            assert objective(S, r, c) >= objective(S, *start) - 1e-12
            assert r.size >= start[0].size  # moves never drop rows without unmatched_value
            x = dict(zip(r.tolist(), c.tolist()))
            taken = set(c.tolist())
            for i, k in itertools.combinations(list(x), 2):  # no improving exchange left
                assert S[i, x[k]] + S[k, x[i]] - S[i, x[i]] - S[k, x[k]] <= 1e-9
            for i in x:  # no improving move to a free column
                free = [j for j in range(n2) if j not in taken]
                assert all(S[i, j] <= S[i, x[i]] + 1e-9 for j in free)


def test_refine_sparse_and_optimal_input_is_fixed_point():
    rng = np.random.default_rng(13)
    S = random_sparse(rng, 40, 40, 0.2)
    res = auction(S, exact=True)
    r, c = refine(S, res.rows, res.cols)
    assert objective(S, r, c) == pytest.approx(res.matched_similarity)
    g = greedy_matching(S)
    r2, c2 = refine(S, *g, unmatched_value=0.0)
    assert objective(S, r2, c2) >= objective(S, *g) - 1e-12
    assert np.all(S[r2, c2].A1 != 0)
    with pytest.raises(InputError, match="not stored"):
        absent = np.argwhere(S.toarray() == 0)[0]
        refine(S, [absent[0]], [absent[1]])
    with pytest.raises(InputError, match="twice"):
        refine(S, [0, 1], [3, 3])


def test_rank_alternatives_dense_against_reference():
    rng = np.random.default_rng(14)
    S = rng.random((12, 15))
    r, c = linear_sum_assignment(S, maximize=True)
    R = rank_alternatives(S, r, c, 6)
    assert R.shape == (12, 6) and R.dtype == np.int64
    pi = dict(zip(r.tolist(), c.tolist()))
    owner = {j: i for i, j in pi.items()}
    for i in range(12):
        assert R[i, 0] == pi[i]
        gains = {}
        for j in range(15):
            if j == pi[i]:
                continue
            k = owner.get(j)
            gains[j] = S[i, j] - S[i, pi[i]] + (0 if k is None else S[k, pi[i]] - S[k, j])
        expect = sorted(gains, key=lambda j: (-gains[j], -S[i, j], j))[:5]
        assert R[i, 1:].tolist() == expect
        assert max(gains.values()) <= 1e-12  # optimal matching: no improving exchange
    R = rank_alternatives(S[:3], [], [], 20)
    assert np.all(R[:, 15:] == -1) and sorted(R[0, :15].tolist()) == list(range(15))


def test_rank_alternatives_sparse_hits_at_k():
    rng = np.random.default_rng(15)
    n = 60
    X = rng.standard_normal((n, 8)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    perm = rng.permutation(n)
    Y = X[perm] + 0.2 * rng.standard_normal((n, 8)).astype(np.float32)
    S = topk_candidates(X, Y, 10)
    res = auction(S)
    R = rank_alternatives(S, res.rows, res.cols, 10)
    gold = np.argsort(perm)  # X[i] == Y[gold[i]] before noise
    for i in range(n):
        row = R[i][R[i] >= 0]
        assert set(row.tolist()) <= set(S.indices[S.indptr[i] : S.indptr[i + 1]].tolist())
        assert len(set(row.tolist())) == row.size
    hits10 = np.mean([gold[i] in R[i] for i in range(n)])
    assert hits10 >= np.mean(res.cols == gold[res.rows]) * res.rows.size / n  # Hits@10 >= Hits@1


# ------------------------------------------------------------------ baselines
def greedy_reference(S):
    n1, n2 = S.shape
    order = sorted((-S[i, j], i, j) for i in range(n1) for j in range(n2))
    used_r, used_c, out = set(), set(), {}
    for _, i, j in order:
        if i not in used_r and j not in used_c:
            used_r.add(i)
            used_c.add(j)
            out[i] = j
    return out


def test_greedy_and_mutual_nearest_against_reference():
    rng = np.random.default_rng(16)
    for n1, n2 in [(1, 1), (5, 8), (20, 20), (30, 12), (40, 50)]:
        S = rng.integers(0, 6, (n1, n2)).astype(float) if n1 == 20 else rng.random((n1, n2))
        r, c = greedy_matching(S)
        assert dict(zip(r.tolist(), c.tolist())) == greedy_reference(S)
        rs, cs = greedy_matching(sp.csr_matrix(S + 1.0))
        assert dict(zip(rs.tolist(), cs.tolist())) == greedy_reference(S)
        r, c = mutual_nearest(S)
        bc, br = S.argmax(axis=1), S.argmax(axis=0)
        expect = {i: int(bc[i]) for i in range(n1) if br[bc[i]] == i}
        assert dict(zip(r.tolist(), c.tolist())) == expect
        r2, c2 = mutual_nearest(sp.csr_matrix(S + 1.0))
        assert dict(zip(r2.tolist(), c2.tolist())) == expect
