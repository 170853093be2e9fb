"""Re-exchange refinement and ranked alternatives (UDCEA's re-exchange, stated exactly)."""

from __future__ import annotations

import numpy as np

from kgalign.errors import InputError
from kgalign.matching._status import check
from kgalign.matching._validate import (
    as_csr,
    as_dense_matrix,
    assignment_arrays,
    col4row_from,
    core,
    per_row,
)


def _not_stored(row: int) -> str:
    return f"the matching pairs row {row} with a column that is not stored in S"


def _dense_or_csr(S):
    import scipy.sparse as sp

    if sp.issparse(S):
        n1, n2, indptr, indices, data, _ = as_csr(S)
        return "csr", (n1, n2, indptr, indices, data)
    D = as_dense_matrix(S)
    return "dense", D


def refine(S, rows, cols, *, unmatched_value=None, max_rounds: int | None = None, tol: float | None = None):
    """Improve a matching by re-exchange until no improving move is left.

    For a matching pi, exchanging the partners of rows i and k changes the total by
    ``delta(i,k) = s(i,pi(k)) + s(k,pi(i)) - s(i,pi(i)) - s(k,pi(k))``. Each round evaluates
    for every row its best move -- an exchange with the owner of one of its candidates, a
    move to a free column and, when ``unmatched_value`` is given, abstaining or pushing an
    owner out -- and applies the non-overlapping moves in decreasing order of gain. Every
    applied move has gain > ``tol`` on the current matching, so the objective never decreases
    and the loop ends. On sparse input a pair absent from ``S`` is not a candidate.

    Parameters
    ----------
    S : ndarray (float32/float64) or scipy.sparse matrix, shape (n1, n2)
        Similarities (maximised).
    rows, cols : array_like of int
        The matching to improve (every pair must be stored in a sparse ``S``).
    unmatched_value : float or array_like of shape (n1,), optional
        Value of an unmatched row; without it unmatched rows stay unmatched and matched rows
        stay matched.
    max_rounds : int, optional
        Cap on rounds (default: until no improving move is left).
    tol : float, optional
        Minimum gain of an applied move; default ``1e-12 * max(1, max |S|)``.

    Returns
    -------
    rows, cols : ndarray of int64
        The refined matching, rows ascending; its objective is >= that of the input.

    Raises
    ------
    InputError
        Bad matrix or assignment (index out of range, used twice, pair not stored).

    References
    ----------
    Re-exchange step of UDCEA (unsupervised dual-encoder cross-lingual entity alignment).
    """
    kind, M = _dense_or_csr(S)
    n1, n2 = (M[0], M[1]) if kind == "csr" else M.shape
    x = col4row_from(rows, cols, n1, n2)
    t = per_row(unmatched_value, n1, "unmatched_value")
    rounds = -1 if max_rounds is None else int(max_rounds)
    if kind == "csr":
        scale = float(np.abs(M[4]).max(initial=0.0))
    else:
        scale = float(np.abs(M).max(initial=0.0))
    tol = 1e-12 * max(1.0, scale) if tol is None else float(tol)
    if kind == "csr":
        reply = core().refine_csr(*M, t, x, rounds, tol)
    else:
        fn = core().refine_dense_f32 if M.dtype == np.float32 else core().refine_dense_f64
        reply = fn(M, t, x, rounds, tol)
    check(reply, "refine", invalid_matching=_not_stored)
    return assignment_arrays(x)


def rank_alternatives(S, rows, cols, k: int) -> np.ndarray:
    """Per row, candidate columns ordered by the gain of exchanging into them (least regret).

    For row i with partner pi(i) the assigned partner comes first; every other candidate j,
    owned by row r = pi^-1(j), is scored by the re-exchange gain
    ``s(i,j) + s(r,pi(i)) - s(i,pi(i)) - s(r,j)`` (``s(i,j) - s(i,pi(i))`` when j is free),
    largest first; ties by larger s(i,j), then smaller column id. For an unmatched row the
    score is ``s(i,j) - s(r,j)`` (``s(i,j)`` when free). On sparse input only stored
    candidates are ranked and an absent ``s(r,pi(i))`` counts as the smallest value stored in
    row r (the top-k bound). A global matching thus yields a ranking for Hits@k, MRR and review.

    Parameters
    ----------
    S : ndarray or scipy.sparse matrix, shape (n1, n2)
        Similarities.
    rows, cols : array_like of int
        The matching.
    k : int
        Columns per row.

    Returns
    -------
    ndarray of int64, shape (n1, k)
        Candidate columns, -1 padded.
    """
    kind, M = _dense_or_csr(S)
    n1, n2 = (M[0], M[1]) if kind == "csr" else M.shape
    x = col4row_from(rows, cols, n1, n2)
    k = int(k)
    if k < 0:
        raise InputError(f"k must be >= 0, got {k}")
    out = np.full((n1, k), -1, dtype=np.int64)
    if kind == "csr":
        reply = core().rank_csr(*M, x, k, out)
    else:
        fn = core().rank_dense_f32 if M.dtype == np.float32 else core().rank_dense_f64
        reply = fn(M, x, k, out)
    check(reply, "rank_alternatives")
    return out


def greedy_matching(S):
    """Greedy matching: repeatedly pair the largest remaining similarity with both ends free.

    Parameters
    ----------
    S : ndarray or scipy.sparse matrix, shape (n1, n2)
        Similarities (sparse: only stored pairs are candidates).

    Returns
    -------
    rows, cols : ndarray of int64
        Ties are broken by smaller row, then smaller column.
    """
    return _baseline("greedy", S)


def mutual_nearest(S):
    """Mutual nearest neighbours: keep (i, j) when each is the other's most similar.

    Parameters
    ----------
    S : ndarray or scipy.sparse matrix, shape (n1, n2)
        Similarities (sparse: only stored pairs are candidates).

    Returns
    -------
    rows, cols : ndarray of int64
        Ties are broken by the smaller index.
    """
    return _baseline("mutual", S)


def _baseline(which: str, S):
    kind, M = _dense_or_csr(S)
    n1 = M[0] if kind == "csr" else M.shape[0]
    out = np.full(n1, -1, dtype=np.int32)
    if kind == "csr":
        reply = core().baseline_csr(which, *M, out)
    else:
        fn = core().baseline_dense_f32 if M.dtype == np.float32 else core().baseline_dense_f64
        reply = fn(which, M, out)
    check(reply, which)
    return assignment_arrays(out)
