"""The alignment pipeline: labels -> translation -> encoding -> similarity -> 1-to-1 matching.

This is the unsupervised UDCEA recipe (Jiang, Qian, Chen, Gu, Xie: "Unsupervised Deep
Cross-Language Entity Alignment", ECML PKDD 2023): multilingual encoder + machine translation
+ global bipartite matching + re-exchange refinement, extended with the multi-view similarity
of :mod:`kgalign.aligner.similarity`. :func:`align` is a short orchestrator over the stage
functions of :mod:`kgalign.aligner.stages` (in the manner of PyKEEN's ``pipeline()``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kgalign.aligner.result import AlignmentResult, input_fingerprint
from kgalign.config import AlignConfig
from kgalign.kg import KnowledgeGraph
from kgalign.profiling import StageTimer

__all__ = ["align", "AlignmentResult"]


def align(
    kg1: KnowledgeGraph,
    kg2: KnowledgeGraph,
    *,
    sources=None,
    targets=None,
    translations: dict[str, str] | None = None,
    config: AlignConfig | Mapping | None = None,
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
    config : AlignConfig or mapping, optional
        The configuration (:class:`kgalign.config.AlignConfig`; a mapping of its keys merges
        with the defaults, nested sections too).
    timer : StageTimer, optional
        Receives the wall time and peak RSS of each stage.
    encoder : str or Encoder, optional
        A sentence-transformers model id/path, or a ready :class:`kgalign.aligner.encode.Encoder`
        (or any object with ``encode(list of str)``), used by every view that encodes;
        None/``"auto"``: chosen by :func:`kgalign.aligner.choose.choose`.
    translator : str or Translator, optional
        ``"identity"``, ``"romanize"``, ``"dict:PATH"``, ``"mt:MODEL"`` or a ready translator;
        None/``"auto"``: chosen per side (shipped translations, a cached MT model or
        multilingual encoder, else the offline romanize fallback). The choice is recorded in
        ``result.info["choice"]``.
    **options
        Top-level keys of :class:`~kgalign.config.AlignConfig` (``lang1``, ``lang2``,
        ``threshold``, ``device``, ``seed``, ``batch_size``, ``show_progress``, ``matching``,
        ``similarity``, ``selftrain``, ``abstain``, ``kinds``) on top of ``config``; None means
        "not given". ``kinds`` selects the entity kinds to align (default: every kind both
        graphs share); graphs with several kinds are aligned kind by kind
        (:mod:`kgalign.aligner.kinds`). ``abstain="auto"`` withdraws, after the matching, pairs with a weak score or a
        thinly described endpoint (:mod:`kgalign.aligner.dangling`, counts in
        ``result.info["abstain"]``); off by default.

    Returns
    -------
    AlignmentResult
        With the resolved configuration (``result.config``), the resolved choices, input
        fingerprints, the version and the stage times; :meth:`AlignmentResult.save` writes them.

    Raises
    ------
    EmptyGraphError
        When a graph (or the selected sources/targets) holds no entity; raised before any
        model is loaded.
    InputError
        For bad options or positions (before any work).
    """
    from kgalign.aligner import stages

    cfg = AlignConfig.build(
        config,
        encoder=encoder if isinstance(encoder, str) else None,
        translator=translator if isinstance(translator, str) else None,
        **options,
    )
    timer = timer or StageTimer()
    sources, targets = stages.check_inputs(kg1, kg2, sources, targets)
    from kgalign.aligner.kinds import align_by_kind, needs_split

    if needs_split(kg1, kg2, sources, targets, cfg.kinds):  # each kind against the same kind
        res = align_by_kind(
            _align_one,
            kg1,
            kg2,
            sources,
            targets,
            cfg,
            timer=timer,
            encoder=encoder,
            translator=translator,
            translations=translations,
        )
    else:
        res = _align_one(
            kg1,
            kg2,
            sources=sources,
            targets=targets,
            translations=translations,
            config=cfg,
            timer=timer,
            encoder=encoder,
            translator=translator,
        )
    return stages.refine_schema(res, cfg, timer)  # ontologies: re-ranked by schema structure


def _align_one(kg1, kg2, *, sources, targets, translations, config: AlignConfig, timer, encoder, translator, run=None):
    """The pipeline on ``sources`` x ``targets`` of one kind (or of graphs with one kind);
    ``run``: the choices already resolved (:func:`kgalign.aligner.kinds.align_by_kind`)."""
    from kgalign.aligner import stages

    if run is None:
        run = stages.resolve_run(
            kg1,
            kg2,
            config,
            encoder=None if isinstance(encoder, str) else encoder,
            translator=None if isinstance(translator, str) else translator,
            translations=translations,
        )
    with timer.stage("translate"):
        names1, names2 = stages.translate(run, kg1, kg2)
    with timer.stage("encode"):
        emb1, emb2 = stages.encode(run, names1, names2)
    with timer.stage("similarity"):
        sim, info, scorer = stages.similarity(run, kg1, kg2, emb1, emb2, names1, names2, sources, targets, timer)
    with timer.stage("matching"):
        r, c = stages.match(sim, run.config.matching, info)
        if scorer is not None:
            from kgalign.matching.residual import resolve_residual

            sim, r, c = resolve_residual(sim, r, c, scorer.block, run.config.matching.residual_cells, info)
        del scorer
    scores = stages.pair_scores(sim, r, c)
    info["choice"] = run.choices["choice"] = run.choice.record()  # translator/encoder per side, and why
    keep = stages.select(run.config, kg1, kg2, sources, targets, r, c, scores, info)
    kr, kc, ks = r[keep], c[keep], scores[keep]
    order = np.argsort(kr, kind="stable")
    return AlignmentResult(
        kg1=kg1,
        kg2=kg2,
        sources=sources,
        targets=targets,
        rows=sources[kr[order]],
        cols=targets[kc[order]],
        scores=ks[order].astype(np.float32),
        similarity=sim,
        stages=timer.as_dict(),
        config=run.config,
        device=run.config.device,
        names1=names1,
        names2=names2,
        assignment=(r, c),
        info=info,
        choices=run.choices,
        fingerprints={"kg1": input_fingerprint(kg1), "kg2": input_fingerprint(kg2)},
    )
