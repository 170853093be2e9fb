"""Per-kind alignment: classes with classes, properties with properties, individuals with individuals.

Ontologies hold several kinds of entities (:data:`kgalign.kg.KINDS`: individuals, classes,
object and datatype properties, annotation properties, SKOS concepts). A class is never the
counterpart of a property, so :func:`align_by_kind` runs :func:`kgalign.aligner.pipeline.align`
once per kind, on the sources and targets of that kind (the similarity views still see the
whole graphs: the structure view propagates over class-property links), and merges the
results into one :class:`~kgalign.aligner.pipeline.AlignmentResult`.

Selection (``config["kinds"]``, ``--kinds``): ``None`` aligns every kind both inputs share,
annotation properties excepted; otherwise a comma-separated string or a list of the names
of :data:`KIND_SELECTORS` (``classes`` covers OWL/RDFS classes and SKOS concepts,
``properties`` object and datatype properties).
"""

from __future__ import annotations

import logging

import numpy as np

from kgalign.errors import EmptyGraphError
from kgalign.kg import (  # noqa: F401
    ANNOTATION_PROPERTY,
    CLASS,
    CONCEPT,
    DATATYPE_PROPERTY,
    DEFAULT_KINDS,
    INDIVIDUAL,
    KIND_SELECTORS,
    KINDS,
    OBJECT_PROPERTY,
    KnowledgeGraph,
    parse_kinds,
)

log = logging.getLogger(__name__)

#: Relation written for a pair of each kind (``owl:sameAs`` for individuals, ``owl:equivalentClass``
#: for classes, ``owl:equivalentProperty`` for properties, ``skos:exactMatch`` for SKOS concepts).
KIND_PREDICATES: dict[int, str] = {
    INDIVIDUAL: "http://www.w3.org/2002/07/owl#sameAs",
    CLASS: "http://www.w3.org/2002/07/owl#equivalentClass",
    OBJECT_PROPERTY: "http://www.w3.org/2002/07/owl#equivalentProperty",
    DATATYPE_PROPERTY: "http://www.w3.org/2002/07/owl#equivalentProperty",
    ANNOTATION_PROPERTY: "http://www.w3.org/2002/07/owl#equivalentProperty",
    CONCEPT: "http://www.w3.org/2004/02/skos/core#exactMatch",
}


#: Kinds whose labels are vocabulary (common nouns, verbs: "accepted paper", "has author"),
#: not proper names: translators may gloss them word by word (``Translator.for_vocabulary``).
VOCABULARY_KINDS: tuple[int, ...] = (CLASS, OBJECT_PROPERTY, DATATYPE_PROPERTY, ANNOTATION_PROPERTY, CONCEPT)


def needs_split(kg1: KnowledgeGraph, kg2: KnowledgeGraph, sources: np.ndarray, targets: np.ndarray, spec) -> bool:
    """Whether ``sources`` x ``targets`` mix kinds or hold a kind ``spec`` leaves out."""
    present = set(np.unique(kg1.kinds[sources]).tolist()) | set(np.unique(kg2.kinds[targets]).tolist())
    return not (len(present) == 1 and present <= set(parse_kinds(spec)))


def predicate_for(kg: KnowledgeGraph, i: int) -> str:
    """The relation IRI for a pair whose first entity is ``kg.entities[i]`` (:data:`KIND_PREDICATES`)."""
    return KIND_PREDICATES[int(kg.kinds[i])]


