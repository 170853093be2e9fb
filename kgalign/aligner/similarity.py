"""Multi-view entity similarity for unsupervised cross-lingual alignment.

Views (each switchable and weighted in the ``similarity`` section of the configuration,
:class:`kgalign.config.SimilarityConfig`):

- ``names``: cosine of the (language-mean centred) translated-name embeddings, optionally
  without their top language-sensitive directions (``remove_language_directions``,
  :func:`kgalign.aligner.views.names.remove_language_directions`);
- ``original_names``: cosine of original-script name embeddings (only with a multilingual
  encoder: the run's encoder, or ``config.encoder``);
- ``strings``: character n-gram TF-IDF cosine of the translated names (with other readings of
  Han-script names, :mod:`kgalign.aligner.readings`, the best cosine over the readings);
- ``transliteration``: for a side the romanize fallback wrote out of a non-Latin script, the
  character-to-letters spelling learned from the confident pairs of the views above
  (:mod:`kgalign.aligner.views.transliteration`);
- ``structure``: per-hop cosines of name features propagated over the relation graph
  (SEU, Mao et al. EMNLP 2021; LightEA, Mao et al. EMNLP 2022);
- ``attributes``: TF-IDF cosine of attribute literals, when both graphs have attributes;

then optional CSLS (Lample et al.: "Word translation without parallel data", ICLR 2018) and
self-training with gold-free pseudo-anchors (:mod:`kgalign.aligner.selftrain`).

The fused score of a pair (i, j) is the weighted mean ``sum_v w_v sim_v(i, j) / sum_v w_v`` over
the views that ran; every view similarity is a cosine in [-1, 1] (or [0, 1]), so the weights are
directly comparable and the fused score stays in [-1, 1].
"""

from __future__ import annotations

import logging
from contextlib import nullcontext

import numpy as np

from kgalign.config import AlignConfig, SimilarityConfig

log = logging.getLogger(__name__)


def csls(S: np.ndarray, k: int = 10) -> np.ndarray:
    """Cross-domain similarity local scaling, in place: ``2 S - r_row - r_col``.

    ``r_row[i]`` is the mean of the k largest scores of row i, ``r_col[j]`` that of column j
    (Lample et al., ICLR 2018). Penalises hubs that are close to everything.

    Parameters
    ----------
    S : ndarray of float32, shape (n1, n2); overwritten
    k : int
        Neighbourhood size, clipped to the matrix shape.

    Returns
    -------
    ndarray
        ``S``.
    """
    n1, n2 = S.shape
    if n1 == 0 or n2 == 0:
        return S
    kr, kc = max(1, min(k, n2)), max(1, min(k, n1))
    r_row = np.partition(S, n2 - kr, axis=1)[:, n2 - kr :].mean(axis=1)
    r_col = np.partition(S, n1 - kc, axis=0)[n1 - kc :, :].mean(axis=0)
    S *= 2.0
    S -= r_row[:, None].astype(np.float32)
    S -= r_col[None, :].astype(np.float32)
    return S


def csls_sparse(S, k: int = 10, return_means: bool = False):
    """CSLS on a candidate graph, in place: ``2 s_ij - r_row[i] - r_col[j]`` for stored pairs.

    ``r_row[i]`` is the mean of the k largest stored values of row i, ``r_col[j]`` that of the
    k largest stored values of column j (fewer when fewer are stored): the neighbourhoods of
    :func:`csls` restricted to the candidate pairs, which hold each row's best columns.

    Parameters
    ----------
    S : scipy.sparse.csr_matrix of float32, shape (n1, n2); its data is overwritten
    k : int
    return_means : bool
        Also return ``(r_row, r_col)`` (float64 arrays of shapes (n1,) and (n2,)).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``S`` (with ``return_means``: ``(S, (r_row, r_col))``).
    """
    n1, n2 = S.shape
    if S.nnz == 0:
        return (S, (np.zeros(n1), np.zeros(n2))) if return_means else S
    k = max(1, int(k))
    r = np.repeat(np.arange(n1, dtype=np.int64), np.diff(S.indptr))
    c = S.indices.astype(np.int64)
    v = S.data.astype(np.float64)

    def top_mean(group, other, n):
        o = np.lexsort((other, -v, group))
        g = group[o]
        start = np.searchsorted(g, np.arange(n))
        rank = np.arange(len(o)) - start[g]
        keep = rank < k
        tot = np.bincount(g[keep], weights=v[o][keep], minlength=n)
        cnt = np.bincount(g[keep], minlength=n)
        return np.divide(tot, cnt, out=np.zeros(n), where=cnt > 0)

    r_row = top_mean(r, c, n1)
    r_col = top_mean(c, r, n2)
    S.data = (2.0 * v - r_row[r] - r_col[c]).astype(np.float32)
    return (S, (r_row, r_col)) if return_means else S


