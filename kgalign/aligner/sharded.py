"""Sharded stages on an executor (:mod:`kgalign.executor`): loading both graphs, and matching
the connected components of a candidate graph as independent blocks.

Both are pure functions of their shards, and the shards do not depend on the executor (the
number of matching blocks is a parameter, not the number of workers), so a Ray run gives
exactly the local result. (Splitting a component that is too large, with seam repair, is
the partitioned matching of :mod:`kgalign.matching`; here components are solved whole.)
"""

from __future__ import annotations

import logging
import os

import numpy as np

from kgalign.executor import Executor, LocalExecutor

log = logging.getLogger(__name__)

__all__ = ["load_graphs", "match_blocks"]


def _load_one(spec, kwargs):
    from kgalign.io import load_kg

    return load_kg(spec, **kwargs)


def load_graphs(paths, *, executor: Executor | None = None, **kwargs):
    """Load several graph files, one per task (:func:`kgalign.io.load_kg` keyword arguments).

    Parameters
    ----------
    paths : sequence of str or os.PathLike
    executor : Executor, optional
        Default: this process. With Ray the files must be readable at the same path on the
        workers (a shared file system).
    **kwargs
        ``format``, ``encoding``, ``engine``.

    Returns
    -------
    list of KnowledgeGraph
    """
    executor = executor or LocalExecutor()
    return executor.map(_load_one, [os.fspath(p) for p in paths], kwargs)


def _solve_block(block, S, unmatched_value):
    from kgalign.matching import auction

    rows, cols = block
    sub = S[rows][:, cols]
    res = auction(sub, unmatched_value=unmatched_value)
    return rows[res.rows], cols[res.cols], float(res.objective)


def match_blocks(S, *, executor: Executor | None = None, n_blocks: int = 8, unmatched_value: float | None = None):
    """Maximum-similarity matching of a candidate graph, one auction per block of components.

    The bipartite candidate graph is split into its connected components
    (``scipy.sparse.csgraph.connected_components``); components are packed into ``n_blocks``
    blocks of about equal numbers of candidate pairs (largest first, each into the lightest
    block; deterministic) and each block is solved by :func:`kgalign.matching.auction` as a
    task of ``executor``. Components share no candidate, so the union of the block solutions
    is a matching of the whole graph.

    Parameters
    ----------
    S : scipy.sparse matrix, shape (n1, n2)
        Candidate similarities (e.g. from :func:`kgalign.aligner.candidates.search_candidates`).
    executor : Executor, optional
    n_blocks : int, default 8
        Blocks (tasks); independent of the executor so that every executor gives the same pairs.
    unmatched_value : float, optional
        Passed to the auction (default: the auction's, from each block's values).

    Returns
    -------
    rows, cols : ndarray of int64
        Matched pairs, rows ascending.
    info : dict
        ``components``, ``largest_component`` (rows + columns), ``blocks`` and ``objective``
        (sum of the block objectives).
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    executor = executor or LocalExecutor()
    S = sp.csr_matrix(S, dtype=np.float32)
    n1, n2 = S.shape
    G = sp.bmat([[None, S], [S.T, None]], format="csr")
    n_comp, labels = connected_components(G, directed=False)
    row_lab, col_lab = labels[:n1], labels[n1:]
    nnz_per_comp = np.bincount(row_lab, weights=np.diff(S.indptr), minlength=n_comp)
    sizes = np.bincount(labels, minlength=n_comp)
    order = np.argsort(-nnz_per_comp, kind="stable")
    order = order[nnz_per_comp[order] > 0]
    n_blocks = max(1, min(int(n_blocks), len(order)))
    load = np.zeros(n_blocks)
    block_of = np.full(n_comp, -1, dtype=np.int64)
    for c in order.tolist():
        b = int(np.argmin(load))
        block_of[c] = b
        load[b] += nnz_per_comp[c]
    rb, cb = block_of[row_lab], block_of[col_lab]
    blocks = [(np.flatnonzero(rb == b), np.flatnonzero(cb == b)) for b in range(n_blocks)]
    blocks = [blk for blk in blocks if len(blk[0]) and len(blk[1])]
    results = executor.map(_solve_block, blocks, S, unmatched_value)
    rows = np.concatenate([r[0] for r in results]) if results else np.zeros(0, np.int64)
    cols = np.concatenate([r[1] for r in results]) if results else np.zeros(0, np.int64)
    order = np.argsort(rows, kind="stable")
    info = {
        "components": int(n_comp),
        "largest_component": int(sizes.max()) if n_comp else 0,
        "blocks": len(blocks),
        "objective": float(sum(r[2] for r in results)),
    }
    return rows[order].astype(np.int64), cols[order].astype(np.int64), info
