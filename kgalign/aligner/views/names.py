"""Name-embedding view: language-mean centering."""

from __future__ import annotations

import numpy as np


def l2_normalize(X: np.ndarray) -> np.ndarray:
    """Rows of ``X`` scaled to unit L2 norm (zero rows stay zero); float32 copy."""
    X = np.asarray(X, dtype=np.float32)
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    norm[norm == 0] = 1.0
    return (X / norm).astype(np.float32, copy=False)


def center_embeddings(emb: np.ndarray, center: bool = True) -> np.ndarray:
    """Subtract the graph's mean embedding, then L2-normalise each row.

    Sentence embeddings of two languages (or of two graphs) occupy shifted subspaces; removing
    each side's mean before the cosine makes them comparable (Chang, Lin, Wang, Tsai: "Geometry
    of multilingual language model representations", EMNLP 2022: mean-shifted language
    subspaces are similar).

    Parameters
    ----------
    emb : ndarray of float, shape (n, d)
        Embeddings of **all** entities of one graph (the mean is taken over the whole graph,
        never over a gold-dependent subset).
    center : bool
        When False only the normalisation is applied.

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
    if center and len(emb):
        emb = emb - emb.mean(axis=0, keepdims=True)
    return l2_normalize(emb)
