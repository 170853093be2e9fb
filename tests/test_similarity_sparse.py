"""Sparse (candidate-graph) similarity: on a complete candidate graph every view, CSLS and
self-training equal the dense computation; on a partial one only candidate pairs are stored."""

import numpy as np
import pytest
import scipy.sparse as sp
from test_similarity import _pair

from kgalign.aligner.selftrain import confident_pairs, confident_pairs_sparse, self_train, self_train_sparse
from kgalign.aligner.similarity import compute_similarity, csls, csls_sparse, use_sparse
from kgalign.aligner.views.strings import pair_dot
from kgalign.config import AlignConfig, SelftrainConfig
from kgalign.errors import InputError


def _cfg(mode, candidates=50, selftrain=True, **sim):
    return AlignConfig.from_dict(
        {"similarity": {"mode": mode, "topk": candidates, **sim}, "selftrain": {"enabled": selftrain, "margin": 0.0}}
    )


def test_pair_dot_equals_the_product_at_the_pairs():
    rng = np.random.default_rng(0)
    X1 = sp.random(30, 50, density=0.2, format="csr", random_state=1, dtype=np.float32)
    X2 = sp.random(40, 50, density=0.2, format="csr", random_state=2, dtype=np.float32)
    r, c = rng.integers(0, 30, 500), rng.integers(0, 40, 500)
    np.testing.assert_allclose(pair_dot(X1, X2, r, c, chunk=64), (X1 @ X2.T).toarray()[r, c], rtol=1e-5, atol=1e-6)


def test_csls_sparse_on_a_complete_graph_is_csls():
    S = np.random.default_rng(1).standard_normal((20, 30)).astype(np.float32)
    np.testing.assert_allclose(csls_sparse(sp.csr_matrix(S), 4).toarray(), csls(S.copy(), 4), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", range(4))
def test_confident_pairs_sparse_on_a_complete_graph(seed):
    S = np.random.default_rng(seed).random((25, 18)).astype(np.float32)
    S[S < 0.1] = 0.05  # ties between rows and within rows
    for margin in (0.0, 0.05):
        a = confident_pairs(S, margin)
        b = confident_pairs_sparse(sp.csr_matrix(S), margin)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def _confident_reference(S, margin):
    """The docstring's rules, entry by entry on the stored pairs."""
    S = S.tocsr()
    cols_best, gaps, rows_best = {}, {}, {}
    for i in range(S.shape[0]):
        seg = sorted(zip(-S.data[S.indptr[i] : S.indptr[i + 1]], S.indices[S.indptr[i] : S.indptr[i + 1]]))
        if seg:
            cols_best[i] = seg[0][1]
            gaps[i] = seg[1][0] - seg[0][0] if len(seg) > 1 else np.inf
    from kgalign.aligner.selftrain import TIE_TOL

    T = S.tocsc()
    tied = set()  # columns whose best another stored row comes within TIE_TOL of
    for j in range(S.shape[1]):
        seg = sorted(zip(-T.data[T.indptr[j] : T.indptr[j + 1]], T.indices[T.indptr[j] : T.indptr[j + 1]]))
        if seg:
            rows_best[j] = seg[0][1]
            if len(seg) > 1 and seg[1][0] - seg[0][0] <= TIE_TOL:
                tied.add(j)
    rows = [
        i for i in sorted(cols_best) if rows_best[cols_best[i]] == i and cols_best[i] not in tied and gaps[i] > margin
    ]
    return np.array(rows, np.int64), np.array([cols_best[i] for i in rows], np.int64)


@pytest.mark.parametrize("seed", range(6))
def test_confident_pairs_sparse_with_missing_pairs_and_ties_at_the_top(seed):
    rng = np.random.default_rng(seed)
    S = np.round(rng.random((40, 30)), 1).astype(np.float32) + 0.1  # few distinct values: ties everywhere
    S[rng.random(S.shape) < 0.6] = 0  # an incomplete candidate graph (some rows empty)
    S[3] = 0
    G = sp.csr_matrix(S)
    for margin in (0.0, 0.05, 0.15):
        got = confident_pairs_sparse(G, margin)
        want = _confident_reference(G, margin)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_self_train_sparse_on_a_complete_graph_is_self_train():
    kg1, kg2, e1, e2, n1, n2, _ = _pair(seed=3)
    base = (e1 @ e2.T).astype(np.float32)
    cfg = SelftrainConfig(margin=0.0, rounds=2)
    src = tgt = np.arange(8)
    dense, di = self_train(base, kg1, kg2, src, tgt, cfg)
    sparse, si = self_train_sparse(sp.csr_matrix(base), kg1, kg2, src, tgt, cfg)
    assert di.confident == si.confident and di.rounds == si.rounds > 0
    np.testing.assert_allclose(sparse.toarray(), dense, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("csls_k", [0, 3])
def test_sparse_mode_with_all_candidates_equals_dense_mode(csls_k):
    kg1, kg2, e1, e2, n1, n2, _ = _pair(seed=4)
    src, tgt = np.arange(8), np.arange(8)[::-1].copy()
    dense, dinfo = compute_similarity(kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg("dense", csls=csls_k), return_info=True)
    sparse, sinfo = compute_similarity(
        kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg("sparse", candidates=8, csls=csls_k), return_info=True
    )
    assert sp.issparse(sparse) and sparse.nnz == 64 and sinfo["mode"] == "sparse" and dinfo["mode"] == "dense"
    assert sinfo["views"] == dinfo["views"] and sinfo["total_weight"] == dinfo["total_weight"]
    np.testing.assert_allclose(sparse.toarray(), dense, rtol=1e-4, atol=1e-5)


def test_sparse_mode_stores_only_candidates():
    kg1, kg2, e1, e2, n1, n2, _ = _pair(seed=5)
    src = tgt = np.arange(8)
    dense = compute_similarity(kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg("dense", selftrain=False))
    S = compute_similarity(kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg("sparse", candidates=2, selftrain=False))
    assert S.nnz <= 2 * 8 * 2
    assert np.all(np.diff(S.indptr) >= 2)  # every row keeps at least its k candidates
    r, c = S.nonzero()
    np.testing.assert_allclose(S.toarray()[r, c], dense[r, c], rtol=1e-4, atol=1e-5)


def test_mode_choice_and_config_errors():
    cfg = AlignConfig().similarity
    assert not use_sparse(cfg, 15_000, 15_000) or cfg.sparse_above < 15_000**2
    assert use_sparse(cfg.replace(mode="sparse"), 2, 2) and not use_sparse(cfg.replace(mode="dense"), 10**6, 10**6)
    assert use_sparse(cfg.replace(mode="auto", sparse_above=10), 4, 4)
    with pytest.raises(InputError, match="mode"):
        AlignConfig.from_dict({"similarity": {"mode": "blocked"}})
    kg1, kg2, e1, e2, n1, n2, _ = _pair()
    with pytest.raises(InputError, match="names or structure"):
        compute_similarity(
            kg1,
            kg2,
            e1,
            e2,
            n1,
            n2,
            np.arange(8),
            np.arange(8),
            AlignConfig.from_dict({"similarity": {"mode": "sparse", "names": 0.0, "structure": []}}),
        )
