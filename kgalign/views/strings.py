"""String view: character n-gram TF-IDF cosine of (translated) names."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def ngram_vectors(texts1: Sequence[str], texts2: Sequence[str], ngram_range=(1, 3),
                  analyzer: str = "char_wb", min_df: int = 1):
    """TF-IDF vectors of two text lists in one shared vocabulary.

    Character n-grams within word boundaries (``char_wb``) are robust to transliteration
    variants and word order; sublinear TF and an IDF fitted on both lists down-weight
    n-grams that are frequent in either graph.

    Parameters
    ----------
    texts1, texts2 : sequence of str
        Names of all entities of each graph (empty strings are allowed: zero rows).
    ngram_range : (int, int)
        Smallest and largest n-gram length.
    analyzer : {"char_wb", "char", "word"}
        Passed to :class:`sklearn.feature_extraction.text.TfidfVectorizer`.
    min_df : int
        Ignore n-grams that occur in fewer texts.

    Returns
    -------
    (scipy.sparse.csr_matrix, scipy.sparse.csr_matrix)
        float32 matrices of shapes (len(texts1), V) and (len(texts2), V), unit-norm rows
        (or zero rows for texts without any n-gram).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts1, texts2 = [t or "" for t in texts1], [t or "" for t in texts2]
    vec = TfidfVectorizer(analyzer=analyzer, ngram_range=tuple(ngram_range), sublinear_tf=True,
                          min_df=min_df, dtype=np.float32, lowercase=True)
    try:
        vec.fit(texts1 + texts2)
    except ValueError:  # empty vocabulary: no text has any n-gram
        import scipy.sparse as sp

        return (sp.csr_matrix((len(texts1), 1), dtype=np.float32),
                sp.csr_matrix((len(texts2), 1), dtype=np.float32))
    return vec.transform(texts1).tocsr(), vec.transform(texts2).tocsr()


def sparse_cosine_into(out: np.ndarray, X1, X2, weight: float = 1.0, block: int = 2048) -> np.ndarray:
    """``out += weight * X1 @ X2.T`` for sparse unit-norm rows, in row blocks.

    Computing the product in blocks keeps the intermediate sparse result (which is nearly
    dense for character n-grams) small.

    Parameters
    ----------
    out : ndarray of float32, shape (n1, n2)
        Accumulator, modified in place.
    X1, X2 : scipy.sparse matrix, shapes (n1, V) and (n2, V)
    weight : float
    block : int
        Rows per block.

    Returns
    -------
    ndarray
        ``out``.
    """
    import scipy.sparse as sp

    X2 = sp.csr_matrix(X2, dtype=np.float32)
    X1 = sp.csr_matrix(X1, dtype=np.float32)
    # sparse (n2, V) @ dense (V, b) is about twice as fast as a sparse-sparse product whose
    # result is nearly dense; the dense block is capped at ~128 MiB.
    block = max(1, min(int(block), (1 << 25) // max(1, X1.shape[1])))
    for start in range(0, X1.shape[0], block):
        stop = min(start + block, X1.shape[0])
        dense = np.asarray(X2 @ X1[start:stop].T.toarray(), dtype=np.float32).T
        if weight != 1.0:
            dense *= np.float32(weight)
        out[start:stop] += dense
    return out
