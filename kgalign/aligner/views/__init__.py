"""Similarity views for unsupervised entity alignment.

Each view turns a pair of knowledge graphs (plus name embeddings) into entity features or a
similarity block; :func:`kgalign.aligner.similarity.compute_similarity` fuses them.

- :mod:`~kgalign.aligner.views.names`: language-mean centering of name embeddings (Chang et al. 2022).
- :mod:`~kgalign.aligner.views.strings`: character n-gram TF-IDF cosine of (translated) names.
- :mod:`~kgalign.aligner.views.structure`: degree-normalised neighbour propagation of name features
  (SEU / LightEA style label propagation, 1..h hops, optional relation weights).
- :mod:`~kgalign.aligner.views.attributes`: TF-IDF cosine of attribute literals (keys and values).
"""

from kgalign.aligner.views.attributes import attribute_similarity, attribute_texts
from kgalign.aligner.views.names import center_embeddings
from kgalign.aligner.views.strings import ngram_vectors, sparse_cosine_into
from kgalign.aligner.views.structure import normalized_adjacency, propagate, structure_features

__all__ = [
    "attribute_similarity",
    "attribute_texts",
    "center_embeddings",
    "ngram_vectors",
    "normalized_adjacency",
    "propagate",
    "sparse_cosine_into",
    "structure_features",
]
