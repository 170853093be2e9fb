"""Matching that looks at the problem (work-budgeted exact solver + fallback), two-sided
candidate graphs and partitioned matching; scipy and brute force are the oracles."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment as scipy_lsa

from kgalign import _core
from kgalign.errors import InputError
from kgalign.matching import auction
from kgalign.matching._status import Status
from kgalign.matching.adaptive import solve_dense
from kgalign.matching.candidates import topk_both
from kgalign.matching.partition import partition_graph, partitioned_auction


def _alignment_like(n1, n2, seed=0, noise=0.3, dim=16):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((max(n1, n2), dim))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y = X[rng.permutation(len(X))] + noise * rng.standard_normal(X.shape)
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    return (X[:n1] @ Y[:n2].T).astype(np.float32)


def _is_matching(rows, cols):
    return len(np.unique(rows)) == len(rows) and len(np.unique(cols)) == len(cols)


def test_budget_stops_with_a_valid_partial_matching():
    S = np.random.default_rng(1).random((300, 300)).astype(np.float32)
    out = np.full(300, -1, np.int64)
    status, _, _ = _core.lap_dense_f32(S, True, None, out, 1000)
    assert status == Status.ITERATION_LIMIT
    m = out[out >= 0]
    assert len(np.unique(m)) == len(m) and 0 < len(m) < 300
    out2 = np.full(300, -1, np.int64)
    assert _core.lap_dense_f32(S, True, None, out2, -1)[0] == Status.OK  # no budget: solved


@pytest.mark.parametrize("shape", [(120, 120), (80, 130), (130, 80)])
def test_exact_branch_is_scipy_optimal(shape):
    S = _alignment_like(*shape, seed=2)
    got = solve_dense(S)
    assert got.method == "dense"
    r, c = scipy_lsa(S, maximize=True)
    assert len(got.rows) == len(r)
    np.testing.assert_allclose(S[got.rows, got.cols].sum(), S[r, c].sum(), rtol=1e-6)


@pytest.mark.parametrize("kind", ["uniform", "flat", "alignment"])
def test_fallback_is_a_full_matching_close_to_the_optimum(kind):
    rng = np.random.default_rng(3)
    n = 200
    S = {
        "uniform": rng.random((n, n)),
        "flat": 0.5 + 1e-3 * rng.random((n, n)),
        "alignment": _alignment_like(n, n, seed=3),
    }[kind].astype(np.float32)
    got = solve_dense(S, work_per_cell=1e-3, min_work=1, topk=20)
    assert got.method == "sparse-fallback"
    assert len(got.rows) == n and _is_matching(got.rows, got.cols)
    r, c = scipy_lsa(S, maximize=True)
    opt = float(S[r, c].sum(dtype=np.float64))
    val = float(S[got.rows, got.cols].sum(dtype=np.float64))
    assert val <= opt + 1e-3
    spread = float(S.max() - S.min())
    if kind == "alignment":  # the optimum lies in the top-20 graph: the auction finds it
        assert val >= opt - n * 1e-6 * spread - 1e-3
    else:
        assert val >= opt - 0.01 * n * spread


@pytest.mark.parametrize("kind", ["uniform", "flat", "alignment", "machol_wien"])
def test_fallback_does_not_depend_on_the_order_of_rows_and_columns(kind):
    """The fallback (two-sided top-k graph, exact-mode auction, residual re-solve) must give the
    same partners for a permuted presentation (the DBP15K permutation self-check); with a
    tiny top-k the residual step does real work. Machol-Wien takes the last resort (the exact
    solver's partial matching), which may depend on the order: only the objective is compared."""
    rng = np.random.default_rng(11)
    n = 150
    a = np.arange(n, dtype=np.float64) / n
    S = {
        "uniform": rng.random((n, n)),
        "flat": 0.5 + 1e-3 * rng.random((n, n)),
        "alignment": _alignment_like(n, n, seed=4, noise=0.8),
        "machol_wien": a[:, None] * a[None, :],
    }[kind].astype(np.float32)
    pr, pc = rng.permutation(n), rng.permutation(n)
    kw = dict(work_per_cell=1e-3, min_work=1, topk=3)
    a0 = solve_dense(S, **kw)
    a1 = solve_dense(np.ascontiguousarray(S[pr][:, pc]), **kw)
    assert a0.method == a1.method == "sparse-fallback"
    assert len(a0.rows) == len(a1.rows) == n and _is_matching(a1.rows, a1.cols)
    r, c = scipy_lsa(S, maximize=True)
    opt = float(S[r, c].sum(dtype=np.float64))
    if kind == "machol_wien":  # top-3 lists all hold the same columns: the completion decides
        assert a0.info["completed_with_partial"] and a1.info["completed_with_partial"]
        return
    for got, P, Q in ((a0, np.arange(n), np.arange(n)), (a1, pr, pc)):
        assert float(S[P[got.rows], Q[got.cols]].sum(dtype=np.float64)) >= opt - 0.005 * abs(opt)
    assert a0.info["residual"]["rows"] > 0
    np.testing.assert_array_equal(pc[a1.cols][np.argsort(pr[a1.rows])], a0.cols)


@pytest.mark.parametrize("case", ["column", "most_columns", "row"])
def test_fallback_with_forbidden_pairs_matches_the_exact_branch(case):
    """-inf marks a forbidden pair in both branches; a column or row of them must not break the
    fallback's candidate graph or its residual block (a user's report)."""
    S = np.random.default_rng(0).random((120, 200)).astype(np.float32)
    if case == "column":
        S[:, 3] = -np.inf
    elif case == "most_columns":
        S[:, :180] = -np.inf
    else:
        S[5] = -np.inf
    got = solve_dense(S, min_work=1, work_per_cell=0.01, topk=5)
    exact = solve_dense(S, work_per_cell=0)
    assert got.method == "sparse-fallback" and exact.method == "dense"
    assert np.isfinite(S[got.rows, got.cols]).all() and _is_matching(got.rows, got.cols)
    assert len(got.rows) == len(exact.rows)
    opt = float(S[exact.rows, exact.cols].sum(dtype=np.float64))
    assert float(S[got.rows, got.cols].sum(dtype=np.float64)) >= opt - 0.01 * abs(opt)


def test_solve_dense_names_a_nan():
    S = np.zeros((5, 5), np.float32)
    S[3, 1] = np.nan
    with pytest.raises(InputError, match="row 3 / column 1"):
        solve_dense(S)


def _brute_topk_both(A, B, k):
    P = A @ B.T
    n1, n2 = P.shape
    keep = np.zeros_like(P, dtype=bool)
    for i in range(n1):
        keep[i, np.lexsort((np.arange(n2), -P[i]))[:k]] = True
    for j in range(n2):
        keep[np.lexsort((np.arange(n1), -P[:, j]))[:k], j] = True
    return keep, P


@pytest.mark.parametrize("n1,n2,k,block", [(37, 23, 3, 8), (23, 37, 5, 4096), (10, 10, 20, 3)])
def test_topk_both_is_the_union_of_row_and_column_topk(n1, n2, k, block):
    rng = np.random.default_rng(n1 * n2)
    A = rng.standard_normal((n1, 6)).astype(np.float32)
    B = rng.standard_normal((n2, 6)).astype(np.float32)
    G = topk_both(A, B, k, block_size=block)
    keep, P = _brute_topk_both(A, B, k)
    np.testing.assert_array_equal(G.toarray() != 0, keep)
    r, c = G.nonzero()
    np.testing.assert_allclose(G.toarray()[r, c], P[r, c], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n1,n2,k,block", [(500, 40, 3, 64), (300, 7, 5, 1), (90, 300, 2, 4096)])
def test_topk_both_with_ties_and_compaction_keeps_the_smaller_index(n1, n2, k, block):
    """Integer inputs: exact products with many ties; more rows than the column buffer holds
    (4k or k + 64 entries), so the column side compacts many times across blocks."""
    rng = np.random.default_rng(n1 + n2 + k)
    A = rng.integers(-2, 3, (n1, 4)).astype(np.float32)
    B = rng.integers(-2, 3, (n2, 4)).astype(np.float32)
    G = topk_both(A, B, k, block_size=block)
    keep, P = _brute_topk_both(A, B, k)
    got = np.zeros_like(keep)
    got[np.repeat(np.arange(n1), np.diff(G.indptr)), G.indices] = True  # stored zeros count
    np.testing.assert_array_equal(got, keep)
    np.testing.assert_array_equal(G.toarray()[got], P[got])


def _candidate_graph(n, k, seed):
    S = _alignment_like(n, n, seed=seed, noise=0.5)
    return sp.csr_matrix(np.where(_topk_mask(S, k), S, 0))


def _topk_mask(S, k):
    idx = np.argsort(-S, axis=1)[:, :k]
    m = np.zeros(S.shape, bool)
    np.put_along_axis(m, idx, True, axis=1)
    return m


def test_partitioned_auction_whole_equals_auction():
    G = _candidate_graph(300, 8, 4)
    whole = partitioned_auction(G)
    ref = auction(G)
    assert whole.info["blocks"] == 1
    assert whole.objective >= ref.matched_similarity - 1e-4  # refinement never lowers it


@pytest.mark.parametrize("partitioner", ["metis", "fallback"])
def test_partitioned_auction_blocks_give_a_valid_matching_not_above_the_whole(partitioner):
    pytest.importorskip("pymetis") if partitioner == "metis" else None
    G = _candidate_graph(400, 8, 5)
    whole = partitioned_auction(G)
    part = partitioned_auction(G, block_rows=100, partitioner=partitioner)
    assert part.info["blocks"] >= 4 and part.info["partitioner"] == partitioner
    assert _is_matching(part.rows, part.cols)
    assert np.all(G[part.rows, part.cols].A1 != 0)  # only candidate pairs
    # the whole solve is within n * eps of the optimum, so no partition can beat it by more
    assert part.objective <= whole.objective + 400 * 1e-6 * 2 + 1e-3
    assert part.objective >= 0.9 * whole.objective


def test_components_are_solved_apart_without_loss():
    blocks = [_candidate_graph(60, 6, s) for s in range(4)]
    G = sp.block_diag(blocks, format="csr")
    whole = partitioned_auction(G)
    part = partitioned_auction(G, block_rows=70)  # every component fits; no partitioner runs
    assert part.info["components"] == 4 and part.info["cut_edges"] == 0 and part.info["partitioner"] == "none"
    assert abs(part.objective - whole.objective) <= 240 * 2e-6 * 2 + 1e-4


def test_partition_graph_covers_every_node():
    G = _candidate_graph(200, 5, 6)
    rp, cp, used = partition_graph(G, 4, partitioner="fallback")
    assert used == "fallback" and set(rp) == {0, 1, 2, 3} and cp.min() >= 0 and cp.max() <= 3
    with pytest.raises(InputError):
        partition_graph(G, 2, partitioner="kahip")
