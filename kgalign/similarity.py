"""Entity similarity for alignment (first version: cosine of name embeddings).

The multi-view similarity (strings, structure, attributes, centering, self-training)
replaces this module; the signature of :func:`compute_similarity` is the contract with
:mod:`kgalign.pipeline`.
"""

from __future__ import annotations

import numpy as np


def compute_similarity(kg1, kg2, emb1, emb2, names1, names2, sources, targets, config, timer=None):
    """Similarity of the entities to match.

    Parameters
    ----------
    kg1, kg2 : KnowledgeGraph
        The full graphs.
    emb1, emb2 : ndarray of float32, shape (n1, d) and (n2, d)
        L2-normalised name embeddings of all entities of each graph.
    names1, names2 : list of str
        Translated display names of all entities.
    sources, targets : ndarray of int64
        Positions in ``kg1`` / ``kg2`` of the entities to match.
    config : dict
        Resolved pipeline configuration.
    timer : StageTimer, optional

    Returns
    -------
    ndarray of float32, shape (len(sources), len(targets))
        Cosine similarity in [-1, 1].
    """
    a = np.ascontiguousarray(emb1[sources], dtype=np.float32)
    b = np.ascontiguousarray(emb2[targets], dtype=np.float32)
    return a @ b.T
