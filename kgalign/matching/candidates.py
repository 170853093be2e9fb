"""Two-sided exact top-k candidate graphs: each row's k best columns and each column's k best
rows, from one pass of blocked matrix products."""

from __future__ import annotations

import numpy as np

from kgalign.config import as_int
from kgalign.errors import InputError

__all__ = ["topk_both", "topk_both_matrix"]


def topk_both(A, B, k: int, *, block_size: int = 4096):
    """Union of the row-wise and column-wise exact top-k of ``A @ B.T`` as a CSR graph.

    A row i keeps its k best columns and a column j its k best rows (ties at the k-th value
    to the smaller index), so that an entity whose best partners are all claimed by others
    still has the candidates that prefer it: matching on the union loses much less than on
    the row-wise graph alone. One float32 product per block of rows of ``A`` serves both
    selections (the column side merges per-block top-k lists), so the cost is that of
    :func:`kgalign.matching.topk_candidates` plus the selections.

    Parameters
    ----------
    A : array_like, shape (n1, dim)
    B : array_like, shape (n2, dim)
    k : int
        Candidates per row and per column (``>= 1``).
    block_size : int
        Rows of ``A`` per product (bounded to about 256 MiB per block).

    Returns
    -------
    scipy.sparse.csr_matrix of float32, shape (n1, n2)
        Sorted indices; values are the inner products.

    Raises
    ------
    InputError
        Bad shapes, non-finite values, ``k < 1``.
    """
    import scipy.sparse as sp

    from kgalign.matching.topk import BLOCK_BYTES, _as_embeddings

    A = _as_embeddings(A, "A")
    B = _as_embeddings(B, "B")
    if A.shape[1] != B.shape[1]:
        raise InputError(f"A and B differ in dimension ({A.shape[1]} vs {B.shape[1]})")
    k = as_int(k, "k")
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    n1, n2 = A.shape[0], B.shape[0]
    if n1 == 0 or n2 == 0:
        return sp.csr_matrix((n1, n2), dtype=np.float32)
    step = max(1, min(int(block_size), BLOCK_BYTES // max(1, 4 * n2), n1))
    buf = np.empty((step, n2), dtype=np.float32)

    def blocks():
        for s in range(0, n1, step):
            e = min(n1, s + step)
            np.matmul(A[s:e], B.T, out=buf[: e - s])
            yield s, buf[: e - s]

    return _two_sided(blocks(), n1, n2, k, "A @ B.T")


def topk_both_matrix(S, k: int, *, block_size: int = 4096):
    """:func:`topk_both` of a dense similarity matrix: each row's and each column's k best.

    Parameters
    ----------
    S : ndarray of float32, shape (n1, n2)
        C-contiguous, finite (NaN raises InputError naming the cell).
    k : int
        Candidates per row and per column (``>= 1``).
    block_size : int
        Rows per selection step.

    Returns
    -------
    scipy.sparse.csr_matrix of float32, shape (n1, n2)
        The union of the two selections with their values, sorted indices.
    """
    import scipy.sparse as sp

    S = np.ascontiguousarray(S, dtype=np.float32)
    k = as_int(k, "k")
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    n1, n2 = S.shape
    if n1 == 0 or n2 == 0:
        return sp.csr_matrix((n1, n2), dtype=np.float32)
    step = max(1, int(block_size))
    return _two_sided(((s, S[s : s + step]) for s in range(0, n1, step)), n1, n2, k, "similarity matrix")


def _two_sided(blocks, n1: int, n2: int, k: int, what: str):
    """The union of the row-wise and the column-wise top-k of row blocks ``(first row, block)``
    given in row order, as float32 CSR."""
    import scipy.sparse as sp

    from kgalign.matching.topk import _select_topk_cpp

    kr, kc = min(k, n2), min(k, n1)
    rcols = np.empty((n1, kr), np.int32)
    rvals = np.empty((n1, kr), np.float32)
    cols_side = _ColumnTopK(n2, kc)
    for s, blk in blocks:
        e = s + blk.shape[0]
        rcols[s:e], rvals[s:e] = _select_topk_cpp(blk, kr, what=what, row_offset=s)
        cols_side.update(blk, s)
    crow, cval = cols_side.finish()
    rr = np.concatenate([np.repeat(np.arange(n1, dtype=np.int64), kr), crow.ravel()])
    cc = np.concatenate([rcols.ravel().astype(np.int64), np.repeat(np.arange(n2, dtype=np.int64), crow.shape[1])])
    vv = np.concatenate([rvals.ravel(), cval.ravel()])
    key = rr * n2 + cc
    key, first = np.unique(key, return_index=True)
    S = sp.csr_matrix((vv[first], (key // n2, key % n2)), shape=(n1, n2), dtype=np.float32)
    S.sort_indices()
    return S


class _ColumnTopK:
    """Running exact top-``k`` of every column over row blocks (``kgalign._core.topk_cols_*``).

    Rows must arrive in increasing order; ties at the k-th value go to the smaller row.
    """

    def __init__(self, n_cols: int, k: int):
        self.k = int(k)
        self.cap = max(4 * self.k, self.k + 64)
        self.vals = np.empty((n_cols, self.cap), np.float32)
        self.rows = np.empty((n_cols, self.cap), np.int64)
        self.size = np.zeros(n_cols, np.int64)
        self.thr = np.full(n_cols, -np.inf, np.float32)

    def update(self, block: np.ndarray, row_offset: int) -> None:
        from kgalign.matching._status import check
        from kgalign.matching._validate import core

        def invalid_value(bad: int) -> str:
            r, c = divmod(bad, block.shape[1])
            return f"A @ B.T has a NaN at row {row_offset + r}, column {c}"

        reply = core().topk_cols_update_f32(
            block, int(row_offset), self.k, self.vals, self.rows, self.size, self.thr, 0
        )
        check(reply, "topk_cols_update", invalid_value=invalid_value)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows int64 (n_cols, k), values float32 (n_cols, k)), best first."""
        from kgalign.matching._status import check
        from kgalign.matching._validate import core

        n = len(self.size)
        rows = np.empty((n, self.k), np.int64)
        vals = np.empty((n, self.k), np.float32)
        check(core().topk_cols_finish_f32(self.k, self.vals, self.rows, self.size, rows, vals), "topk_cols_finish")
        return rows, vals
