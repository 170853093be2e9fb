"""A dense assignment whose solver choice looks at the problem: exact JV within a work budget,
else top-k candidates + sparse auction + re-exchange refinement.

Exact shortest-augmenting-path solvers (JV, scipy) are fast when the similarity has signal
(each row has a clear best column: DBP15K with translations, 15k x 20k in 0.4 s) and degrade
towards their O(n^3) worst case on flat matrices (little signal: 15k x 15k uniform costs
take 38 s, DBP15K without translations 394 s). The size does not tell the two apart; the
work does. :func:`solve_dense` runs the exact solver with a cap on the cells its
shortest-path searches examine (``work_per_cell * n1 * n2``, at least :data:`MIN_WORK`; deterministic, so the same
input always takes the same branch) and, past the cap, solves the two-sided top-k candidate
graph (each row's and each column's k best) with the exact-mode auction and refinement, then
re-solves the rows the graph leaves unsettled exactly on the full matrix
(:mod:`kgalign.matching.residual`). None of these steps looks at the exact solver's partial
matching, so the answer does not depend on the order of rows and columns (up to ties).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DenseChoice", "solve_dense", "DEFAULT_WORK_PER_CELL"]

log = logging.getLogger(__name__)

#: Cap on the cells examined by the exact solver's shortest-path searches, per matrix cell.
#: The searches examine about 1e8 cells/s at 15k x 15k on the 2-core reference machine, so
#: n1 n2 cells is 2-3 s. Alignment-like problems stay well below it; translated DBP15K
#: zh_en needs about 9 n1 n2 and takes the (exact-auction) fallback (benchmarks/SOLVERS.md).
DEFAULT_WORK_PER_CELL = 0.5
#: Floor of the budget (cells): small problems (up to about 5k x 5k) are always cheap enough to
#: solve exactly, and relative to their size their searches are longer.
MIN_WORK = 100_000_000


@dataclass
class DenseChoice:
    """Result of :func:`solve_dense`.

    Attributes
    ----------
    rows, cols : ndarray of int64
        The matching, rows ascending.
    method : str
        ``"dense"`` (exact, optimal) or ``"sparse-fallback"`` (the exact solver passed its
        work budget; auction on the two-sided candidate graph, refinement, residual re-solve).
    info : dict
        ``max_work``, ``signal``; for the fallback also ``partial`` (pairs the exact solver had
        matched when it stopped), ``candidates`` (edges of the fallback graph), ``gap`` (the
        auction's duality gap on it), ``residual`` (:func:`kgalign.matching.residual.resolve_residual`'s
        record) and, when the last resort ran, ``completed_with_partial``.
    """

    rows: np.ndarray
    cols: np.ndarray
    method: str
    info: dict = field(default_factory=dict)


#: Sampled rows of :func:`signal`.
SIGNAL_ROWS = 256
#: A problem whose :func:`signal` reaches this is "peaked" and gets STRONG_WORK_PER_CELL.
#: Calibrated on DBP15K (closed, MiniLM): with the shipped translations zh/ja/fr give 2.50 /
#: 2.65 / 2.96 and fr without translations 2.76 (JV needs up to about 9 n1 n2 cells there and
#: solves them exactly); zh/ja without translations give 0.16 / 0.17 and the synthetic flat,
#: uniform, constant and Machol-Wien matrices below 0.001 (where JV degrades).
STRONG_SIGNAL = 2.0
#: Budget (per cell) of peaked problems: generous, JV is fast there (translated DBP15K zh_en
#: examined about 9 n1 n2 cells), yet still a cap.
STRONG_WORK_PER_CELL = 32.0


def signal(S: np.ndarray, rows: int = SIGNAL_ROWS) -> float:
    """Median over evenly spaced sample rows of (best - second best) / standard deviation.

    Large when each row has a clear best column (alignment-like, translated DBP15K), near 0 on
    flat, uniform, constant and Machol-Wien matrices, where exact JV degrades.
    """
    n1, n2 = S.shape
    if n2 < 2 or n1 == 0:
        return float("inf")
    idx = np.unique(np.linspace(0, n1 - 1, min(rows, n1)).astype(np.int64))
    R = np.asarray(S[idx], dtype=np.float64)
    with np.errstate(invalid="ignore"):  # -inf (forbidden) cells: such rows count as flat
        top2 = -np.partition(-R, 1, axis=1)[:, :2]
        sd = R.std(axis=1)
        gap = top2[:, 0] - top2[:, 1]
        ok = np.isfinite(gap) & np.isfinite(sd) & (sd > 0)
        ratio = np.divide(gap, sd, out=np.zeros_like(gap), where=ok)
    return float(np.median(ratio))


def _complete(x: np.ndarray, n2: int) -> np.ndarray:
    """Give every unmatched row (in row order) an unused column while columns remain."""
    x = x.copy()
    used = np.zeros(n2, bool)
    used[x[x >= 0]] = True
    free_rows = np.flatnonzero(x < 0)
    free_cols = np.flatnonzero(~used)
    m = min(len(free_rows), len(free_cols))
    x[free_rows[:m]] = free_cols[:m]
    return x


def solve_dense(
    S,
    *,
    work_per_cell: float = DEFAULT_WORK_PER_CELL,
    min_work: int = MIN_WORK,
    topk: int = 50,
    refine: bool = True,
    residual_cells: int = 16_000_000,
) -> DenseChoice:
    """Maximum-similarity 1-to-1 assignment of a dense matrix, exact unless the problem is hard.

    Parameters
    ----------
    S : array_like of float, shape (n1, n2)
        Finite similarities (maximised); converted to float32 (as the sparse path does).
    work_per_cell : float, default :data:`DEFAULT_WORK_PER_CELL`
        Budget of the exact solver in cells examined per matrix cell (at least ``min_work``
        cells) for problems with little signal; a peaked problem (:func:`signal` >=
        :data:`STRONG_SIGNAL`) gets :data:`STRONG_WORK_PER_CELL`; ``<= 0``: no budget (always
        exact).
    min_work : int, default :data:`MIN_WORK`
        Floor of the budget in cells.
    topk : int, default 50
        Candidates per row and per column of the fallback graph
        (:func:`kgalign.matching.candidates.topk_both_matrix`).
    refine : bool, default True
        Re-exchange refinement (:func:`kgalign.matching.refine`) after the fallback auction.
    residual_cells : int, default 16,000,000
        Largest block of the fallback's residual re-solve (:mod:`kgalign.matching.residual`;
        0: off): the rows the candidate graph leaves unsettled are re-solved exactly on the
        full matrix.

    Returns
    -------
    DenseChoice
        A full matching of the smaller side in both branches, up to forbidden (``-inf``) pairs:
        in the fallback, the residual re-solve completes what the candidate graph leaves
        unmatched (skipped when the graph matches fewer than half of the rows), and rows still
        unmatched after it bring in the last resort: the exact solver's partial matching,
        completed, is added to the graph and the graph solved again.

    Raises
    ------
    InputError
        Not a 2-D real matrix, NaN or infinite values (naming the row and column).
    SolverError
        The core failed.

    Notes
    -----
    R. Jonker, A. Volgenant, Computing 38 (1987) 325-340 (exact); D. P. Bertsekas, Annals of
    Operations Research 14 (1988) 105-123 (auction). The fallback auction runs in exact mode,
    so its matching is optimal *on the candidate graph* (up to the rounding of the values to
    the auction's grid); the graph (two-sided top-k, ties to the smaller index) and the
    residual block do not depend on the order of rows and columns beyond ties.
    ``benchmarks/SOLVERS.md`` reports its objective against the exact optimum on flat,
    uniform and adversarial matrices.
    """
    import scipy.sparse as sp

    from kgalign.matching._status import Status, check
    from kgalign.matching._validate import as_dense_matrix, assignment_arrays, core, name_pair
    from kgalign.matching.auction import auction
    from kgalign.matching.candidates import topk_both_matrix
    from kgalign.matching.refine import refine as refine_fn
    from kgalign.matching.residual import resolve_residual

    arr = np.ascontiguousarray(as_dense_matrix(S, check_finite=False), dtype=np.float32)
    n1, n2 = arr.shape
    if n1 == 0 or n2 == 0:
        e = np.zeros(0, np.int64)
        return DenseChoice(e, e.copy(), "dense", {})
    sig = signal(arr)
    per_cell = max(work_per_cell, STRONG_WORK_PER_CELL) if sig >= STRONG_SIGNAL else work_per_cell
    max_work = max(int(per_cell * n1 * n2), int(min_work), 1) if work_per_cell > 0 else -1
    out = np.full(n1, -1, dtype=np.int64)
    status, where, result = core().lap_dense_f32(arr, True, None, out, max_work)
    if int(status) != Status.ITERATION_LIMIT:

        def invalid_value(bad: int) -> str:
            i, j = divmod(bad, n2)
            return f"similarity matrix contains {arr[i, j]} at {name_pair(i, j)}"

        check((status, where, result), "solve_dense", invalid_value=invalid_value)
        rows, cols = assignment_arrays(out)
        return DenseChoice(rows, cols, "dense", {"max_work": max_work, "signal": sig})
    partial = int((out >= 0).sum())
    log.info(
        "exact solver passed its work budget (%d cells) with %d of %d rows matched: two-sided top-%d candidates "
        "+ auction + residual re-solve",
        max_work,
        partial,
        min(n1, n2),
        topk,
    )
    G = topk_both_matrix(arr, min(int(topk), max(n1, n2)))
    if not np.isfinite(G.data).all():  # -inf: forbidden pairs are not candidates
        Gc = G.tocoo()
        ok = np.isfinite(Gc.data)
        G = sp.csr_matrix((Gc.data[ok], (Gc.row[ok], Gc.col[ok])), shape=(n1, n2))
    res = auction(G, exact=True)
    rows, cols = res.rows, res.cols
    if refine:
        rows, cols = refine_fn(G, rows, cols)
    info = {"max_work": max_work, "signal": sig, "partial": partial, "candidates": int(G.nnz), "gap": float(res.gap)}
    if residual_cells > 0 and 2 * len(rows) >= min(n1, n2):  # else the graph is far from a matching
        _, rows, cols = resolve_residual(
            G,
            rows,
            cols,
            lambda U, R: arr[np.ix_(U, R)],
            residual_cells,
            info,
            max_work=max_work,  # the block gets the budget of the whole exact solve
        )
    if len(rows) < min(n1, n2):
        # the graph holds no full matching and the residual block did not complete it (matrices
        # whose rows all prefer the same columns, such as Machol-Wien): add the exact solver's
        # partial matching, completed, to the graph and solve it again. This last resort
        # depends on the order of rows and columns.
        x = _complete(out, n2)
        add = np.flatnonzero(x >= 0)
        add = add[np.isfinite(arr[add, x[add]])]
        Gc = G.tocoo()
        key = np.concatenate([Gc.row.astype(np.int64) * n2 + Gc.col, add * n2 + x[add]])
        key = np.unique(key)  # the union of the graph and the completed partial matching
        kr, kc = key // n2, key % n2
        G = sp.csr_matrix((arr[kr, kc], (kr, kc)), shape=(n1, n2))
        res = auction(G, exact=True)
        rows, cols = res.rows, res.cols
        if refine:
            rows, cols = refine_fn(G, rows, cols)
        info.update(candidates=int(G.nnz), gap=float(res.gap), completed_with_partial=True)
    keep = np.isfinite(arr[rows, cols])
    rows, cols = rows[keep], cols[keep]
    return DenseChoice(rows, cols, "sparse-fallback", info)
