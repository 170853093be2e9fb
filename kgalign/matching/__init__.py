"""Matching core: exact dense assignment, sparse auction, refinement, baselines, candidates
(top-k graphs from a dense matrix, ``topk_rows``, or from embeddings, ``topk_candidates``).

All solvers run in the C++ extension ``kgalign._core`` with the GIL released; this package
validates input the way scipy does, and :mod:`kgalign.matching._status` is the one table that
turns the core's status codes into :class:`~kgalign.errors.InputError` or
:class:`~kgalign.errors.SolverError`. Similarities are maximised (``linear_sum_assignment``
minimises costs unless ``maximize=True``).
"""

from __future__ import annotations

from kgalign.matching.auction import AuctionResult, auction
from kgalign.matching.lap import linear_sum_assignment
from kgalign.matching.refine import greedy_matching, mutual_nearest, rank_alternatives, refine
from kgalign.matching.topk import topk_candidates, topk_rows

__all__ = [
    "AuctionResult",
    "auction",
    "greedy_matching",
    "linear_sum_assignment",
    "mutual_nearest",
    "rank_alternatives",
    "refine",
    "topk_candidates",
    "topk_rows",
]
