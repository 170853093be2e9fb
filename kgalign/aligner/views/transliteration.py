"""Transliteration view learned by bootstrapping: which source characters spell which English letters.

A name transliterated into another script keeps its sound, character by character: 迈克尔
is "Michael" wherever it occurs, 斯 is mostly "s", 郡 "County". A fixed romanisation
(pypinyin: ``maikeer``) is far from the English spelling; the spelling can instead be learned
from the pairs that the other views already match with confidence, without gold links
(bootstrapping, as in transliteration mining from comparable data, e.g. Sajjad, Fraser and
Schmid, ACL 2012; Jiampojamarn et al., NAACL 2007 for the many-to-many character links):

1. pseudo-anchors: the mutual-best pairs of the current similarity with a margin over the
   row's runner-up (:func:`kgalign.aligner.selftrain.confident_pairs`);
2. units: character unigrams and bigrams of the source names in their own script, character
   n-grams (within word boundaries) of the target names folded to ASCII;
3. associations: positive pointwise mutual information of a source unit and a target n-gram
   over the anchor pairs (both present in a pair), from co-occurrence counts of at least
   ``min_count``;
4. every source name becomes the sum of its units' association rows, IDF-weighted like the
   target n-grams; the view is the cosine of that projection and the target's n-gram vector.

Anchors whose names are translations, not transliterations, only add weak, spread
associations; a unit seen in few anchors gets none (``min_count``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

__all__ = ["learn_associations", "transliteration_vectors", "is_non_latin"]

log = logging.getLogger(__name__)


def is_non_latin(texts: Sequence[str], share: float = 0.5) -> bool:
    """Whether at least ``share`` of the non-empty texts hold a letter outside the Latin script.

    Parameters
    ----------
    texts : sequence of str
    share : float
        Required fraction (0..1).

    Returns
    -------
    bool
        False for no non-empty text.
    """
    from kgalign.aligner.romanize import _is_latin

    texts = [t for t in texts if t]
    if not texts:
        return False
    n = sum(any(ch.isalpha() and not _is_latin(ch) for ch in t) for t in texts)
    return n >= share * len(texts)


def _units(texts1: Sequence[str], texts2: Sequence[str], source_ngrams=(1, 2), target_ngrams=(2, 4)):
    """Binary unit matrices: character n-grams of ``texts1`` in their own script and
    ``char_wb`` n-grams of ``texts2`` folded to lower-case ASCII (``anyascii``)."""
    from sklearn.feature_extraction.text import CountVectorizer

    from kgalign.aligner.romanize import _anyascii

    fold = _anyascii()
    t1 = [t or "" for t in texts1]
    t2 = [fold(t or "").lower() for t in texts2]
    out = []
    for texts, analyzer, rng in ((t1, "char", source_ngrams), (t2, "char_wb", target_ngrams)):
        vec = CountVectorizer(analyzer=analyzer, ngram_range=tuple(rng), lowercase=True, binary=True, dtype=np.float32)
        try:
            out.append(vec.fit_transform(texts).tocsr())
        except ValueError:  # empty vocabulary
            import scipy.sparse as sp

            out.append(sp.csr_matrix((len(texts), 1), dtype=np.float32))
    return out[0], out[1]


def learn_associations(U1, U2, rows, cols, min_count: int = 2, top: int = 32):
    """Positive PMI of source units and target n-grams over anchor pairs.

    Parameters
    ----------
    U1 : scipy.sparse matrix, shape (n1, V1)
        Binary source units of the rows.
    U2 : scipy.sparse matrix, shape (n2, V2)
        Binary target n-grams of the columns.
    rows, cols : array_like of int, shape (k,)
        The anchor pairs (rows of ``U1``, rows of ``U2``).
    min_count : int
        Associations seen in fewer anchor pairs are dropped.
    top : int
        Per source unit, only its ``top`` strongest associations are kept (ties to the smaller
        n-gram index): a unit spells a few letter sequences, and the projection of a name
        stays sparse (about ``top`` entries per unit).

    Returns
    -------
    scipy.sparse.csr_matrix of float32, shape (V1, V2)
        ``max(0, log(c(u, g) k / (c(u) c(g))))`` for ``c(u, g) >= min_count``; all zero for
        no anchor.
    """
    import scipy.sparse as sp

    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    V1, V2 = U1.shape[1], U2.shape[1]
    k = len(rows)
    if k == 0:
        return sp.csr_matrix((V1, V2), dtype=np.float32)
    A1 = sp.csr_matrix(U1)[rows]
    A2 = sp.csr_matrix(U2)[cols]
    C = (A1.T @ A2).tocoo()
    c1 = np.asarray(A1.sum(axis=0)).ravel()
    c2 = np.asarray(A2.sum(axis=0)).ravel()
    keep = C.data >= min_count
    r, c, n = C.row[keep], C.col[keep], C.data[keep].astype(np.float64)
    pmi = np.log(n * k / (c1[r] * c2[c]))
    pos = pmi > 0
    r, c, pmi = r[pos], c[pos], pmi[pos]
    o = np.lexsort((c, -pmi, r))  # by unit, strongest first, ties to the smaller n-gram
    r, c, pmi = r[o], c[o], pmi[o]
    start = np.searchsorted(r, r, side="left")
    keep = np.arange(len(r)) - start < max(1, int(top))
    return sp.csr_matrix((pmi[keep].astype(np.float32), (r[keep], c[keep])), shape=(V1, V2))


def transliteration_vectors(
    texts1: Sequence[str],
    texts2: Sequence[str],
    rows,
    cols,
    min_count: int = 2,
    source_ngrams=(1, 2),
    top: int = 32,
):
    """The learned transliteration view as two unit-norm matrices whose row dot products are its cosines.

    Parameters
    ----------
    texts1 : sequence of str, length n1
        Source names in their own script (the untranslated labels).
    texts2 : sequence of str, length n2
        Target names (Latin script, accents folded).
    rows, cols : array_like of int, shape (k,)
        Pseudo-anchors: positions in ``texts1`` / ``texts2`` of confidently matched pairs.
    min_count, top : int
        See :func:`learn_associations`.
    source_ngrams : (int, int)
        Character n-gram lengths of the source units.

    Returns
    -------
    P : scipy.sparse.csr_matrix of float32, shape (n1, V)
        Projected source names (unit rows; zero rows for names without an associated unit).
    Q : scipy.sparse.csr_matrix of float32, shape (n2, V)
        IDF-weighted target n-grams (unit rows).
    """
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    U1, U2 = _units(texts1, texts2, source_ngrams)
    M = learn_associations(U1, U2, rows, cols, min_count, top)
    df = np.asarray(U2.sum(axis=0)).ravel()
    idf = sp.diags(np.log1p(U2.shape[0] / np.maximum(df, 1.0)).astype(np.float32))
    P = normalize(normalize(U1 @ M) @ idf).astype(np.float32).tocsr()
    Q = normalize(U2 @ idf).astype(np.float32).tocsr()
    log.info("transliteration learned from %d pseudo-anchors: %d associations", len(np.asarray(rows)), M.nnz)
    return P, Q