def use_sparse(sim_cfg: SimilarityConfig, n1: int, n2: int) -> bool:
    """Whether :func:`compute_similarity` builds the candidate graph instead of the matrix."""
    return sim_cfg.mode == "sparse" or (sim_cfg.mode == "auto" and n1 * n2 > sim_cfg.sparse_above)


def _original_name_embeddings(kg1, kg2, config: AlignConfig, encoder=None):
    """Embeddings of the untranslated names, or None when the encoder is not multilingual.

    ``encoder`` (the run's encoder) is used when given, else one is built from
    ``config.encoder`` / ``config.device`` / ``config.batch_size``. The labels are read in
    ``config.lang1`` / ``config.lang2`` (resolved per run), else the main label language.
    """
    from kgalign.aligner.languages import main_language

    enc = encoder
    if enc is None:
        from kgalign.aligner.encode import Encoder

        enc = Encoder(config.encoder, device=config.device, batch_size=config.batch_size, show_progress=False)
    if not getattr(enc, "multilingual", False):
        log.warning("original_names view skipped: encoder %s is not multilingual", getattr(enc, "name", enc))
        return None
    lang1 = config.lang1 or main_language(kg1)
    lang2 = config.lang2 or main_language(kg2)
    return enc.encode(kg1.names(lang1)), enc.encode(kg2.names(lang2))


def name_structure_features(kg, emb, sim_cfg: SimilarityConfig, orig=None, unnamed=None) -> np.ndarray:
    """Concatenated, weighted name and structure features of all entities of one graph.

    ``F1[i] . F2[j] = w_names cos(x_i, y_j) + w_orig cos(o_i, o_j) + sum_k w_k cos(A^k x_i, B^k y_j)``.

    Parameters
    ----------
    kg : KnowledgeGraph
    emb : ndarray of float32, shape (n, d)
        Name embeddings of all entities.
    sim_cfg : SimilarityConfig
    orig : ndarray of float32, shape (n, d'), optional
        Original-script name embeddings.
    unnamed : ndarray of bool, shape (n,), optional
        Entities without a name (empty string): their name features are zero, so two
        unnamed entities never look alike by name.

    Returns
    -------
    ndarray of float32, shape (n, D)
    """
    from kgalign.aligner.views.names import center_embeddings
    from kgalign.aligner.views.structure import normalized_adjacency, structure_features

    X = center_embeddings(emb, sim_cfg.center)
    if unnamed is not None and np.any(unnamed):
        X[np.asarray(unnamed, dtype=bool)] = 0.0
    parts = []
    if sim_cfg.names > 0:
        parts.append(np.sqrt(sim_cfg.names, dtype=np.float32) * X)
    if orig is not None and sim_cfg.original_names > 0:
        parts.append(np.sqrt(sim_cfg.original_names, dtype=np.float32) * center_embeddings(orig, sim_cfg.center))
    hop_w = list(sim_cfg.structure)
    if any(w > 0 for w in hop_w) and len(kg.triples):
        A = normalized_adjacency(kg, sim_cfg.relation_weighting)
        parts.append(structure_features(A, X, hop_w))
    if not parts:
        return np.zeros((X.shape[0], 0), np.float32)
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


#: Rounds of the learned transliteration view: learned from the confident pairs of the other
#: views, then once more from those of the similarity with the view added.
_TRANSLITERATION_ROUNDS = 2


