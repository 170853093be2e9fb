"""Structure view: neighbour propagation of entity features over the relation graph.

In the style of SEU (Mao, Wang, Wu, Lan: "From Alignment to Assignment: Frustratingly Simple
Unsupervised Entity Alignment", EMNLP 2021) and LightEA (Mao, Wu, Wang, Lan: "LightEA: A
Scalable, Robust, and Interpretable Entity Alignment Framework via Three-view Label
Propagation", EMNLP 2022): features are propagated with the row-normalised adjacency, each
hop is L2-normalised and the hops are concatenated, so the dot product of two concatenated
feature vectors is a weighted sum of per-hop cosines.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kgalign.aligner.views.names import l2_normalize


def normalized_adjacency(kg, weighting: str = "none", self_loops: bool = False):
    """Row-normalised, symmetric entity adjacency of a knowledge graph.

    Parameters
    ----------
    kg : KnowledgeGraph
        Uses ``kg.triples`` (head, relation, tail) positions; edges count in both directions.
    weighting : {"none", "irf"}
        ``"none"``: every triple weighs 1. ``"irf"``: inverse relation frequency, a triple of
        relation r weighs ``1 / sqrt(count(r))`` so that rare, informative relations count more.
    self_loops : bool
        Add the identity before normalising.

    Returns
    -------
    scipy.sparse.csr_matrix of float32, shape (n, n)
        Rows sum to 1 (rows of isolated entities are zero).

    Raises
    ------
    ValueError
        For an unknown ``weighting`` or triples out of range.
    """
    import scipy.sparse as sp

    n = kg.n_entities
    tr = np.asarray(kg.triples, dtype=np.int64).reshape(-1, 3)
    if len(tr) and (tr[:, [0, 2]].min() < 0 or tr[:, [0, 2]].max() >= n):
        raise ValueError(f"triples of {kg.source or 'graph'} refer to entities outside 0..{n - 1}")
    h, r, t = tr[:, 0], tr[:, 1], tr[:, 2]
    if weighting == "none":
        w = np.ones(len(tr), dtype=np.float32)
    elif weighting == "irf":
        counts = np.bincount(r) if len(r) else np.zeros(0, np.int64)
        w = (1.0 / np.sqrt(counts[r])).astype(np.float32) if len(r) else np.ones(0, np.float32)
    else:
        raise ValueError(f"unknown relation weighting {weighting!r}; use 'none' or 'irf'")
    rows = np.concatenate([h, t])
    cols = np.concatenate([t, h])
    A = sp.csr_matrix((np.concatenate([w, w]), (rows, cols)), shape=(n, n), dtype=np.float32)
    if self_loops:
        A = (A + sp.identity(n, dtype=np.float32, format="csr")).tocsr()
    deg = np.asarray(A.sum(axis=1)).ravel()
    inv = np.zeros_like(deg, dtype=np.float32)
    inv[deg > 0] = 1.0 / deg[deg > 0]
    return (sp.diags(inv) @ A).astype(np.float32).tocsr()


def propagate(A, X: np.ndarray, hops: int) -> list[np.ndarray]:
    """Hop features ``[X, A X, A^2 X, ...]``, each row-normalised.

    Parameters
    ----------
    A : scipy.sparse matrix, shape (n, n)
        Propagation matrix (e.g. :func:`normalized_adjacency`).
    X : ndarray of float32, shape (n, d)
    hops : int
        Number of propagation steps (>= 0).

    Returns
    -------
    list of ndarray of float32, length hops + 1, each of shape (n, d)
    """
    if hops < 0:
        raise ValueError("hops must be >= 0")
    X = np.asarray(X, dtype=np.float32)
    out = [l2_normalize(X)]
    H = X
    for _ in range(hops):
        H = np.asarray(A @ H, dtype=np.float32)
        out.append(l2_normalize(H))
    return out


def structure_features(A, X: np.ndarray, hop_weights: Sequence[float]) -> np.ndarray:
    """Concatenated, weighted hop features ``[sqrt(w_1) A X, sqrt(w_2) A^2 X, ...]``.

    The dot product of two such vectors equals ``sum_k w_k cos(A^k x_i, A^k y_j)``.

    Parameters
    ----------
    A : scipy.sparse matrix, shape (n, n)
    X : ndarray of float32, shape (n, d)
    hop_weights : sequence of float
        Weight of hop 1, 2, ... (hop 0, the features themselves, is not included).

    Returns
    -------
    ndarray of float32, shape (n, d * k) where k is the number of positive weights
        (shape (n, 0) when there is none).
    """
    hop_weights = [float(w) for w in hop_weights]
    if any(w < 0 for w in hop_weights):
        raise ValueError("hop weights must be >= 0")
    hops = propagate(A, X, len(hop_weights))[1:]
    parts = [np.sqrt(w, dtype=np.float32) * H for w, H in zip(hop_weights, hops) if w > 0]
    if not parts:
        return np.zeros((X.shape[0], 0), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)
