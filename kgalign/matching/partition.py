"""Partitioned matching of a sparse candidate graph: whole when it fits, else block by block.

The candidate graph (rows = KG1 entities, columns = KG2 candidates) splits first into its
connected components, which are independent assignment problems (solving them apart loses
nothing); small components are packed into blocks of at most ``block_rows`` rows. A component
larger than that is cut by a graph partitioner, METIS (Karypis & Kumar, SIAM J. Sci. Comput.
20 (1998) 359-392) through ``pymetis`` with edge weights that grow with the similarity so that
strong pairs stay inside one block; without ``pymetis`` (optional) the documented fallback
orders the rows by their best candidate column, cuts that order into equal chunks and gives
every column to the chunk holding its heaviest edge. Each block is solved by the sparse
auction; the seams (rows that lost their candidates to another block, pairs worth exchanging
across blocks) are repaired by re-exchange refinement on the whole graph, whose moves never
lower the objective.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from kgalign.errors import InputError

__all__ = ["PartitionedResult", "partitioned_auction", "partition_graph"]

log = logging.getLogger(__name__)


@dataclass
class PartitionedResult:
    """Result of :func:`partitioned_auction`.

    Attributes
    ----------
    rows, cols : ndarray of int64
        The matching, rows ascending.
    objective : float
        Total similarity of the pairs.
    info : dict
        ``blocks`` (number of blocks solved), ``components`` (connected components),
        ``partitioner`` (``"none"``, ``"metis"`` or ``"fallback"``), ``cut_edges``
        (candidate pairs between blocks, not available to the block solves),
        ``objective_blocks`` (before refinement).
    """

    rows: np.ndarray
    cols: np.ndarray
    objective: float
    info: dict = field(default_factory=dict)


def _pair_values(S, rows, cols) -> np.ndarray:
    return np.asarray(S[rows, cols]).ravel() if len(rows) else np.zeros(0)


def partition_graph(S, n_parts: int, *, partitioner: str = "auto", seed: int = 0):
    """Split the rows and columns of a bipartite candidate graph into ``n_parts`` blocks.

    Parameters
    ----------
    S : scipy.sparse.csr_matrix, shape (n1, n2)
        Candidate similarities (higher = stronger edge).
    n_parts : int
        Number of blocks (>= 1).
    partitioner : {"auto", "metis", "fallback"}
        ``auto``: METIS (``pymetis``) when installed, else the fallback (module docstring).
    seed : int
        METIS seed (its result is deterministic for a given seed).

    Returns
    -------
    row_part : ndarray of int64, shape (n1,)
    col_part : ndarray of int64, shape (n2,)
    used : str
        ``"metis"`` or ``"fallback"``.

    Raises
    ------
    InputError
        Unknown partitioner, or ``metis`` without ``pymetis``.
    """
    import scipy.sparse as sp

    if partitioner not in ("auto", "metis", "fallback"):
        raise InputError(f"unknown partitioner {partitioner!r}; use auto, metis or fallback")
    S = sp.csr_matrix(S)
    n1, n2 = S.shape
    if n_parts <= 1:
        return np.zeros(n1, np.int64), np.zeros(n2, np.int64), "none"
    lo = float(S.data.min()) if S.nnz else 0.0
    hi = float(S.data.max()) if S.nnz else 0.0
    w = 1 + np.round(99 * (S.data - lo) / (hi - lo)).astype(np.int64) if hi > lo else np.ones(S.nnz, np.int64)
    if partitioner in ("auto", "metis"):
        try:
            import pymetis

            have_metis = True
        except ImportError:
            if partitioner == "metis":
                raise InputError("partitioner='metis' needs the optional package pymetis") from None
            have_metis = False
        if have_metis:
            W = sp.csr_matrix((w.astype(np.float64), S.indices, S.indptr), shape=(n1, n2))
            A = sp.bmat([[None, W], [W.T, None]], format="csr")  # nodes: rows, then columns
            A.sum_duplicates()
            opts = pymetis.Options(seed=seed)
            adj = pymetis.CSRAdjacency(A.indptr, A.indices)
            _, metis_parts = pymetis.part_graph(int(n_parts), adj, eweights=A.data.astype(np.int64), options=opts)
            parts = np.asarray(metis_parts, np.int64)
            return parts[:n1], parts[n1:], "metis"
    # fallback: rows ordered by their best column, equal chunks; a column joins the chunk of
    # its heaviest edge (columns without edges: chunk 0)
    best = np.full(n1, n2, np.int64)
    nz = np.diff(S.indptr) > 0
    if S.nnz:
        arg = np.asarray(S.argmax(axis=1)).ravel()
        best[nz] = arg[nz]
    order = np.argsort(best, kind="stable")
    row_part = np.empty(n1, np.int64)
    row_part[order] = (np.arange(n1) * n_parts) // max(n1, 1)
    C = S.tocsc()
    col_part = np.zeros(n2, np.int64)
    has = np.diff(C.indptr) > 0
    if C.nnz:
        top_row = np.asarray(C.argmax(axis=0)).ravel()
        col_part[has] = row_part[top_row[has]]
    return row_part, col_part, "fallback"


def partitioned_auction(
    S, *, block_rows: int | None = None, refine: bool = True, partitioner: str = "auto", seed: int = 0
) -> PartitionedResult:
    """Maximum-similarity matching of a sparse candidate graph, by blocks when it is large.

    Parameters
    ----------
    S : scipy.sparse matrix, shape (n1, n2)
        Candidate similarities (finite; absent = not a candidate).
    block_rows : int, optional
        Most rows solved by one auction; None or ``>= n1``: the whole graph at once.
    refine : bool, default True
        Re-exchange refinement on the whole graph afterwards (repairs the seams).
    partitioner : {"auto", "metis", "fallback"}
        See :func:`partition_graph`.
    seed : int
        Partitioner seed.

    Returns
    -------
    PartitionedResult

    Raises
    ------
    InputError
        Bad matrix or options (as :func:`kgalign.matching.auction`).

    Notes
    -----
    Blocks never share a row or a column, so their matchings combine into one matching. Within
    a block the auction is within ``n_block * epsilon`` of the block optimum; what partitioning
    loses are the cut pairs, which refinement can take back by exchanges and moves
    (``benchmarks/SOLVERS.md`` reports the objective lost against the whole-graph solve).
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    from kgalign.matching.auction import _default_unmatched, auction
    from kgalign.matching.refine import refine as refine_fn

    if not sp.issparse(S):
        raise InputError("partitioned_auction takes a scipy.sparse candidate graph")
    S = S.tocsr()
    n1, n2 = S.shape
    if block_rows is not None and int(block_rows) < 1:
        raise InputError(f"block_rows must be >= 1, got {block_rows}")
    info: dict = {"blocks": 1, "components": 1, "partitioner": "none", "cut_edges": 0}
    if block_rows is None or n1 <= int(block_rows):
        res = auction(S)
        rows, cols = res.rows, res.cols
        info["objective_blocks"] = float(res.matched_similarity)
    else:
        block_rows = int(block_rows)
        A = sp.bmat([[None, S], [S.T, None]], format="csr")
        n_comp, label = connected_components(A, directed=False)
        rlab, clab = label[:n1], label[n1:]
        comp_rows = np.bincount(rlab, minlength=n_comp)
        row_block = np.full(n1, -1, np.int64)
        col_block = np.full(n2, -1, np.int64)
        n_blocks = 0
        # small components: packed (in component order) into blocks of <= block_rows rows
        small = np.flatnonzero(comp_rows <= block_rows)
        comp_block = np.full(n_comp, -1, np.int64)
        fill = block_rows
        for c in small:
            if fill + comp_rows[c] > block_rows:
                n_blocks += 1
                fill = 0
            comp_block[c] = n_blocks - 1
            fill += comp_rows[c]
        ok_r = comp_block[rlab] >= 0
        row_block[ok_r] = comp_block[rlab[ok_r]]
        ok_c = comp_block[clab] >= 0
        col_block[ok_c] = comp_block[clab[ok_c]]
        used = "none"
        for c in np.flatnonzero(comp_rows > block_rows):  # large components: partitioned
            r_idx = np.flatnonzero(rlab == c)
            c_idx = np.flatnonzero(clab == c)
            parts = -(-len(r_idx) // block_rows)
            rp, cp, used = partition_graph(S[r_idx][:, c_idx], parts, partitioner=partitioner, seed=seed)
            row_block[r_idx] = n_blocks + rp
            col_block[c_idx] = n_blocks + cp
            n_blocks += parts
        coo = S.tocoo()
        cut = row_block[coo.row] != col_block[coo.col]
        info.update(blocks=int(n_blocks), components=int(n_comp), partitioner=used, cut_edges=int(cut.sum()))
        log.info(
            "partitioned matching: %d rows in %d blocks (%d components, %s), %d cut edges",
            n1,
            n_blocks,
            n_comp,
            used,
            int(cut.sum()),
        )
        x = np.full(n1, -1, np.int64)
        r_order = np.argsort(row_block, kind="stable")
        c_order = np.argsort(col_block, kind="stable")
        r_bounds = np.searchsorted(row_block[r_order], np.arange(n_blocks + 1))
        c_bounds = np.searchsorted(col_block[c_order], np.arange(n_blocks + 1))
        for b in range(n_blocks):
            rb = r_order[r_bounds[b] : r_bounds[b + 1]]
            cb = c_order[c_bounds[b] : c_bounds[b + 1]]
            if len(rb) == 0 or len(cb) == 0:
                continue
            sub = S[rb][:, cb]
            if sub.nnz == 0:
                continue
            res = auction(sub)
            x[rb[res.rows]] = cb[res.cols]
        rows = np.flatnonzero(x >= 0).astype(np.int64)
        cols = x[rows]
        info["objective_blocks"] = float(_pair_values(S, rows, cols).sum())
    if refine and len(rows):
        lo = float(S.data.min()) if S.nnz else 0.0
        hi = float(S.data.max()) if S.nnz else 0.0
        t = _default_unmatched(lo, hi, n1)  # below every pair: unmatched rows take free columns
        rows, cols = refine_fn(S, rows, cols, unmatched_value=t)
    objective = float(_pair_values(S, rows, cols).sum())
    return PartitionedResult(rows=rows, cols=cols, objective=objective, info=info)
