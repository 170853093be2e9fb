"""String view: character n-gram TF-IDF cosine of (translated) names."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def ngram_vectors(
    texts1: Sequence[str], texts2: Sequence[str], ngram_range=(1, 3), analyzer: str = "char_wb", min_df: int = 1
):
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
    vec = TfidfVectorizer(
        analyzer=analyzer,
        ngram_range=tuple(ngram_range),
        sublinear_tf=True,
        min_df=min_df,
        dtype=np.float32,
        lowercase=True,
    )
    try:
        # one counting pass over both lists: fit_transform gives the rows transform would
        X = vec.fit_transform(texts1 + texts2).tocsr()
    except ValueError:  # empty vocabulary: no text has any n-gram
        import scipy.sparse as sp

        return (sp.csr_matrix((len(texts1), 1), dtype=np.float32), sp.csr_matrix((len(texts2), 1), dtype=np.float32))
    return X[: len(texts1)], X[len(texts1) :]


#: A shared column goes to the dense (BLAS) part of :func:`sparse_cosine_into` when
#: ``df1 * df2 > n1 * n2 / DENSE_COLUMN_RATIO`` (df: rows holding the column): a multiply-add
#: of the scattered sparse product costs roughly as much as this many of a dense BLAS product
#: (chosen on DBP15K zh_en names; 400 to 3000 timed alike on a 2-core machine).
DENSE_COLUMN_RATIO = 1000.0
#: Cells of the larger side's densified column chunk in :func:`sparse_cosine_into` (256 MiB).
_DENSE_CHUNK_CELLS = 1 << 26


def sparse_cosine_into(out: np.ndarray, X1, X2, weight: float = 1.0, block: int = 2048) -> np.ndarray:
    """``out += weight * X1 @ X2.T`` for sparse rows, split into a dense and a sparse product.

    Character n-gram (and anchor-profile) products are nearly dense because of a few very
    frequent columns (single letters, common bigrams, hub anchors), yet most columns are rare.
    Columns held by many rows of both sides go into a dense float32 matrix product (BLAS,
    multi-threaded); the remaining shared columns into a sparse-sparse product whose few
    non-zeros are added in place; columns present on one side only contribute nothing and
    are dropped. The result equals ``X1 @ X2.T`` up to float32 rounding (the split depends
    on column document frequencies only, never on row order).

    Parameters
    ----------
    out : ndarray of float32, shape (n1, n2)
        Accumulator, modified in place.
    X1, X2 : scipy.sparse matrix or ndarray, shapes (n1, V) and (n2, V)
        Typically unit-norm rows (then each product entry is a cosine).
    weight : float
    block : int
        Rows per block of the intermediate products (bounds their memory).

    Returns
    -------
    ndarray
        ``out``.

    Raises
    ------
    ValueError
        When the shapes do not agree.
    """
    import scipy.sparse as sp

    X1 = sp.csr_matrix(X1, dtype=np.float32)
    X2 = sp.csr_matrix(X2, dtype=np.float32)
    # sum_duplicates below works in place: never on the caller's arrays
    if not X1.has_canonical_format:
        X1 = X1.copy()
    if not X2.has_canonical_format:
        X2 = X2.copy()
    n1, n2 = X1.shape[0], X2.shape[0]
    if X1.shape[1] != X2.shape[1] or out.shape != (n1, n2):
        raise ValueError(f"shapes do not agree: out {out.shape}, X1 {X1.shape}, X2 {X2.shape}")
    if n1 == 0 or n2 == 0 or weight == 0:
        return out
    X1.sum_duplicates()
    X2.sum_duplicates()
    df1 = np.bincount(X1.indices, minlength=X1.shape[1]).astype(np.float64)
    df2 = np.bincount(X2.indices, minlength=X2.shape[1]).astype(np.float64)
    cost = df1 * df2
    dense_cols = np.nonzero(cost > n1 * n2 / DENSE_COLUMN_RATIO)[0]
    sparse_cols = np.nonzero((cost > 0) & (cost <= n1 * n2 / DENSE_COLUMN_RATIO))[0]
    w = np.float32(weight)
    # at most ~64 MiB per intermediate block, whatever the caller's block
    block = max(1, min(int(block), (1 << 24) // max(1, n2)))
    if len(dense_cols):
        buf = np.empty((min(block, n1), n2), np.float32)
        # column chunks keep the densified parts within ~256 MiB per side
        step = max(1, _DENSE_CHUNK_CELLS // max(n1, n2))
        for c0 in range(0, len(dense_cols), step):
            cols = dense_cols[c0 : c0 + step]
            D1 = X1[:, cols].toarray()
            D2t = np.ascontiguousarray(X2[:, cols].toarray().T)
            if w != 1:
                D1 *= w
            for start in range(0, n1, block):
                stop = min(start + block, n1)
                part = buf[: stop - start]
                np.matmul(D1[start:stop], D2t, out=part)
                out[start:stop] += part
            del D1, D2t
        del buf
    if len(sparse_cols):
        Y1 = X1[:, sparse_cols].tocsr()
        Y2t = X2[:, sparse_cols].T.tocsr()
        for start in range(0, n1, block):
            stop = min(start + block, n1)
            P = (Y1[start:stop] @ Y2t).tocsr()  # CSR products hold each (row, col) once
            if P.nnz == 0:
                continue
            rows = np.repeat(np.arange(stop - start), np.diff(P.indptr))
            view = out[start:stop]
            view[rows, P.indices] += P.data * w if w != 1 else P.data
    return out


def pair_dot(X1, X2, rows, cols, chunk: int = 1 << 17) -> np.ndarray:
    """Row-wise dot products ``X1[rows[p]] . X2[cols[p]]`` of two sparse matrices.

    The candidate-graph counterpart of :func:`sparse_cosine_into`: only the listed pairs are
    computed, so time and memory grow with the number of pairs, not with ``n1 * n2``.

    Parameters
    ----------
    X1, X2 : scipy.sparse matrix or ndarray, shapes (n1, V) and (n2, V)
    rows, cols : array_like of int, shape (p,)
        The pairs.
    chunk : int
        Pairs per step (bounds the memory of the gathered rows).

    Returns
    -------
    ndarray of float32, shape (p,)

    Raises
    ------
    ValueError
        When the vocabularies differ or the pair arrays differ in length.
    """
    import scipy.sparse as sp

    X1 = sp.csr_matrix(X1, dtype=np.float32)
    X2 = sp.csr_matrix(X2, dtype=np.float32)
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if X1.shape[1] != X2.shape[1] or rows.shape != cols.shape:
        raise ValueError(f"shapes do not agree: X1 {X1.shape}, X2 {X2.shape}, {rows.shape} rows, {cols.shape} cols")
    out = np.zeros(len(rows), np.float32)
    for s in range(0, len(rows), chunk):
        e = min(len(rows), s + chunk)
        prod = X1[rows[s:e]].multiply(X2[cols[s:e]])
        out[s:e] = np.asarray(prod.sum(axis=1), dtype=np.float32).ravel()
    return out


def max_cosine_into(out: np.ndarray, pairs, weight: float = 1.0, block: int = 2048) -> np.ndarray:
    """``out += weight * max_k X1_k @ X2_k.T``: the best of several inner-product views per pair.

    The string view over several readings of a name (:mod:`kgalign.aligner.readings`) keeps,
    per pair, the best cosine of any reading. Row blocks bound the memory to two
    ``block x n2`` float32 buffers besides ``out``.

    Parameters
    ----------
    out : ndarray of float32, shape (n1, n2)
        Accumulator, modified in place.
    pairs : sequence of (X1, X2)
        Sparse (or dense) matrices of shapes (n1, V_k) and (n2, V_k), one pair per reading.
    weight : float
    block : int
        Rows per block (at most ~64 MiB per buffer, whatever the caller's block).

    Returns
    -------
    ndarray
        ``out``.

    Raises
    ------
    ValueError
        No pair, or shapes that do not agree.
    """
    import scipy.sparse as sp

    pairs = [(sp.csr_matrix(X1, dtype=np.float32), sp.csr_matrix(X2, dtype=np.float32)) for X1, X2 in pairs]
    if not pairs:
        raise ValueError("max_cosine_into needs at least one pair of matrices")
    n1, n2 = out.shape
    for X1, X2 in pairs:
        if X1.shape[0] != n1 or X2.shape[0] != n2 or X1.shape[1] != X2.shape[1]:
            raise ValueError(f"shapes do not agree: out {out.shape}, X1 {X1.shape}, X2 {X2.shape}")
    if len(pairs) == 1:
        return sparse_cosine_into(out, pairs[0][0], pairs[0][1], weight, block)
    if n1 == 0 or n2 == 0 or weight == 0:
        return out
    block = max(1, min(int(block), (1 << 24) // max(1, n2)))
    best = np.empty((min(block, n1), n2), np.float32)
    tmp = np.empty_like(best)
    w = np.float32(weight)
    for start in range(0, n1, block):
        stop = min(start + block, n1)
        b, t = best[: stop - start], tmp[: stop - start]
        for k, (X1, X2) in enumerate(pairs):
            dst = b if k == 0 else t
            dst.fill(0.0)
            sparse_cosine_into(dst, X1[start:stop], X2, 1.0, block)
            if k:
                np.maximum(b, t, out=b)
        if w != 1:
            b *= w
        out[start:stop] += b
    return out


def max_pair_dot(pairs, rows, cols) -> np.ndarray:
    """Per listed pair the largest of the row-wise dot products of several matrix pairs.

    The candidate-graph counterpart of :func:`max_cosine_into`.

    Parameters
    ----------
    pairs : sequence of (X1, X2)
        As in :func:`max_cosine_into`.
    rows, cols : array_like of int, shape (p,)

    Returns
    -------
    ndarray of float32, shape (p,)
    """
    out = None
    for X1, X2 in pairs:
        v = pair_dot(X1, X2, rows, cols)
        out = v if out is None else np.maximum(out, v, out=out)
    if out is None:
        raise ValueError("max_pair_dot needs at least one pair of matrices")
    return out
