"""The stages of :func:`kgalign.align`, each a function over typed configuration.

1. :func:`check_inputs`: non-empty graphs, valid source/target positions;
2. :func:`resolve_run`: every automatic choice made once (label languages, translator,
   encoder, device) -> a :class:`Run` holding the resolved :class:`~kgalign.config.AlignConfig`
   and the objects built from it;
3. :func:`translate`: labels in the resolved languages -> names in the encoder's language
   (machine translation through :class:`~kgalign.aligner.cache.TranslationCache`);
4. :func:`encode`: names -> L2-normalised embeddings (the encoder's on-disk cache);
5. :func:`similarity`: the fused multi-view similarity
   (:func:`kgalign.aligner.similarity.compute_similarity`);
6. :func:`match`: the 1-to-1 assignment (:mod:`kgalign.matching`);
7. :func:`select`: threshold and abstention (:mod:`kgalign.aligner.dangling`).

Stages read the resolved configuration only; none merges or re-reads options.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kgalign.config import AlignConfig, MatchingConfig
from kgalign.errors import EmptyGraphError, InputError
from kgalign.kg import KnowledgeGraph

__all__ = [
    "Run",
    "check_inputs",
    "check_positions",
    "resolve_run",
    "rng",
    "translate",
    "encode",
    "similarity",
    "match",
    "pair_scores",
    "select",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    """The resolved configuration of one run and the objects built from it.

    Attributes
    ----------
    config : AlignConfig
        The requested configuration with ``lang1``/``lang2`` (given or detected),
        ``encoder`` (model name used), ``translator`` (spec used: ``identity``, ``dict``,
        ``dict:PATH``, ``mt:MODEL``, or a custom translator's name) and ``device`` (concrete
        torch device) filled in.
    translator1, translator2 : Translator
        One per side (an MT model needs the source language; a side already in the target
        language gets the identity).
    encoder : Encoder or object with ``encode(list of str)``
    choices : dict
        The same choices with detail, for the record (``metadata.json``).
    choice : kgalign.aligner.choose.Choice or None
        The automatic translator/encoder choice per side and why; its ``record()`` also lists
        the fallback resources used, known once the names are translated.
    """

    config: AlignConfig
    translator1: Any
    translator2: Any
    encoder: Any
    choices: dict = field(default_factory=dict)
    choice: Any = None


def check_positions(pos, n: int, what: str) -> np.ndarray:
    """``pos`` as unique int64 positions in ``0..n-1`` (None: all of them).

    Raises
    ------
    InputError
        Positions outside the range, or duplicates.
    """
    if pos is None:
        return np.arange(n, dtype=np.int64)
    pos = np.asarray(pos, dtype=np.int64).reshape(-1)
    if len(pos) and (pos.min() < 0 or pos.max() >= n):
        raise InputError(f"{what} contains positions outside 0..{n - 1}")
    if len(np.unique(pos)) != len(pos):
        raise InputError(f"{what} contains duplicate positions")
    return pos


def check_inputs(kg1: KnowledgeGraph, kg2: KnowledgeGraph, sources=None, targets=None):
    """Refuse empty graphs or selections before any model loads; returns ``(sources, targets)``.

    Raises
    ------
    EmptyGraphError
        A graph, or the selected sources/targets, holds no entity.
    InputError
        Bad positions (:func:`check_positions`).
    """
    for kg, name in ((kg1, "first"), (kg2, "second")):
        if kg.n_entities == 0:
            raise EmptyGraphError(f"no entities found in the {name} graph", kg.source or None)
    sources = check_positions(sources, kg1.n_entities, "sources")
    targets = check_positions(targets, kg2.n_entities, "targets")
    if len(sources) == 0 or len(targets) == 0:
        raise EmptyGraphError("no entities selected to match")
    return sources, targets


def _translator_spec(spec, translations) -> str:
    """The ``translator`` value that names what :func:`make_translator` builds from ``spec``."""
    from kgalign.aligner.translate import Translator

    if isinstance(spec, Translator):
        return spec.name
    s = "" if spec is None else str(spec).strip()
    low = s.lower()
    if low in ("", "auto"):
        return "dict" if translations else "identity"
    if low in ("identity", "none", "off"):
        return "identity"
    return s


def resolve_run(
    kg1: KnowledgeGraph, kg2: KnowledgeGraph, config: AlignConfig, *, encoder=None, translator=None, translations=None
) -> Run:
    """Make every automatic choice of a run, once.

    Parameters
    ----------
    kg1, kg2 : KnowledgeGraph
    config : AlignConfig
        The requested configuration.
    encoder : Encoder or object with ``encode``, optional
        A ready encoder; used for every view that encodes (``config.encoder`` is then ignored
        and recorded as the encoder's ``name``).
    translator : Translator, optional
        A ready translator for both sides.
    translations : mapping of str to str, optional
        Translations shipped with the data (used by ``translator: auto`` / ``dict``).

    Returns
    -------
    Run

    Raises
    ------
    InputError
        A requested language that a graph's labels lack, a bad translator spec or encoder path.
    DeviceError
        A device this machine does not have.
    """
    from kgalign.aligner.languages import check_language, main_language

    langs, detected = [], []
    for kg, given, which in ((kg1, config.lang1, "first"), (kg2, config.lang2, "second")):
        if given:
            check_language(kg, given, which)
        langs.append(given or main_language(kg))
        detected.append(not given)
    from kgalign.aligner.choose import choose
    from kgalign.device import resolve_device

    device = str(getattr(encoder, "device", "cpu")) if encoder is not None else resolve_device(config.device)
    spec = translator if translator is not None else config.translator
    # per side: shipped translations, an MT model, a multilingual encoder or the offline fallback
    choice = choose(
        spec,
        encoder if encoder is not None else config.encoder,
        translations=translations,
        lang1=langs[0],
        lang2=langs[1],
        device=device,
        show_progress=config.show_progress,
    )
    for line in choice.lines():
        log.info("%s", line)
    if encoder is not None:
        enc = encoder
    else:
        from kgalign.aligner.encode import Encoder

        enc = Encoder(
            choice.encoder,
            device=device,
            batch_size=config.batch_size,
            show_progress=config.show_progress,
            multilingual=True if choice.encoder_reason.startswith("multilingual") else None,
        )
    trs = [choice.sides[0].translator, choice.sides[1].translator]
    enc_name = str(getattr(enc, "name", type(enc).__name__))
    resolved = config.replace(
        lang1=langs[0], lang2=langs[1], encoder=enc_name, translator=_translator_spec(spec, translations), device=device
    )
    choices = {
        "lang1": langs[0],
        "lang2": langs[1],
        "lang1_detected": detected[0],
        "lang2_detected": detected[1],
        "encoder": enc_name,
        "encoder_path": getattr(enc, "path", None),
        "encoder_multilingual": bool(getattr(enc, "multilingual", False)),
        "translator": resolved.translator,
        "translator1": trs[0].name,
        "translator2": trs[1].name,
        "device": device,
        "seed": config.seed,
    }
    log.info(
        "resolved: languages %s/%s, encoder %s, translators %s/%s, device %s",
        langs[0],
        langs[1],
        enc_name,
        trs[0].name,
        trs[1].name,
        device,
    )
    return Run(resolved, trs[0], trs[1], enc, choices, choice)


def rng(config: AlignConfig) -> np.random.Generator:
    """The random generator of a run, seeded with ``config.seed`` (no global state).

    No stage of the default pipeline draws from it; it is here for stages that need
    randomness, so that they never touch ``numpy.random``'s global state.
    """
    return np.random.default_rng(config.seed)


def _translate_side(tr, texts: list[str]) -> list[str]:
    from kgalign.aligner.cache import TranslationCache
    from kgalign.aligner.choose import CachedTranslator

    if tr.is_identity or tr.kind == "dict" or isinstance(tr, CachedTranslator) or not TranslationCache.enabled():
        return tr.translate(texts)  # a look-up is as fast as the cache; a CachedTranslator caches itself
    return TranslationCache().translate(tr, texts)


def translate(run: Run, kg1: KnowledgeGraph, kg2: KnowledgeGraph) -> tuple[list[str], list[str]]:
    """Labels in the resolved languages, translated (MT results come from the on-disk cache
    when a run translated them before).

    Returns
    -------
    (list of str, list of str)
        One name per entity of ``kg1`` and of ``kg2``.
    """
    cfg = run.config
    return _translate_kg(run.translator1, kg1, cfg.lang1), _translate_kg(run.translator2, kg2, cfg.lang2)


def _translate_kg(tr, kg: KnowledgeGraph, lang) -> list[str]:
    """Names of ``kg`` translated: vocabulary entities (classes, properties, SKOS concepts) by
    ``tr.for_vocabulary()`` (word glosses suit them), individuals by ``tr`` (proper names)."""
    from kgalign.aligner.kinds import VOCABULARY_KINDS

    texts = kg.names(lang)
    voc_tr = tr.for_vocabulary() if hasattr(tr, "for_vocabulary") else tr
    voc = np.isin(kg.kinds, VOCABULARY_KINDS)
    if voc_tr is tr or not voc.any():
        return _translate_side(tr, texts)
    out = [""] * len(texts)
    for mask, t in ((voc, voc_tr), (~voc, tr)):
        idx = np.flatnonzero(mask)
        if len(idx):
            for i, s in zip(idx, _translate_side(t, [texts[i] for i in idx])):
                out[i] = s
    return out


def encode(run: Run, names1: list[str], names2: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of the translated names (warns when the encoder cannot read their script).

    Returns
    -------
    (ndarray, ndarray) of float32, shapes (n1, d) and (n2, d)
    """
    from kgalign.aligner.encode import check_script

    check_script(names1, run.encoder, run.translator1, lang=run.config.lang1)
    check_script(names2, run.encoder, run.translator2, lang=run.config.lang2)
    return run.encoder.encode(names1), run.encoder.encode(names2)


def _readings(run: Run, kg1, kg2):
    """Other readings of each side's names for the string view (best match over readings):
    Han-script names the romanize fallback translated, read in the other CJK languages
    (:mod:`kgalign.aligner.readings`), and vocabulary labels glossed with one FreeDict sense per
    word (:meth:`kgalign.aligner.romanize.RomanizeTranslator.sense_readings`); through the
    on-disk translation cache; None per side without any."""
    if run.config.similarity.strings <= 0:
        return None, None
    from kgalign.aligner.kinds import VOCABULARY_KINDS
    from kgalign.aligner.readings import han_readings, reading_languages

    out: list[list[list[str]] | None] = []
    for kg, lang, tr in ((kg1, run.config.lang1, run.translator1), (kg2, run.config.lang2, run.translator2)):
        alts: list[list[str]] = []
        if getattr(tr, "kind", "") == "romanize" and reading_languages(lang):
            alts += list(han_readings(kg.names(lang), lang, translate=_translate_side).values())
        per_sense = tr.sense_readings() if hasattr(tr, "sense_readings") else []
        voc = np.flatnonzero(np.isin(kg.kinds, VOCABULARY_KINDS))
        if per_sense and len(voc):  # vocabulary labels read with one dictionary sense per word
            names = kg.names(lang)
            for t in per_sense:
                alt = [""] * kg.n_entities
                for i, x in zip(voc.tolist(), _translate_side(t, [names[i] for i in voc])):
                    alt[i] = x
                alts.append(alt)
        out.append(alts or None)
    return out[0], out[1]


def similarity(run: Run, kg1, kg2, emb1, emb2, names1, names2, sources, targets, timer=None):
    """The fused similarity of the entities to match, what ran, and the pair scorer of the sparse
    path (``(S, info, scorer)``; ``scorer`` is None in dense mode or with the residual step off)."""
    from kgalign.aligner.similarity import compute_similarity

    readings = _readings(run, kg1, kg2) if run.config.similarity.readings else (None, None)
    slots = _sense_slots(run, kg1, kg2, names1, names2, sources, targets)
    got = compute_similarity(
        kg1,
        kg2,
        emb1,
        emb2,
        names1,
        names2,
        sources,
        targets,
        run.config,
        timer,
        return_info=True,
        encoder=run.encoder,
        return_scorer=run.config.matching.residual_cells > 0,
        readings1=readings[0],
        readings2=readings[1],
        romanized=tuple(getattr(tr, "kind", "") == "romanize" for tr in (run.translator1, run.translator2)),
        slots1=slots[0],
        slots2=slots[1],
    )
    if "senses" in got[1]["views"]:
        from kgalign.aligner.wordnet import find_wordnet

        wn = find_wordnet() if run.config.similarity.synonyms > 0 else None
        got[1]["senses"] = {"synonyms": run.config.similarity.synonyms, "wordnet": str(wn) if wn else None}
    return got if len(got) == 3 else (*got, None)


def _sense_slots(run: Run, kg1, kg2, names1, names2, sources, targets):
    """The slot keys of the sources' and targets' labels for the sense-overlap view
    (:mod:`kgalign.aligner.views.senses`): every dictionary sense of each word where the side's
    vocabulary translator glosses (``sense_slots``), else the words of the translated name.
    ``(None, None)`` unless the view is on and every entity to match is a vocabulary entity
    (classes, properties, concepts: labels of common words, not names)."""
    from kgalign.aligner.similarity import use_sparse

    sim = run.config.similarity
    if sim.senses <= 0 or use_sparse(sim, len(sources), len(targets)):  # the view is dense-only
        return None, None
    from kgalign.aligner.freedict import label_words
    from kgalign.aligner.kinds import VOCABULARY_KINDS
    from kgalign.aligner.views.senses import slot_keys

    out = []
    for kg, lang, tr, names, pos in (
        (kg1, run.config.lang1, run.translator1, names1, sources),
        (kg2, run.config.lang2, run.translator2, names2, targets),
    ):
        pos = np.asarray(pos, dtype=np.int64)
        if not len(pos) or not np.isin(kg.kinds[pos], VOCABULARY_KINDS).all():
            return None, None
        voc_tr = tr.for_vocabulary() if hasattr(tr, "for_vocabulary") else tr
        labels = kg.names(lang)
        got = voc_tr.sense_slots([labels[i] for i in pos]) if hasattr(voc_tr, "sense_slots") else None
        if got is None:
            got = [[(w,) for w in label_words(names[i])] for i in pos]
        out.append([slot_keys(x, sim.synonyms) for x in got])
    return out[0], out[1]


def match(
    similarity, matching: MatchingConfig | AlignConfig, info: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Solve the 1-to-1 assignment that maximises total similarity.

    ``"auto"``: dense input up to ``matching.dense_max_cells`` cells is solved exactly (our
    C++ LAP) within a work budget of ``matching.dense_work`` cells examined per cell (0: no
    budget); a problem that needs more (a flat similarity) goes through two-sided top-k
    candidates, the sparse epsilon-scaling auction, re-exchange refinement and the residual
    re-solve (:func:`kgalign.matching.adaptive.solve_dense`); larger dense input through
    top-k candidates and the auction; sparse input with more than
    ``matching.block_rows`` rows is matched block by block
    (:func:`kgalign.matching.partition.partitioned_auction`). ``"dense"``: always exact.
    ``"greedy"``: greedy matching.

    Parameters
    ----------
    similarity : ndarray of float (n1, n2) or scipy.sparse matrix
    matching : MatchingConfig (or an AlignConfig, whose ``matching`` is used)
    info : dict, optional
        Receives ``info["matching"]``: the method that ran and its counters.

    Returns
    -------
    (ndarray of int64, ndarray of int64)
        Row and column indices into ``similarity``.
    """
    import scipy.sparse as sp

    from kgalign import matching as m

    opts = matching.matching if isinstance(matching, AlignConfig) else matching
    n1, n2 = similarity.shape
    if n1 == 0 or n2 == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if opts.method == "greedy":
        dense = similarity.toarray() if sp.issparse(similarity) else similarity
        return m.greedy_matching(dense)
    record = info if info is not None else {}
    if sp.issparse(similarity) or opts.method == "sparse" or (opts.method == "auto" and n1 * n2 > opts.dense_max_cells):
        from kgalign.matching.partition import partitioned_auction

        csr = similarity.tocsr() if sp.issparse(similarity) else _dense_topk(similarity, opts.topk)
        part = partitioned_auction(csr, block_rows=opts.block_rows, refine=opts.refine)
        record["matching"] = {"method": "sparse", **part.info}
        return part.rows, part.cols
    if opts.method == "auto":
        from kgalign.matching.adaptive import solve_dense

        got = solve_dense(
            similarity,
            work_per_cell=opts.dense_work,
            topk=opts.topk,
            refine=opts.refine,
            residual_cells=opts.residual_cells,
        )
        record["matching"] = {"method": got.method, **got.info}
        return got.rows, got.cols
    record["matching"] = {"method": "dense"}
    rows, cols = m.linear_sum_assignment(similarity, maximize=True)
    return np.asarray(rows, np.int64), np.asarray(cols, np.int64)  # optimal: nothing to refine


def _dense_topk(sim: np.ndarray, k: int):
    """Exact top-``k`` candidates per row (C++, ties to the smaller column) as float32 CSR."""
    from kgalign.matching import topk_rows as topk_csr

    return topk_csr(np.asarray(sim, dtype=np.float32), int(k))


def pair_scores(sim, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """float32 similarity of the pairs ``(r[i], c[i])`` of a dense or sparse ``sim``."""
    import scipy.sparse as sp

    if len(r) == 0:
        return np.zeros(0, np.float32)
    if sp.issparse(sim):
        return np.asarray(sim.tocsr()[r, c]).ravel().astype(np.float32)
    return np.asarray(sim[r, c], dtype=np.float32)


def select(config: AlignConfig, kg1, kg2, sources, targets, r, c, scores, info: dict) -> np.ndarray:
    """Which assigned pairs to keep: finite scores, ``threshold`` and ``abstain``.

    Parameters
    ----------
    config : AlignConfig
    kg1, kg2 : KnowledgeGraph
    sources, targets : ndarray of int64
        Positions of the rows and columns of the similarity.
    r, c : ndarray of int64, shape (p,)
        The assignment, as rows and columns of the similarity.
    scores : ndarray of float32, shape (p,)
    info : dict
        Receives ``info["abstain"]`` (counts) when abstention is on.

    Returns
    -------
    ndarray of bool, shape (p,)
    """
    keep = np.isfinite(scores)
    if config.threshold is not None:
        keep &= scores >= config.threshold
    if config.abstain is not None:  # after match(): the assignment itself stays 1-to-1
        from kgalign.aligner.dangling import abstain

        dec = abstain(kg1, kg2, sources[r], targets[c], scores, config.abstain)
        keep &= dec.keep
        info["abstain"] = dec.summary()
    return keep


def refine_schema(result, config: AlignConfig, timer=None):
    """Re-rank an alignment of ontology vocabulary by schema structure (:mod:`kgalign.aligner.schema`).

    Runs when ``config.schema.enabled``, both graphs hold schema triples, a vocabulary kind
    (not only individuals) is aligned, the similarity is dense and neither side has more than
    ``config.schema.max_entities`` entities; otherwise ``result`` is returned unchanged (the
    reason in ``result.info["schema"]``). Cells between two kinds are never assigned. Pairs of
    vocabulary (not individuals) whose re-ranked score is below ``config.schema.min_score``
    are withdrawn (counted in ``info["schema"]["withdrawn"]``): between two different
    ontologies most entities have no counterpart, and the score (a similarity in [-1, 1],
    lifted where the structure agrees) is the evidence. With ``config.schema.property_support``
    a pair of properties whose domains and ranges are known on both sides but share no pair
    of the kept matching is withdrawn too (``info["schema"]["withdrawn_properties"]``,
    :func:`kgalign.aligner.schema.unsupported_properties`).

    Parameters
    ----------
    result : AlignmentResult
        The name-based alignment (all kinds merged).
    config : AlignConfig
    timer : StageTimer, optional

    Returns
    -------
    AlignmentResult
        With the re-ranked similarity, the new matching (``threshold``/``abstain`` applied again)
        and ``info["schema"]`` (see :func:`kgalign.aligner.schema.refine_alignment`).
    """
    import contextlib
    import dataclasses

    import scipy.sparse as sp

    from kgalign.aligner import schema

    sc = config.schema
    kg1, kg2 = result.kg1, result.kg2
    src, tgt = np.asarray(result.sources), np.asarray(result.targets)
    why = None
    if not sc.enabled:
        why = "off"
    elif result.assignment is None or sp.issparse(result.similarity):
        why = "sparse similarity"
    elif max(len(src), len(tgt)) > sc.max_entities:
        why = f"more than {sc.max_entities} entities on a side"
    elif not schema.schema_kinds(np.unique(kg1.kinds[src])):
        why = "individuals only"
    elif not (schema.has_schema(kg1) and schema.has_schema(kg2)):
        why = "no schema triples on both sides"
    info = dict(result.info or {})
    if why is not None:
        if sc.enabled and why not in ("individuals only", "no schema triples on both sides"):
            log.info("schema structure not used: %s", why)
        info["schema"] = {"used": False, "why": why}
        return dataclasses.replace(result, info=info)
    forbidden = kg1.kinds[src][:, None] != kg2.kinds[tgt][None, :]
    sim = np.asarray(result.similarity, dtype=np.float32)
    forbidden |= ~np.isfinite(sim)

    def solve(S):
        return match(S, config.matching)

    ctx = timer.stage("schema") if timer is not None else contextlib.nullcontext()
    with ctx:
        S, (r, c), sinfo = schema.refine_alignment(
            kg1,
            kg2,
            sim,
            src,
            tgt,
            result.assignment,
            solve,
            colours=sc.colours,
            neighbours=sc.neighbours,
            iterations=sc.iterations,
            max_rounds=sc.rounds,
            forbidden=forbidden,
        )
    ok = ~forbidden[r, c]
    r, c = r[ok], c[ok]
    scores = pair_scores(S, r, c)
    info["schema"] = {"used": True, **sinfo}
    keep = select(config, kg1, kg2, src, tgt, r, c, scores, info)
    if sc.min_score is not None:  # vocabulary: abstain where the evidence is weak
        from kgalign.kg import INDIVIDUAL

        weak = keep & (scores < sc.min_score) & (kg1.kinds[src[r]] != INDIVIDUAL)
        keep &= ~weak
        info["schema"]["withdrawn"] = int(weak.sum())
    if sc.property_support:  # a property pair needs a matched pair among its domains/ranges
        lone = keep & schema.unsupported_properties(kg1, kg2, src[r], tgt[c], keep)
        keep &= ~lone
        info["schema"]["withdrawn_properties"] = int(lone.sum())
    kr, kc, ks = r[keep], c[keep], scores[keep]
    if isinstance(info.get("kinds"), dict):  # per-kind pair counts of the new matching
        from kgalign.kg import KINDS

        kept = kg1.kinds[src[kr]]
        info["kinds"] = {
            name: {**v, "pairs": int((kept == KINDS.index(name)).sum())} if name in KINDS else v
            for name, v in info["kinds"].items()
        }
    order = np.argsort(kr, kind="stable")
    return dataclasses.replace(
        result,
        rows=src[kr[order]],
        cols=tgt[kc[order]],
        scores=ks[order].astype(np.float32),
        similarity=S,
        assignment=(r, c),
        info=info,
        stages=timer.as_dict() if timer is not None else result.stages,
    )
