"""Name-embedding view: language-mean centering and removal of language-sensitive directions."""

from __future__ import annotations

import numpy as np


def l2_normalize(X: np.ndarray) -> np.ndarray:
    """Rows of ``X`` scaled to unit L2 norm (zero rows stay zero); float32 copy."""
    X = np.asarray(X, dtype=np.float32)
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    norm[norm == 0] = 1.0
    return (X / norm).astype(np.float32, copy=False)


#: Fewest entities whose mean is subtracted: the mean of a tiny graph is mostly its entities
#: themselves (a graph of one entity would be centred to a zero vector), not a language shift.
MIN_CENTER = 5


def center_embeddings(emb: np.ndarray, center: bool = True) -> np.ndarray:
    """Subtract the graph's mean embedding, then L2-normalise each row.

    Sentence embeddings of two languages (or of two graphs) occupy shifted subspaces; removing
    each side's mean before the cosine makes them comparable (Chang, Tu, Bergen: "The Geometry
    of Multilingual Language Model Representations", EMNLP 2022: after mean-centering the
    language subspaces are similar).

    Parameters
    ----------
    emb : ndarray of float, shape (n, d)
        Embeddings of **all** entities of one graph (the mean is taken over the whole graph,
        never over a gold-dependent subset).
    center : bool
        When False only the normalisation is applied; graphs of fewer than
        :data:`MIN_CENTER` entities are never centred.

    Returns
    -------
    ndarray of float32, shape (n, d)
        Unit-norm rows (a row equal to the mean becomes zero).

    Raises
    ------
    ValueError
        If ``emb`` is not two-dimensional.
    """
    emb = np.asarray(emb, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (n, d), got shape {emb.shape}")
    if center and len(emb) >= MIN_CENTER:
        emb = emb - emb.mean(axis=0, keepdims=True)
    return l2_normalize(emb)


def language_directions(emb1: np.ndarray, emb2: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` directions that best separate the embeddings of two graphs (languages).

    Iterated linear discriminant analysis: the first direction is the two-class LDA axis
    ``w = S^-1 (mu_1 - mu_2)`` of the two graphs' embeddings (the language-sensitive axes of
    Chang, Tu, Bergen, EMNLP 2022), with ``S`` the pooled within-graph covariance shrunk by
    Ledoit-Wolf (scikit-learn), which keeps it invertible when a graph has fewer entities than
    dimensions; each next direction is the LDA axis within the orthogonal complement of the
    directions found so far (iterative nullspace projection, Ravfogel et al.: "Null it out",
    ACL 2020; the shrunk covariance is estimated once and restricted to the complement). Only
    the two graphs' own embeddings are used (no link).

    Parameters
    ----------
    emb1, emb2 : ndarray of float, shape (n1, d) and (n2, d)
        Embeddings of all entities of each graph.
    n : int
        Directions wanted (at most ``d - 1``).

    Returns
    -------
    ndarray of float64, shape (d, m)
        Orthonormal columns, ``m <= n`` (fewer when the graph means coincide in the complement).

    Raises
    ------
    ValueError
        When the embeddings' widths differ, or a graph has fewer than two entities.
    """
    from sklearn.covariance import ledoit_wolf

    A = np.asarray(emb1, dtype=np.float64)
    B = np.asarray(emb2, dtype=np.float64)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[1]:
        raise ValueError(f"embeddings must be 2-D with the same width, got {A.shape} and {B.shape}")
    if len(A) < 2 or len(B) < 2:
        raise ValueError("each graph needs at least two entities to find language directions")
    d = A.shape[1]
    diff = A.mean(axis=0) - B.mean(axis=0)
    S, _ = ledoit_wolf(np.concatenate([A - A.mean(axis=0), B - B.mean(axis=0)]), assume_centered=True)
    Q = np.zeros((d, 0))
    for _ in range(max(0, min(int(n), d - 1))):
        P = np.eye(d) - Q @ Q.T
        dm = P @ diff
        if np.linalg.norm(dm) < 1e-12 * max(1.0, float(np.linalg.norm(diff))):
            break
        # LDA within the complement: (P S P) w = P dm, with the found directions mapped to themselves
        w = P @ np.linalg.solve(P @ S @ P + Q @ Q.T, dm)
        norm = np.linalg.norm(w)
        if not np.isfinite(norm) or norm < 1e-12:
            break
        Q = np.concatenate([Q, (w / norm)[:, None]], axis=1)
    return Q


def remove_language_directions(emb1: np.ndarray, emb2: np.ndarray, n: int, center: bool = True):
    """Mean-centre each graph's embeddings and project out their top ``n`` language directions.

    Parameters
    ----------
    emb1, emb2 : ndarray of float, shape (n1, d) and (n2, d)
        Embeddings of **all** entities of each graph.
    n : int
        Language-sensitive directions to remove (:func:`language_directions`); 0 only centres.
    center : bool
        Subtract each graph's mean (before or after the projection: they commute).

    Returns
    -------
    (ndarray of float32 (n1, d), ndarray of float32 (n2, d))
        The edited embeddings (not re-normalised: :func:`center_embeddings` does that).
    """
    A = np.asarray(emb1, dtype=np.float32)
    B = np.asarray(emb2, dtype=np.float32)
    Q = language_directions(A, B, n) if n > 0 else np.zeros((A.shape[1] if A.ndim == 2 else 0, 0))
    out = []
    for X in (A, B):
        if center and len(X):
            X = X - X.mean(axis=0, keepdims=True)
        if Q.shape[1]:
            Qf = Q.astype(np.float32)
            X = X - (X @ Qf) @ Qf.T
        out.append(np.ascontiguousarray(X, dtype=np.float32))
    return out[0], out[1]
