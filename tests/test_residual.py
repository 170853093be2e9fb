"""Residual re-solve of the sparse path: the pair scorer reproduces the candidate graph's
values, and the re-solve repairs what a too-small candidate graph loses."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment as scipy_lsa
from test_similarity import _pair

from kgalign.aligner.scorer import PairScorer
from kgalign.aligner.similarity import compute_similarity
from kgalign.config import AlignConfig
from kgalign.matching import auction as sparse_auction
from kgalign.matching.residual import resolve_residual, uncertain_rows


def _cfg(mode, k, csls=0, selftrain=True):
    return AlignConfig.from_dict(
        {"similarity": {"mode": mode, "topk": k, "csls": csls}, "selftrain": {"enabled": selftrain, "margin": 0.0}}
    )


@pytest.mark.parametrize("csls_k,selftrain", [(0, False), (3, True), (0, True)])
def test_scorer_reproduces_the_stored_pairs_and_the_dense_matrix(csls_k, selftrain):
    kg1, kg2, e1, e2, n1, n2, _ = _pair(seed=6)
    src, tgt = np.arange(8), np.arange(8)[::-1].copy()
    # partial graph: every stored value is what the scorer gives for that pair
    S, info, scorer = compute_similarity(
        kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg("sparse", 2, csls_k, selftrain), return_info=True, return_scorer=True
    )
    assert S.nnz < 64 and isinstance(scorer, PairScorer)
    r = np.repeat(np.arange(8), np.diff(S.indptr))
    np.testing.assert_allclose(scorer.pairs(r, S.indices), S.data, rtol=1e-5, atol=1e-6)
    block = scorer.block(np.arange(8), np.arange(8))
    np.testing.assert_allclose(block[r, S.indices], S.data, rtol=1e-5, atol=1e-6)
    rr, cc = np.divmod(np.arange(64), 8)
    np.testing.assert_allclose(scorer.pairs(rr, cc), block.ravel(), rtol=1e-5, atol=1e-6)
    # complete graph: the scorer's block is the dense similarity
    dense = compute_similarity(kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg("dense", 8, csls_k, selftrain))
    _, _, full = compute_similarity(
        kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg("sparse", 8, csls_k, selftrain), return_info=True, return_scorer=True
    )
    np.testing.assert_allclose(full.block(np.arange(8), np.arange(8)), dense, rtol=1e-4, atol=1e-5)


def test_dense_mode_has_no_scorer():
    kg1, kg2, e1, e2, n1, n2, _ = _pair(seed=6)
    got = compute_similarity(kg1, kg2, e1, e2, n1, n2, np.arange(8), np.arange(8), _cfg("dense", 2), return_scorer=True)
    assert len(got) == 2 and got[1] is None


def _problem(n, seed, k):
    """An alignment-like matrix, its top-k candidate graph and a scorer of the full matrix."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 8)).astype(np.float32)
    Y = X[rng.permutation(n)] + 0.9 * rng.standard_normal((n, 8)).astype(np.float32)
    D = X @ Y.T
    idx = np.argsort(-D, axis=1, kind="stable")[:, :k]
    keep = np.zeros_like(D, bool)
    np.put_along_axis(keep, idx, True, axis=1)
    S = sp.csr_matrix(np.where(keep, D, 0).astype(np.float32))
    return D, S, PairScorer(terms=[(1.0, X, Y)])


