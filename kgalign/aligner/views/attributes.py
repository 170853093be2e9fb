"""Attribute view: TF-IDF cosine of attribute literals (values and key names) per entity."""

from __future__ import annotations

import numpy as np

from kgalign.aligner.views.strings import ngram_vectors, sparse_cosine_into


def _key_name(iri: str) -> str:
    for sep in ("#", "/", ":"):
        if sep in iri:
            iri = iri.rsplit(sep, 1)[-1]
    return iri.replace("_", " ")


def attribute_texts(kg, include_keys: bool = True, skip_predicates=None) -> list[str]:
    """One text per entity: its attribute literals (and key local names), space-joined.

    Parameters
    ----------
    kg : KnowledgeGraph
        Uses ``kg.attributes`` ``(entity position, predicate IRI, value, language)``.
    include_keys : bool
        Also add the local name of each predicate (``birthDate`` -> ``birthDate``).
    skip_predicates : collection of str, optional
        Predicates to leave out; default: the label predicates
        (:data:`kgalign.kg.LABEL_PREDICATES`), which the name views already use.

    Returns
    -------
    list of str, length ``kg.n_entities`` (``""`` for entities without attributes)
    """
    from kgalign.kg import LABEL_PREDICATES

    skip = set(LABEL_PREDICATES if skip_predicates is None else skip_predicates)
    parts: list[list[str]] = [[] for _ in range(kg.n_entities)]
    for ent, pred, value, _lang in kg.attributes:
        if pred in skip:
            continue
        if include_keys:
            parts[ent].append(_key_name(pred))
        parts[ent].append(str(value))
    return [" ".join(p) for p in parts]


def has_attributes(kg, skip_predicates=None) -> bool:
    """Whether any entity of ``kg`` has an attribute outside ``skip_predicates``."""
    return any(attribute_texts(kg, include_keys=False, skip_predicates=skip_predicates))


def attribute_similarity(
    out: np.ndarray, kg1, kg2, sources, targets, weight: float = 1.0, include_keys: bool = True, analyzer: str = "word"
) -> np.ndarray:
    """Add ``weight`` times the TF-IDF cosine of the entities' attribute texts to ``out``.

    Literal values such as numbers, dates, codes and proper names are often shared across
    languages; word-level TF-IDF (IDF fitted on both graphs) rewards the rare shared ones.

    Parameters
    ----------
    out : ndarray of float32, shape (len(sources), len(targets))
        Accumulator, modified in place.
    kg1, kg2 : KnowledgeGraph
    sources, targets : ndarray of int64
        Entity positions of the rows and columns of ``out``.
    weight : float
    include_keys : bool
        See :func:`attribute_texts`.
    analyzer : {"word", "char_wb"}
        ``"word"`` uses unigrams, ``"char_wb"`` character 2-4-grams.

    Returns
    -------
    ndarray
        ``out``.
    """
    t1 = attribute_texts(kg1, include_keys)
    t2 = attribute_texts(kg2, include_keys)
    t1 = [t1[i] for i in np.asarray(sources)]
    t2 = [t2[j] for j in np.asarray(targets)]
    ngram = (1, 1) if analyzer == "word" else (2, 4)
    X1, X2 = ngram_vectors(t1, t2, ngram_range=ngram, analyzer=analyzer)
    return sparse_cosine_into(out, X1, X2, weight)


def attribute_pair_similarity(
    kg1, kg2, sources, targets, rows, cols, include_keys: bool = True, analyzer: str = "word"
) -> np.ndarray:
    """TF-IDF cosine of the attribute texts of the candidate pairs only (sparse mode).

    Same vectors as :func:`attribute_similarity`; pair p is ``(sources[rows[p]],
    targets[cols[p]])``.

    Returns
    -------
    ndarray of float32, shape (len(rows),)
    """
    from kgalign.aligner.views.strings import pair_dot

    X1, X2 = attribute_vectors(kg1, kg2, sources, targets, include_keys, analyzer)
    return pair_dot(X1, X2, rows, cols)


def attribute_vectors(kg1, kg2, sources, targets, include_keys: bool = True, analyzer: str = "word"):
    """The unit-norm TF-IDF vectors of the attribute texts of ``sources`` and ``targets``.

    Returns
    -------
    (scipy.sparse.csr_matrix, scipy.sparse.csr_matrix)
        float32, shapes (len(sources), V) and (len(targets), V); their row dot products are
        the attribute view (:func:`attribute_similarity`).
    """
    t1 = attribute_texts(kg1, include_keys)
    t2 = attribute_texts(kg2, include_keys)
    t1 = [t1[i] for i in np.asarray(sources)]
    t2 = [t2[j] for j in np.asarray(targets)]
    ngram = (1, 1) if analyzer == "word" else (2, 4)
    return ngram_vectors(t1, t2, ngram_range=ngram, analyzer=analyzer)