def align_by_kind(
    align_fn,
    kg1: KnowledgeGraph,
    kg2: KnowledgeGraph,
    sources: np.ndarray,
    targets: np.ndarray,
    cfg,
    *,
    timer=None,
    encoder=None,
    translator=None,
    translations=None,
):
    """Run ``align_fn`` once per selected kind that both sides hold, and merge the results.

    Parameters
    ----------
    align_fn : callable
        The pipeline on one kind, called with the keywords ``sources``, ``targets``,
        ``translations``, ``config``, ``timer``, ``encoder``, ``translator`` and ``run`` (the
        :class:`kgalign.aligner.stages.Run` resolved once here for every kind).
    kg1, kg2 : KnowledgeGraph
    sources, targets : ndarray of int64
        Positions to match (all kinds mixed).
    cfg : kgalign.config.AlignConfig
        The configuration; ``cfg.kinds`` selects (see :func:`kgalign.kg.parse_kinds`).
    timer, encoder, translator, translations
        As for :func:`kgalign.aligner.pipeline.align`; the translators and the encoder (given or
        chosen automatically) are resolved once for all kinds.

    Returns
    -------
    AlignmentResult
        ``rows``/``cols``/``scores`` of every kind, by source position; ``sources``/``targets``
        the kinds' positions one kind after the other; ``similarity`` block-diagonal (cells
        between two kinds hold a floor below every real score and are never assigned);
        ``info["kinds"]`` per kind aligned: sources, targets, pairs and that run's info;
        ``info["kinds_skipped"]`` the kinds only one side (or neither selection) holds.

    Raises
    ------
    EmptyGraphError
        When no selected kind is present on both sides.
    """
    import scipy.sparse as sp

    from kgalign.aligner.result import AlignmentResult

    selected = parse_kinds(cfg.kinds)
    k1 = np.unique(kg1.kinds[sources]).tolist()
    k2 = np.unique(kg2.kinds[targets]).tolist()
    todo = [k for k in selected if k in k1 and k in k2]
    skipped = {
        KINDS[k]: {"first": int((kg1.kinds[sources] == k).sum()), "second": int((kg2.kinds[targets] == k).sum())}
        for k in sorted(set(k1) | set(k2))
        if k not in todo
    }
    for name, n in skipped.items():
        log.info(
            "kind %s not aligned (%d in the first graph, %d in the second; selected: %s)",
            name,
            n["first"],
            n["second"],
            ", ".join(KINDS[k] for k in selected),
        )
    if not todo:
        raise EmptyGraphError(
            "no entity kind to align: the graphs share none of the selected kinds "
            f"({', '.join(KINDS[k] for k in selected)}); first holds "
            f"{', '.join(KINDS[k] for k in k1)}, second {', '.join(KINDS[k] for k in k2)}"
        )
    import dataclasses

    from kgalign.aligner.stages import resolve_run

    # one choice of translators and encoder for all kinds (the automatic one included: loading
    # an encoder here would bypass it and record it as given by the user)
    run = resolve_run(
        kg1,
        kg2,
        cfg,
        encoder=None if isinstance(encoder, str) else encoder,
        translator=None if isinstance(translator, str) else translator,
        translations=translations,
    )
    results = []
    for k in todo:
        s_k = sources[kg1.kinds[sources] == k]
        t_k = targets[kg2.kinds[targets] == k]
        log.info("aligning %d x %d entities of kind %s", len(s_k), len(t_k), KINDS[k])
        results.append(
            align_fn(
                kg1,
                kg2,
                sources=s_k,
                targets=t_k,
                translations=translations,
                config=cfg.replace(kinds=KINDS[k]),
                timer=timer,
                encoder=encoder,
                translator=translator,
                run=dataclasses.replace(run, config=run.config.replace(kinds=KINDS[k])),
            )
        )
    if len(results) == 1:
        res = results[0]
        res.config = res.config.replace(kinds=cfg.kinds)
        res.info = {**res.info, "kinds": {KINDS[todo[0]]: _kind_info(res)}, "kinds_skipped": skipped}
        return res
    # merge: block-diagonal similarity, assignment offsets
    n_s = [len(r.sources) for r in results]
    n_t = [len(r.targets) for r in results]
    off_s, off_t = np.cumsum([0] + n_s), np.cumsum([0] + n_t)
    if any(sp.issparse(r.similarity) for r in results):
        sim = sp.block_diag([sp.csr_matrix(r.similarity) for r in results], format="csr", dtype=np.float32)
    else:
        floor = min(float(np.min(r.similarity)) for r in results if r.similarity.size) - 1.0
        sim = np.full((sum(n_s), sum(n_t)), floor, dtype=np.float32)
        for r, a, b in zip(results, off_s, off_t):
            sim[a : a + len(r.sources), b : b + len(r.targets)] = r.similarity
    assignment = None
    if all(r.assignment is not None for r in results):
        assignment = (
            np.concatenate([r.assignment[0] + a for r, a in zip(results, off_s)]),
            np.concatenate([r.assignment[1] + b for r, b in zip(results, off_t)]),
        )
    rows = np.concatenate([r.rows for r in results])
    cols = np.concatenate([r.cols for r in results])
    scores = np.concatenate([r.scores for r in results]).astype(np.float32)
    order = np.argsort(rows, kind="stable")
    stages = results[-1].stages
    info = {
        "views": sorted({v for r in results for v in r.info.get("views", [])}),
        "kinds": {KINDS[k]: _kind_info(r) for k, r in zip(todo, results)},
        "kinds_skipped": skipped,
        "choice": results[0].info.get("choice"),
    }
    senses = [r.info["senses"] for r in results if "senses" in r.info]
    if senses:  # the same settings and WordNet folder for every kind
        info["senses"] = senses[0]
    return AlignmentResult(
        kg1=kg1,
        kg2=kg2,
        sources=np.concatenate([r.sources for r in results]),
        targets=np.concatenate([r.targets for r in results]),
        rows=rows[order],
        cols=cols[order],
        scores=scores[order],
        similarity=sim,
        stages=stages,
        config=results[0].config.replace(kinds=cfg.kinds),
        device=results[0].device,
        names1=results[0].names1,
        names2=results[0].names2,
        assignment=assignment,
        info=info,
        choices=results[0].choices,
        fingerprints=results[0].fingerprints,
    )


def _kind_info(res) -> dict:
    return {
        "sources": int(len(res.sources)),
        "targets": int(len(res.targets)),
        "pairs": int(len(res.rows)),
        **{k: v for k, v in (res.info or {}).items() if k not in ("kinds", "kinds_skipped", "choice")},
    }
