"""Candidate search at scale (kgalign.aligner.candidates) and block matching (kgalign.aligner.sharded)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from kgalign.aligner.candidates import candidate_recall, search_candidates
from kgalign.aligner.sharded import match_blocks
from kgalign.errors import InputError
from kgalign.matching import auction, topk_candidates


def clustered(n, dim=16, seed=0, noise=0.05):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, dim)).astype(np.float32)
    B = A + noise * rng.standard_normal((n, dim)).astype(np.float32)
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    B /= np.linalg.norm(B, axis=1, keepdims=True)
    return A, B[rng.permutation(n)]


def test_exact_sharded_equals_topk_candidates():
    A, B = clustered(500)
    S = search_candidates(A, B, 5, method="exact", shard_rows=64)
    ref = topk_candidates(A, B, 5)
    # the same candidates; scores equal up to float32 rounding (faiss and numpy sum differently)
    assert ((S != 0) != (ref != 0)).nnz == 0 and S.nnz == 500 * 5
    np.testing.assert_allclose(S.toarray(), ref.toarray(), rtol=1e-5, atol=1e-6)
    assert candidate_recall(A, B, S, 5, sample=100)["recall_at_k"] == 1.0


@pytest.mark.parametrize("method", ["ivf", "hnsw"])
def test_approximate_search_recall_is_measured(method):
    pytest.importorskip("faiss")
    A, B = clustered(3000, seed=1)
    S = search_candidates(A, B, 10, method=method, nprobe=4, shard_rows=700)
    assert S.shape == (3000, 3000) and S.nnz <= 30000
    rec = candidate_recall(A, B, S, 10, sample=300, seed=2)
    assert rec["rows"] == 300 and 0.0 < rec["recall_at_k"] <= 1.0
    # values are the true inner products of the pairs found
    r, c = S.nonzero()
    np.testing.assert_allclose(
        S.data[np.lexsort((c, r))], np.einsum("ij,ij->i", A[r], B[c])[np.lexsort((c, r))], rtol=1e-4, atol=1e-5
    )
    # a crippled search (one IVF list visited among many) is caught by the recall
    if method == "ivf":
        low = candidate_recall(A, B, search_candidates(A, B, 10, method="ivf", nprobe=1, nlist=64), 10, sample=300)
        assert low["recall_at_k"] < rec["recall_at_k"]


def test_bad_arguments():
    A, B = clustered(10)
    with pytest.raises(InputError):
        search_candidates(A, B[:, :3], 2)
    with pytest.raises(InputError):
        search_candidates(A, B, 0)
    with pytest.raises(InputError):
        search_candidates(A, B, 2, method="lsh")


def test_block_matching_equals_whole_auction_on_block_diagonal_graph():
    rng = np.random.default_rng(3)
    blocks = [sp.random(40, 40, density=0.2, random_state=int(rng.integers(1 << 30)), format="csr") for _ in range(5)]
    S = sp.block_diag(blocks, format="csr").astype(np.float32)
    S.data = np.round(S.data * 64) / 64 + 1 / 64  # on a grid, > 0: the exact auction is optimal
    perm_r, perm_c = rng.permutation(200), rng.permutation(200)
    S = S[perm_r][:, perm_c]
    rows, cols, info = match_blocks(S, n_blocks=3, unmatched_value=0.0)
    assert info["blocks"] == 3 and info["components"] >= 5
    assert len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols)
    assert np.all(np.asarray(S[rows, cols]).ravel() > 0)
    whole = auction(S, exact=True, unmatched_value=0.0)
    blockwise = float(np.asarray(S[rows, cols]).sum())
    # each block is solved within n*epsilon; the optimum of the whole graph is the sum over blocks
    assert blockwise == pytest.approx(whole.matched_similarity, rel=1e-4)
