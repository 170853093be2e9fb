"""The fused similarity of the sparse path as a function of any pair.

The candidate graph stores the fused similarity of its pairs only. :class:`PairScorer` keeps
what built those values (the weighted inner-product views, the CSLS means, the last
self-training round's anchor profiles, the divisor) so that pairs outside the graph can be
scored alike: the residual re-solve (:mod:`kgalign.matching.residual`) needs the dense
block of the rows the graph leaves unsettled.

Memory: the scorer keeps the name + structure feature matrices of the matched entities
(float32, ``len(sources) x D`` and ``len(targets) x D``; D = 1,152 with the default views) and
the string / attribute / anchor-profile vectors alive until the matching stage ends; with
``matching.residual_cells: 0`` no scorer is built and they are freed after the similarity stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["PairScorer"]


@dataclass
class PairScorer:
    """The fused similarity of the sparse path, for any pair (not only stored ones).

    ``score(i, j) = (sum_t w_t A_t[i] . B_t[j]  ->  CSLS  ->  + sum_h w_h P_h[i] . Q_h[j]) / total``:
    the terms (``(w, A, B)``, dense or CSR, rows indexed like the similarity's rows and
    columns; a max term adds ``w max_k A_k[i] . B_k[j]``) before the CSLS correction, the CSLS
    means, the self-training anchor profiles after it, and the divisor, as
    :func:`kgalign.aligner.similarity.compute_similarity` builds them in sparse mode.

    Attributes
    ----------
    terms : list of (float, array, array)
        Weighted inner-product terms of the base similarity (names + structure features,
        strings, attributes).
    max_terms : list of (float, list of (array, array))
        Weighted terms that keep the largest of several inner products (the string view over
        several readings of the names, :mod:`kgalign.aligner.readings`).
    csls : (ndarray, ndarray) or None
        ``(r_row, r_col)`` of :func:`kgalign.aligner.similarity.csls_sparse`: a pair's base
        value ``v`` becomes ``2 v - r_row[i] - r_col[j]``.
    profiles : list of (float, csr_matrix, csr_matrix)
        The last self-training round's anchor profiles per hop.
    total : float
        Divisor (the total weight of the views), or 0 for none.
    """

    terms: list = field(default_factory=list)
    max_terms: list = field(default_factory=list)
    csls: tuple | None = None
    profiles: list = field(default_factory=list)
    total: float = 0.0

    def _finish(self, base: np.ndarray, rows, cols, prof) -> np.ndarray:
        if self.csls is not None:
            r_row, r_col = self.csls
            base = 2.0 * base.astype(np.float64) - r_row[rows] - r_col[cols]
        out = np.asarray(base, dtype=np.float32)
        for w, p in prof:
            out += np.float32(w) * p
        if self.total > 0:
            out /= np.float32(self.total)
        return out

    def pairs(self, rows, cols) -> np.ndarray:
        """Scores of the pairs ``(rows[p], cols[p])``.

        Parameters
        ----------
        rows, cols : array_like of int, shape (p,)
            Row and column indices of the similarity.

        Returns
        -------
        ndarray of float32, shape (p,)
        """
        from kgalign.aligner.views.strings import pair_dot

        rows = np.asarray(rows, np.int64)
        cols = np.asarray(cols, np.int64)
        base = np.zeros(len(rows), np.float32)
        for w, A, B in self.terms:
            if isinstance(A, np.ndarray):
                base += np.float32(w) * np.einsum("ij,ij->i", A[rows], B[cols])
            else:
                base += np.float32(w) * pair_dot(A, B, rows, cols)
        if self.max_terms:
            from kgalign.aligner.views.strings import max_pair_dot

            for w, pairs in self.max_terms:
                base += np.float32(w) * max_pair_dot(pairs, rows, cols)
        prof = [(w, pair_dot(P, Q, rows, cols)) for w, P, Q in self.profiles]
        return self._finish(base, rows, cols, prof)

    def block(self, rows, cols) -> np.ndarray:
        """The dense block of scores of every pair in ``rows x cols``.

        Parameters
        ----------
        rows : array_like of int, shape (u,)
        cols : array_like of int, shape (v,)

        Returns
        -------
        ndarray of float32, shape (u, v)
        """
        rows = np.asarray(rows, np.int64)
        cols = np.asarray(cols, np.int64)

        def prod(A, B):
            if isinstance(A, np.ndarray):
                return A[rows] @ B[cols].T
            return (A[rows] @ B[cols].T).toarray()

        base = np.zeros((len(rows), len(cols)), np.float32)
        for w, A, B in self.terms:
            base += np.float32(w) * prod(A, B)
        for w, pairs in self.max_terms:
            best = None
            for A, B in pairs:
                p = prod(A, B)
                best = p if best is None else np.maximum(best, p, out=best)
            base += np.float32(w) * best
        prof = [(w, prod(P, Q)) for w, P, Q in self.profiles]
        return self._finish(base, rows[:, None], cols[None, :], prof)