def _transliteration_view(
    S, kg1, kg2, names1, names2, sources, targets, config, romanized, sparse, scorer, stage, info
):
    """Add the learned transliteration view to ``S`` (in place) on the candidate pairs; returns
    its weight, or 0 when it does not run (no romanized non-Latin side, fewer confident pairs
    than ``similarity.transliteration_min_pairs``); ``info["transliteration_anchors"]`` receives
    the number of pseudo-anchors of each round."""
    from kgalign.aligner.languages import main_language
    from kgalign.aligner.selftrain import confident_pairs, confident_pairs_sparse
    from kgalign.aligner.views.strings import pair_dot
    from kgalign.aligner.views.transliteration import is_non_latin, transliteration_vectors

    sim_cfg = config.similarity
    side = None
    for k, (kg, lang) in enumerate(((kg1, config.lang1), (kg2, config.lang2))):
        if romanized[k] and side is None:
            labels = kg.names(lang or main_language(kg))
            if is_non_latin([labels[i] for i in (sources if k == 0 else targets)]):
                side = (k, labels)
    if side is None:
        return 0.0
    with stage("similarity.transliteration"):
        k, labels = side
        w = np.float32(sim_cfg.transliteration)
        if sparse:
            pr = np.repeat(np.arange(S.shape[0], dtype=np.int64), np.diff(S.indptr))
            pc = S.indices.astype(np.int64)
        else:  # dense: the view is evaluated on the candidate pairs of the views so far
            from kgalign.matching.candidates import topk_both_matrix

            C = topk_both_matrix(S, sim_cfg.topk)
            pr = np.repeat(np.arange(S.shape[0], dtype=np.int64), np.diff(C.indptr))
            pc = C.indices.astype(np.int64)
            del C
        added = None
        anchors = info.setdefault("transliteration_anchors", [])
        for _ in range(_TRANSLITERATION_ROUNDS):  # learn, add, learn again from the better pairs
            conf = confident_pairs_sparse if sparse else confident_pairs
            rows, cols = conf(S, config.selftrain.margin)
            if len(rows) < max(1, sim_cfg.transliteration_min_pairs):
                break  # too few pairs to learn a spelling from: noise (small ontologies)
            anchors.append(int(len(rows)))
            if k == 0:
                P, Q = transliteration_vectors([labels[i] for i in sources], [names2[j] for j in targets], rows, cols)
            else:  # the second side's labels are the source units: learn targets -> sources
                Q, P = transliteration_vectors([labels[j] for j in targets], [names1[i] for i in sources], cols, rows)
            v = w * pair_dot(P, Q, pr, pc)
            delta = v if added is None else v - added
            if sparse:
                S.data += delta
            else:
                S[pr, pc] += delta
            added = v
        if added is None:
            return 0.0
        if sparse and scorer is not None:
            scorer.terms.append((float(w), P, Q))
    return float(w)