@pytest.mark.parametrize("seed", range(5))
def test_residual_improves_the_assignment_and_moves_only_unsettled_rows(seed):
    D, S, scorer = _problem(60, seed, 2)
    res = sparse_auction(S, exact=True)
    r0, c0 = np.asarray(res.rows, np.int64), np.asarray(res.cols, np.int64)
    S2, r, c, info = *resolve_residual(S, r0, c0, scorer.block, 10**9, info := {}), info
    ro, co = scipy_lsa(D, maximize=True)
    assert len(np.unique(r)) == len(r) == len(np.unique(c))  # a matching
    before, after, best = D[r0, c0].sum(), D[r, c].sum(), D[ro, co].sum()
    assert after >= before - 1e-4 and after <= best + 1e-4
    # settled rows keep their partners; every new pair is stored with its score
    unassigned = np.setdiff1d(np.arange(60), r0)
    owner = dict(zip(c0.tolist(), r0.tolist()))
    rivals = {owner[j] for i in unassigned for j in S.indices[S.indptr[i] : S.indptr[i + 1]] if j in owner}
    settled = np.setdiff1d(np.setdiff1d(r0, uncertain_rows(S, r0, c0)), list(rivals))
    assert len(settled) > 0
    assert all(dict(zip(r, c))[i] == dict(zip(r0, c0))[i] for i in settled)
    np.testing.assert_allclose(np.asarray(S2[r, c]).ravel(), D[r, c], rtol=1e-5, atol=1e-5)
    assert info["residual"]["rows"] > 0 and info["residual"]["gain"] >= 0


def test_residual_recovers_more_than_the_candidate_graph_on_average():
    gains = []
    for seed in range(8):
        D, S, scorer = _problem(80, seed, 2)
        res = sparse_auction(S, exact=True)
        r0, c0 = np.asarray(res.rows, np.int64), np.asarray(res.cols, np.int64)
        _, r, c = resolve_residual(S, r0, c0, scorer.block, 10**9)
        gains.append(D[r, c].sum() - D[r0, c0].sum())
    assert min(gains) >= -1e-4 and np.mean(gains) > 0


def test_residual_off_and_budget():
    D, S, scorer = _problem(60, 1, 2)
    res = sparse_auction(S, exact=True)
    r0, c0 = np.asarray(res.rows, np.int64), np.asarray(res.cols, np.int64)
    S2, r, c = resolve_residual(S, r0, c0, scorer.block, 0)
    assert S2 is S and np.array_equal(r, r0) and np.array_equal(c, c0)
    info: dict = {}
    resolve_residual(S, r0, c0, scorer.block, 100, info)
    assert info["residual"]["rows"] * info["residual"]["cols"] <= 100


def test_an_unassigned_row_competes_for_its_candidates_and_free_columns():
    # rows 0 and 1 both have column 0 as their only candidate; column 1 is nobody's candidate
    D = np.array([[0.9, 0.1, 0.0], [0.8, 0.7, 0.0], [0.0, 0.0, 0.9]], np.float32)
    S = sp.csr_matrix(np.array([[0.9, 0, 0], [0.8, 0, 0], [0, 0, 0.9]], np.float32))
    scorer = PairScorer(terms=[(1.0, D, np.eye(3, dtype=np.float32))])
    _, r, c = resolve_residual(S, np.array([0, 2]), np.array([0, 2]), scorer.block, 100)
    assert dict(zip(r.tolist(), c.tolist())) == {0: 0, 1: 1, 2: 2}


def test_residual_reaches_free_columns_of_a_wider_graph():
    """Every row assigned, more columns than rows: the block includes the free candidates of the
    uncertain rows, so a better free column is taken."""
    D = np.array([[0.5, 0.0, 0.9], [0.0, 0.6, 0.1]], np.float32)  # row 0 prefers free column 2
    S = sp.csr_matrix(D)
    scorer = PairScorer(terms=[(1.0, D, np.eye(3, dtype=np.float32))])
    _, r, c = resolve_residual(S, np.array([0, 1]), np.array([0, 1]), scorer.block, 100)
    assert dict(zip(r.tolist(), c.tolist())) == {0: 2, 1: 1}


def test_residual_rejects_what_is_not_a_matching():
    from kgalign.errors import InputError

    D, S, scorer = _problem(10, 0, 2)
    with pytest.raises(InputError, match="not a matching"):
        resolve_residual(S, np.array([0, 1]), np.array([3, 3]), scorer.block, 100)
    with pytest.raises(InputError, match="one length"):
        resolve_residual(S, np.array([0, 1]), np.array([3]), scorer.block, 100)
    with pytest.raises(InputError, match="returned shape"):
        resolve_residual(S, np.array([0, 1]), np.array([5, 6]), lambda U, R: np.zeros((1, 1)), 100)
