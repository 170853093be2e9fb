"""Sparse epsilon-scaling auction (Bertsekas) with partial assignment, from the C++ core."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kgalign.errors import InputError
from kgalign.matching._status import check
from kgalign.matching._validate import as_csr, assignment_arrays, core, per_row


@dataclass
class AuctionResult:
    """Result of :func:`auction`.

    Attributes
    ----------
    rows, cols : ndarray of int64
        Matched pairs, rows ascending.
    objective : float
        Primal value: total similarity of the pairs plus the "no match" value of every
        unmatched row (the quantity maximised).
    dual_bound : float
        Upper bound on the optimum from the final prices (weak duality).
    gap : float
        ``dual_bound - objective`` (>= 0 up to rounding; at most ``n1 * epsilon``).
    matched_similarity : float
        Total similarity of the pairs only.
    epsilon : float
        Final epsilon (in the units of the similarities).
    exact : bool
        Whether exact mode was used (then ``objective`` is optimal unless ``rounded``).
    rounded : bool
        Exact mode had to round the values to a coarser grid (see :func:`auction`).
    unmatched_value : ndarray of float64, shape (n1,)
        The per-row "no match" values used (the internal default when none was given).
    prices : ndarray of float64, shape (n2,)
        Final column prices (in the units of the similarities).
    n_bids, n_phases, n_reverse : int
        Work counters.
    """

    rows: np.ndarray
    cols: np.ndarray
    objective: float
    dual_bound: float
    gap: float
    matched_similarity: float
    epsilon: float
    exact: bool
    rounded: bool
    unmatched_value: np.ndarray = field(repr=False)
    prices: np.ndarray = field(repr=False)
    n_bids: int = 0
    n_phases: int = 0
    n_reverse: int = 0


def _grid_exponent(values: np.ndarray) -> int:
    """Largest e such that every value is an integer multiple of 2**e (float64 exact)."""
    v = values[values != 0]
    if v.size == 0:
        return 0
    mant, exp = np.frexp(np.abs(v))
    M = (mant * 2.0**53).astype(np.int64)  # exact: 53-bit integer mantissa
    low = M & -M
    tz = np.frexp(low.astype(np.float64))[1] - 1  # log2 of a power of two
    return int(np.min(exp.astype(np.int64) - 53 + tz))


def auction(
    S,
    *,
    epsilon=None,
    exact: bool = False,
    unmatched_value=None,
    eps_factor: float = 20.0,
    max_bids: int | None = None,
    n_threads: int | None = None,
) -> AuctionResult:
    """Maximum-similarity (partial) assignment on a sparse candidate graph by auction.

    Forward Gauss-Seidel auction with epsilon scaling followed by reverse iterations
    (Bertsekas & Castanon's forward/reverse scheme for asymmetric problems), on the CSR graph
    (rows = KG1 entities, columns = KG2 candidates). Each row has a private "no match" option
    of value ``unmatched_value``: rows abstain when no candidate beats it, rows without
    candidates are legal, and no row can make the problem infeasible. Time and memory are
    O(nnz) per pass.

    Parameters
    ----------
    S : scipy.sparse matrix or array_like, shape (n1, n2)
        Similarities of the candidate pairs (absent = not a candidate). Finite; duplicates are
        rejected; unsorted indices are fine. A dense array is a complete graph.
    epsilon : float, optional
        Final epsilon; the result is within ``n1 * epsilon`` of the optimum. Default
        ``1e-6 * (max - min)`` of the values.
    exact : bool, default False
        Scale epsilon below the resolution of the values: they are read as integer multiples
        of their common power-of-two grid q, multiplied by ``n1 + 1`` and solved with
        epsilon 1 in exact float64 integer arithmetic, which is optimal. Values on a grid too
        fine for that (e.g. arbitrary float64; float32, integers and multiples of 2**-k are
        fine when not too tiny) are rounded to the finest usable grid q first: the result is
        then optimal for the rounded values and within ``n1 * q`` of the optimum
        (``AuctionResult.rounded`` is True and the dual bound accounts for it).
    unmatched_value : float or array_like of shape (n1,), optional
        Value of leaving each row unmatched (a threshold). Default: ``min - 2 (max - min)``
        of the similarities (``min - max(1, |min|)`` when they are all equal), so rows abstain
        only when every candidate is taken by rows that value it more.
    eps_factor : float, default 20
        Epsilon reduction factor between scaling phases (the first epsilon is 1/20 of the
        spread of the similarities). 20 rather than 10: one or two phases fewer and 5-17 %
        fewer bids on alignment-like top-k graphs (100k, 1M rows, DBP15K top-50) and on
        uniform random sparse graphs; about equal on a uniform top-50 graph.
    max_bids : int, optional
        Cap on bids (SolverError when reached); None or a value <= 0 means no cap.
    n_threads : int, optional
        Bidding threads (OpenMP builds only). Default 1: sequential Gauss-Seidel bidding with
        software prefetching; a row evicted by a bid bids again a few steps later, while the
        candidates it shares with its evictor are still cached. ``> 1``: while at least 4096
        rows are free, the bids of all free rows are computed in parallel against the same
        prices (Jacobi rounds) and resolved in order; the tail of each phase stays
        Gauss-Seidel. Same guarantees (within ``n1 * epsilon``; optimal in exact mode), but
        on the 2-core reference machine 2 threads were 1.2-1.8x *slower* than 1 on the
        benchmark graphs of 100k and 1M rows (benchmarks/SOLVERS.md), so it is opt-in.

    Returns
    -------
    AuctionResult

    Raises
    ------
    InputError
        Malformed matrix, non-finite values (naming row and column), bad options.
    SolverError
        Iteration cap reached.

    References
    ----------
    D. P. Bertsekas, Annals of Operations Research 14 (1988) 105-123; D. P. Bertsekas,
    D. A. Castanon, Computational Optimization and Applications 1 (1992) 277-297.
    """
    n1, n2, indptr, indices, data, _ = as_csr(S)
    t = per_row(unmatched_value, n1, "unmatched_value")
    lo = float(data.min()) if data.size else 0.0
    hi = float(data.max()) if data.size else 0.0
    if eps_factor <= 1:
        raise InputError(f"eps_factor must be > 1, got {eps_factor}")
    if epsilon is not None and not (np.isfinite(epsilon) and epsilon > 0):
        raise InputError(f"epsilon must be a positive number, got {epsilon}")
    cap = -1 if max_bids is None else int(max_bids)
    threads = 1 if n_threads is None else int(n_threads)
    if threads < 1:
        raise InputError(f"n_threads must be >= 1, got {n_threads}")
    rounded = False
    if exact:
        if t is None:
            t = _default_unmatched(lo, hi, n1)
        vals = np.concatenate([data, t])
        e = _grid_exponent(vals)
        span = float(np.abs(vals).max(initial=0.0)) * 4.0 + 1.0
        # finest power-of-two grid on which prices stay exact float64 integers
        e_min = int(np.ceil(np.log2(span * (n1 + 1) * 8.0))) - 52
        if e < e_min:
            e, rounded = e_min, True
        q = 2.0**e
        scale = (n1 + 1) / q
        w = np.round(data / q) * (n1 + 1)
        tw = np.round(t / q) * (n1 + 1)
        info = check(
            core().auction_csr(
                n1, n2, indptr, indices, w, np.ascontiguousarray(tw), 1.0, eps_factor, -1.0, cap, threads
            ),
            "auction",
        )
        prices = info["prices"] / scale
        dual = info["dual"] / scale
        eps_used = 1.0 / scale
    else:
        if t is None:
            t = _default_unmatched(lo, hi, n1)
        eps = float(epsilon) if epsilon is not None else max(1e-6 * (hi - lo), 1e-12)
        info = check(
            core().auction_csr(n1, n2, indptr, indices, data, t, eps, eps_factor, -1.0, cap, threads), "auction"
        )
        prices, dual = info["prices"], info["dual"]
        eps_used = info["eps"]
    primal = info["primal"]
    rows, cols = assignment_arrays(info["col4row"])
    free = np.ones(n1, dtype=bool)
    free[rows] = False
    if exact:  # the objective in the original (unrounded) values
        primal = _pair_sum(indptr, indices, data, rows, cols, n2) + float(t[free].sum())
        if rounded:
            dual += (n1 + 1) * q  # each row's rounding moves the optimum by at most q/2
    objective = float(primal)
    msum = objective - float(t[free].sum())
    return AuctionResult(
        rows=rows,
        cols=cols,
        objective=objective,
        dual_bound=float(dual),
        gap=float(dual) - objective,
        matched_similarity=msum,
        epsilon=eps_used,
        exact=bool(exact),
        rounded=rounded,
        unmatched_value=t,
        prices=prices,
        n_bids=int(info["n_bids"]),
        n_phases=int(info["n_phases"]),
        n_reverse=int(info["n_reverse"]),
    )


def _pair_sum(indptr, indices, data, rows, cols, n2) -> float:
    """Sum of the stored values of the pairs (rows, cols) of a canonical CSR matrix."""
    if rows.size == 0:
        return 0.0
    starts = indptr[rows]
    counts = indptr[rows + 1] - starts
    # position of each col inside its row segment (indices sorted within rows)
    total = 0.0
    offs = np.repeat(starts, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    seg_cols = indices[offs]
    owner = np.repeat(np.arange(rows.size), counts)
    hit = seg_cols == cols[owner]
    total = float(data[offs[hit]].sum())
    return total


def _default_unmatched(lo: float, hi: float, n1: int) -> np.ndarray:
    """Internal "no match" value below every similarity (see :func:`auction`)."""
    spread = hi - lo
    below = 2.0 * spread if spread > 0 else max(1.0, abs(lo))
    return np.full(n1, lo - below)