def compute_similarity(
    kg1,
    kg2,
    emb1,
    emb2,
    names1,
    names2,
    sources,
    targets,
    config: AlignConfig,
    timer=None,
    return_info: bool = False,
    encoder=None,
    return_scorer: bool = False,
    readings1=None,
    readings2=None,
    romanized=(False, False),
    slots1=None,
    slots2=None,
):
    """Fused multi-view similarity of the entities to match.

    Parameters
    ----------
    kg1, kg2 : KnowledgeGraph
        The full graphs (structure and attributes use all of them).
    emb1, emb2 : ndarray of float32, shape (n1, d) and (n2, d)
        L2-normalised translated-name embeddings of all entities of each graph.
    names1, names2 : list of str
        Translated display names of all entities (length n1 / n2).
    sources, targets : ndarray of int64
        Positions in ``kg1`` / ``kg2`` of the entities to match (rows / columns).
    config : AlignConfig
        The (resolved) configuration; this function reads ``config.similarity``,
        ``config.selftrain`` and, for the original-script view, ``lang1``/``lang2`` and
        ``encoder``/``device``/``batch_size`` when no ``encoder`` is given.
    timer : StageTimer, optional
        Sub-stages ``similarity.features``, ``.strings``, ``.attributes``, ``.selftrain`` are
        recorded.
    return_info : bool
        Also return a dict describing what ran (views used, self-training rounds).
    encoder : Encoder, optional
        The run's encoder, for the original-script view (default: built from ``config``).
    return_scorer : bool
        Also return a :class:`kgalign.aligner.scorer.PairScorer` that scores any pair the
        way the candidate pairs were scored (sparse mode; ``None`` in dense mode), last in the
        returned tuple.
    readings1, readings2 : sequence of list of str, optional
        Other readings of the names of all entities of each graph (each a list of length n1 /
        n2, ``""`` where a name has none; :func:`kgalign.aligner.readings.han_readings`). The
        string view then takes, per pair, the best cosine over every reading of the one name
        against every reading of the other (``names1`` / ``names2`` included).
    romanized : (bool, bool)
        Which side's names the romanize fallback wrote (not a translation). With
        ``similarity.transliteration > 0`` and a romanized side whose labels are mostly in
        a non-Latin script, the learned transliteration view
        (:mod:`kgalign.aligner.views.transliteration`) runs on that side's labels against
        the other side's names, from the confident pairs of the views before it (at least
        ``similarity.transliteration_min_pairs`` of them).
    slots1, slots2 : list of list of tuple of str, optional
        Per source / target its label's word slots as English keys
        (:func:`kgalign.aligner.views.senses.slot_keys`, every dictionary sense of each word).
        Given both and ``similarity.senses > 0``, the sense-overlap view
        (:func:`kgalign.aligner.views.senses.sense_overlap`) runs (dense mode only).

    Returns
    -------
    ndarray of float32, shape (len(sources), len(targets)), or scipy.sparse.csr_matrix
        In sparse mode (``config.similarity.mode``, :func:`use_sparse`) a CSR matrix of the same
        shape holding only the candidate pairs: the ``topk`` best targets of each source
        and best sources of each target by the name and structure features
        (:func:`kgalign.matching.candidates.topk_both`), every
        other view, CSLS and self-training evaluated on those pairs only (memory
        O(len(sources) * candidates)). The fused similarity: the weighted mean of the view cosines (the
        weighted sum divided
        by the total weight of the views that ran), so it lies in [-1, 1] and a threshold
        means the same whatever views are enabled. With ``return_info`` a tuple ``(S, info)``;
        ``info["total_weight"]`` is the divisor.

    Raises
    ------
    TypeError
        When ``config`` is not an :class:`~kgalign.config.AlignConfig`.
    ValueError
        When embedding shapes do not match the graphs.
    InputError
        Sparse mode without a names or structure view to choose the candidates.
    """
    from kgalign.aligner.selftrain import self_train
    from kgalign.aligner.views.attributes import attribute_similarity, has_attributes
    from kgalign.aligner.views.strings import ngram_vectors, sparse_cosine_into

    if not isinstance(config, AlignConfig):
        raise TypeError(f"compute_similarity takes an AlignConfig (kgalign.config), not {type(config).__name__}")
    sim_cfg, st_cfg = config.similarity, config.selftrain
    stage = (lambda name: timer.stage(name)) if timer is not None else (lambda name: nullcontext())
    sources = np.asarray(sources, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    emb1 = np.asarray(emb1, dtype=np.float32)
    emb2 = np.asarray(emb2, dtype=np.float32)
    if emb1.shape[0] != kg1.n_entities or emb2.shape[0] != kg2.n_entities:
        raise ValueError(
            f"embeddings ({emb1.shape[0]}, {emb2.shape[0]}) do not match the graphs "
            f"({kg1.n_entities}, {kg2.n_entities} entities)"
        )
    from kgalign.aligner.scorer import PairScorer

    info: dict = {"views": []}
    sparse = use_sparse(sim_cfg, len(sources), len(targets))
    scorer = PairScorer() if sparse and return_scorer else None
    info["mode"] = "sparse" if sparse else "dense"
    if sparse:
        info["candidates"] = int(min(sim_cfg.topk, len(targets)))

    with stage("similarity.features"):
        orig = (None, None)
        if sim_cfg.original_names > 0:
            got = _original_name_embeddings(kg1, kg2, config, encoder)
            if got is not None:
                orig = got
                info["views"].append("original_names")
        n_dirs = sim_cfg.remove_language_directions
        if n_dirs > 0:
            from kgalign.aligner.views.names import remove_language_directions

            emb1, emb2 = remove_language_directions(emb1, emb2, n_dirs, sim_cfg.center)
            if orig[0] is not None:
                orig = remove_language_directions(orig[0], orig[1], n_dirs, sim_cfg.center)
            info["language_directions_removed"] = n_dirs
        use_struct = any(w > 0 for w in sim_cfg.structure) and len(kg1.triples) > 0 and len(kg2.triples) > 0
        feat_cfg = sim_cfg if use_struct else sim_cfg.replace(structure=())
        unnamed1 = np.fromiter((not str(n).strip() for n in names1), bool, len(names1))
        unnamed2 = np.fromiter((not str(n).strip() for n in names2), bool, len(names2))
        F1 = name_structure_features(kg1, emb1, feat_cfg, orig[0], unnamed1)
        F2 = name_structure_features(kg2, emb2, feat_cfg, orig[1], unnamed2)
        total = 0.0
        if sim_cfg.names > 0:
            info["views"].append("names")
            total += sim_cfg.names
        if orig[0] is not None:
            total += sim_cfg.original_names
        if use_struct:
            info["views"].append("structure")
            total += sum(max(0.0, w) for w in sim_cfg.structure)
        if sparse:
            from kgalign.matching.candidates import topk_both

            if not F1.shape[1]:
                from kgalign.errors import InputError

                raise InputError(
                    "similarity.mode sparse needs the names or structure view (a positive weight) "
                    "to choose the candidates"
                )
            F1s, F2s = F1[sources], F2[targets]
            S = topk_both(F1s, F2s, sim_cfg.topk)
            if scorer is not None:
                scorer.terms.append((1.0, F1s, F2s))
            del F1s, F2s
            pr = np.repeat(np.arange(len(sources), dtype=np.int64), np.diff(S.indptr))
            pc = S.indices.astype(np.int64)
        else:
            S = F1[sources] @ F2[targets].T if F1.shape[1] else np.zeros((len(sources), len(targets)), np.float32)
            S = np.ascontiguousarray(S, dtype=np.float32)
        del F1, F2

    if sim_cfg.strings > 0:
        with stage("similarity.strings"):
            alts1 = [names1, *(readings1 or ())]
            alts2 = [names2, *(readings2 or ())]
            vecs = [
                ngram_vectors([a[i] for i in sources], [b[j] for j in targets], ngram_range=sim_cfg.string_ngrams)
                for a in alts1
                for b in alts2
            ]
            if sparse:
                from kgalign.aligner.views.strings import max_pair_dot

                S.data += np.float32(sim_cfg.strings) * max_pair_dot(vecs, pr, pc)
                if scorer is not None:
                    if len(vecs) == 1:
                        scorer.terms.append((float(sim_cfg.strings), *vecs[0]))
                    else:
                        scorer.max_terms.append((float(sim_cfg.strings), vecs))
            elif len(vecs) == 1:
                sparse_cosine_into(S, vecs[0][0], vecs[0][1], sim_cfg.strings)
            else:
                from kgalign.aligner.views.strings import max_cosine_into

                max_cosine_into(S, vecs, sim_cfg.strings)
            del vecs
            info["views"].append("strings")
            if len(alts1) + len(alts2) > 2:
                info["readings"] = [len(alts1) - 1, len(alts2) - 1]
            total += sim_cfg.strings

    if sim_cfg.senses > 0 and slots1 is not None and slots2 is not None and not sparse:
        from kgalign.aligner.views.senses import sense_overlap

        if len(slots1) != len(sources) or len(slots2) != len(targets):
            raise ValueError("slots1 / slots2 must hold one entry per source / target")
        with stage("similarity.senses"):
            S += np.float32(sim_cfg.senses) * sense_overlap(slots1, slots2)
        info["views"].append("senses")
        total += sim_cfg.senses

    if sim_cfg.attributes > 0 and has_attributes(kg1) and has_attributes(kg2):
        with stage("similarity.attributes"):
            if sparse:
                from kgalign.aligner.views.attributes import attribute_vectors
                from kgalign.aligner.views.strings import pair_dot

                A1, A2 = attribute_vectors(kg1, kg2, sources, targets)
                S.data += np.float32(sim_cfg.attributes) * pair_dot(A1, A2, pr, pc)
                if scorer is not None:
                    scorer.terms.append((float(sim_cfg.attributes), A1, A2))
            else:
                attribute_similarity(S, kg1, kg2, sources, targets, sim_cfg.attributes)
            info["views"].append("attributes")
            total += sim_cfg.attributes

    if sim_cfg.transliteration > 0:
        w = _transliteration_view(
            S, kg1, kg2, names1, names2, sources, targets, config, romanized, sparse, scorer, stage, info
        )
        if w:
            info["views"].append("transliteration")
            total += w

    if sim_cfg.csls > 0:
        if sparse:
            S, means = csls_sparse(S, sim_cfg.csls, return_means=True)
            if scorer is not None:
                scorer.csls = means
        else:
            csls(S, sim_cfg.csls)
        info["views"].append("csls")

    if st_cfg.enabled:
        with stage("similarity.selftrain"):
            if sparse:
                from kgalign.aligner.selftrain import self_train_sparse

                S, st_info = self_train_sparse(S, kg1, kg2, sources, targets, st_cfg, timer)
                if scorer is not None:
                    scorer.profiles = st_info.profiles
            else:
                S, st_info = self_train(S, kg1, kg2, sources, targets, st_cfg, timer)
            info["selftrain"] = {"confident": st_info.confident, "rounds": st_info.rounds, "stopped": st_info.stopped}
            if st_info.rounds > 0:
                total += sum(max(0.0, w) for w in st_cfg.hop_weights)
    # a positive scaling: rankings and the assignment are unchanged, scores become a mean
    if total > 0:
        if sparse:
            S.data /= np.float32(total)
        else:
            S /= np.float32(total)
    info["total_weight"] = total
    if scorer is not None:
        scorer.total = float(total)
    out = (S, info) if return_info else (S,)
    if return_scorer:
        out = (*out, scorer)
    return out if len(out) > 1 else out[0]
