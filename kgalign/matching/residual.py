"""Residual re-solve of a candidate-graph assignment.

On a candidate graph (top-k pairs) the assignment can only use stored pairs. When a row's
true partner is missing, the row takes another column and the displaced rows cascade, while
the exact solve of the full matrix reaches the partner by elimination (the last rows left fit
the last columns left). On DBP15K zh_en with 50 two-sided candidates the gold pair is stored
for 96.7 % of the rows and the candidate-graph optimum is 2.7 points of accuracy below the
dense optimum; this step closes that gap there (``benchmarks/README.md``, sparse similarity).
It is a local improvement, not an exact solve of the full problem: rows the graph settles keep
their partners, so the result can stay below the dense optimum.

The repair keeps what the candidate graph settles and re-solves the rest:

1. *Uncertain rows* (:func:`uncertain_rows`): rows whose assigned pair is not the best stored
   pair of both its row and its column (not mutual-best), unassigned rows, and the rows that
   own the candidates of an unassigned row.
2. Their assigned columns, their free candidate columns (and, with unassigned rows, every free
   column when the block allows) form a residual block, scored by ``block(rows, cols)``: the caller's
   similarity of any pair (the same values as the stored pairs).
3. The block is solved by the C++ JV (within a work budget; past it by the exact-mode
   auction on the complete block, which does not degrade on flat blocks) and replaces the
   block's assignment; its total similarity can only grow.

The block holds at most ``max_cells`` pairs: beyond, the most uncertain rows (largest gap
between the row's best stored value and its assigned value) are kept. A local improvement
like re-exchange refinement (:mod:`kgalign.matching.refine`), over a block of rows instead of
a pair.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

__all__ = ["uncertain_rows", "resolve_residual"]

log = logging.getLogger(__name__)


def uncertain_rows(S, rows, cols) -> np.ndarray:
    """Rows of a candidate-graph assignment that are not settled by it.

    Parameters
    ----------
    S : scipy.sparse.csr_matrix, shape (n1, n2)
        The candidate graph.
    rows, cols : ndarray of int64, shape (p,)
        The assignment (row ``rows[q]`` gets column ``cols[q]``).

    Returns
    -------
    ndarray of int64
        Every row without a partner, and every assigned row whose pair is not the largest
        stored value of both its row and its column (ties count as settled), sorted by
        decreasing regret (row best minus assigned value; unassigned rows first).
    """
    S = S.tocsr()
    n1, n2 = S.shape
    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    neg = np.float32(-np.inf)
    row_best = np.full(n1, neg, np.float32)
    col_best = np.full(n2, neg, np.float32)
    pr = np.repeat(np.arange(n1, dtype=np.int64), np.diff(S.indptr))
    np.maximum.at(row_best, pr, S.data)
    np.maximum.at(col_best, S.indices, S.data)
    val = np.asarray(S[rows, cols]).ravel().astype(np.float32) if len(rows) else np.zeros(0, np.float32)
    settled = (val >= row_best[rows]) & (val >= col_best[cols])
    regret = np.full(n1, np.inf)
    regret[rows] = np.where(settled, -1.0, row_best[rows] - val)
    out = np.flatnonzero(regret >= 0)
    return out[np.argsort(-regret[out], kind="stable")]


def resolve_residual(
    S,
    rows,
    cols,
    block: Callable[[np.ndarray, np.ndarray], np.ndarray],
    max_cells: int,
    info: dict | None = None,
    *,
    max_work: int = -1,
):
    """Re-solve the uncertain part of a candidate-graph assignment densely (module docstring).

    Parameters
    ----------
    S : scipy.sparse.csr_matrix of float32, shape (n1, n2)
        The candidate graph the assignment was solved on.
    rows, cols : ndarray of int64, shape (p,)
        Its assignment.
    block : callable
        ``block(rows, cols)`` -> float array of shape (len(rows), len(cols)): the similarity of
        every pair of the block, equal to ``S`` on stored pairs (e.g.
        :meth:`kgalign.aligner.scorer.PairScorer.block`, or a lookup in a dense matrix).
    max_cells : int
        Largest residual block (rows x columns); ``<= 0`` turns the step off.
    max_work : int
        Work budget of the block's JV solve in cells examined by its shortest-path searches
        (``<= 0``: none); past it the block is solved by the exact-mode auction
        (:func:`kgalign.matching.auction`, the complete block as a graph).
    info : dict, optional
        Receives ``info["residual"]``: block size, rows whose partner changed, objective gain.

    Returns
    -------
    S2 : scipy.sparse.csr_matrix of float32
        ``S`` plus the newly assigned pairs.
    rows, cols : ndarray of int64
        The improved assignment, sorted by row.
    """
    import scipy.sparse as sp

    from kgalign.errors import InputError

    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    if rows.shape != cols.shape or rows.ndim != 1:
        raise InputError(f"rows and cols must be 1-D of one length, got shapes {rows.shape} and {cols.shape}")
    if len(np.unique(rows)) != len(rows) or len(np.unique(cols)) != len(cols):
        raise InputError("rows and cols are not a matching (a row or a column is used twice)")
    if len(rows) and (rows.min() < 0 or cols.min() < 0 or rows.max() >= S.shape[0] or cols.max() >= S.shape[1]):
        raise InputError(f"rows / cols out of range for a {S.shape[0]} x {S.shape[1]} graph")
    record = {"rows": 0, "cols": 0, "changed": 0, "gain": 0.0}
    if info is not None:
        info["residual"] = record
    S = S.tocsr()
    n1, n2 = S.shape
    U = uncertain_rows(S, rows, cols) if max_cells > 0 else np.zeros(0, np.int64)
    if len(U) == 0:
        return S, rows, cols
    col_of = np.full(n1, -1, np.int64)
    col_of[rows] = cols
    row_of = np.full(n2, -1, np.int64)
    row_of[cols] = rows
    free_all = np.flatnonzero(row_of < 0)

    def cands(i):
        return S.indices[S.indptr[i] : S.indptr[i + 1]].astype(np.int64)

    # a row left without a partner competes with the owners of its candidates
    lone = U[col_of[U] < 0]
    if len(lone):
        owners = row_of[np.concatenate([cands(i) for i in lone])]
        owners = np.setdiff1d(owners[owners >= 0], U)
        U = np.concatenate([U, owners])

    def block_cols(U):
        # the rows' own columns, and every candidate of theirs that is free or theirs
        R = np.concatenate([col_of[U][col_of[U] >= 0], *[cands(i) for i in U]])
        R = np.unique(R[(row_of[R] < 0) | np.isin(row_of[R], U)]).astype(np.int64)
        if (col_of[U] < 0).any() and len(U) * (len(R) + len(free_all)) <= max_cells:
            R = np.union1d(R, free_all)  # unassigned rows may take any free column
        return R

    U_all = len(U)
    R = block_cols(U)
    while len(U) > 1 and len(U) * len(R) > max_cells:  # keep the most uncertain rows
        U = U[: max(1, int(len(U) * np.sqrt(max_cells / (len(U) * len(R)))))]
        R = block_cols(U)
    U = np.sort(U)
    if len(R) == 0:
        return S, rows, cols
    B = np.ascontiguousarray(block(U, R), dtype=np.float32)
    if B.shape != (len(U), len(R)):
        raise InputError(f"block(rows, cols) returned shape {B.shape}, expected {(len(U), len(R))}")
    br, bc = _solve_block(B, max_work)
    old = col_of[U]
    pos = {int(c): q for q, c in enumerate(R)}
    had = np.flatnonzero(old >= 0)
    before = float(B[had, [pos[int(c)] for c in old[had]]].astype(np.float64).sum())
    after = float(B[br, bc].astype(np.float64).sum())
    if after < before - 1e-5 * (abs(before) + 1.0):  # not for an exact solve: keep the graph's assignment
        log.warning("residual re-solve found a worse block (%.6f < %.6f); kept the assignment", after, before)
        return S, rows, cols
    new_col = np.full(len(U), -1, np.int64)
    new_col[br] = R[bc]
    col_of[U] = new_col
    keep = col_of >= 0
    out_r = np.flatnonzero(keep).astype(np.int64)
    out_c = col_of[keep]
    # add the newly assigned pairs that the graph did not store
    nr, nc = U[br], R[bc]
    S.sort_indices()
    add = ~_is_stored(S, nr, nc)
    if add.any():
        extra = sp.csr_matrix((B[br, bc][add], (nr[add], nc[add])), shape=S.shape, dtype=np.float32)
        S = (S + extra).tocsr()
        S.sort_indices()
    record.update(
        rows=int(len(U)),
        cols=int(len(R)),
        uncertain=int(U_all),
        changed=int(np.sum(new_col != old)),
        added_pairs=int(add.sum()),
        gain=round(after - before, 6),
    )
    log.info(
        "residual re-solve: %d uncertain rows x %d columns, %d partners changed", len(U), len(R), record["changed"]
    )
    return S, out_r, out_c


def _is_stored(S, rows, cols) -> np.ndarray:
    """Whether each pair is in the pattern of ``S`` (also when its stored value is 0)."""
    out = np.zeros(len(rows), bool)
    for q, (i, j) in enumerate(zip(rows.tolist(), cols.tolist())):
        seg = S.indices[S.indptr[i] : S.indptr[i + 1]]
        k = np.searchsorted(seg, j)
        out[q] = k < len(seg) and seg[k] == j
    return out


def _solve_block(B: np.ndarray, max_work: int):
    """Maximum-similarity assignment of the block: our C++ JV, or past its work budget the
    exact-mode auction."""
    from kgalign.matching._status import Status, check
    from kgalign.matching._validate import assignment_arrays, core

    out = np.full(B.shape[0], -1, dtype=np.int64)
    reply = core().lap_dense_f32(B, True, None, out, int(max_work) if max_work > 0 else -1)
    if int(reply[0]) == Status.ITERATION_LIMIT:
        # JV degrades on this block: the epsilon-scaling auction in exact mode on the complete
        # block graph (optimal up to the auction's value grid, independent of the order)
        import scipy.sparse as sp

        from kgalign.matching.auction import auction

        log.info("residual block %d x %d passed the exact solver's budget: exact-mode auction", *B.shape)
        ok = np.isfinite(B)  # -inf: a forbidden pair, not an edge of the block graph
        r, c = np.nonzero(ok)
        res = auction(sp.csr_matrix((B[r, c], (r, c)), shape=B.shape), exact=True)
        return np.asarray(res.rows, np.int64), np.asarray(res.cols, np.int64)
    check(reply, "resolve_residual")
    r, c = assignment_arrays(out)
    return np.asarray(r, np.int64), np.asarray(c, np.int64)
