"""Evaluation protocols with a permutation self-check that stops gold order from leaking.

An *aligner* is any callable with the signature of :func:`kgalign.aligner.pipeline.align`::

    aligner(kg1, kg2, *, sources, targets, translations, config, timer) -> result

whose result has ``rows``, ``cols`` (int64 positions in the graphs it was given), ``scores``
and, optionally, ``similarity`` (dense ``(len(sources), len(targets))`` array or scipy CSR,
rows/columns in the given ``sources``/``targets`` order), ``ranking(k)``, ``stages``,
``config`` and ``device``.

Presentation
------------
Each run presents the pair under a seeded permutation of **both graphs' entity order**
(:meth:`KnowledgeGraph.subgraph`) and of the ``sources``/``targets`` lists; results are mapped
back to the original positions before scoring. DBP15K needs this: in its files the first 10,500
links are ``(i, i + 10500)``, so the position order of the graphs themselves reveals the gold
links to any code that breaks ties by position.

Protocols
---------
``closed``
    sources/targets are the linked entities only (15,000 on DBP15K); the matching is 1-to-1
    between them. Reported: Hits@k/MR/MRR of the gold target among the targets, 1-to-1 accuracy,
    P/R/F1 of the output pairs.
``open``
    sources/targets are all entities, dangling ones included; the aligner may abstain (a
    threshold); pairs involving an entity without a gold counterpart are false positives.

Permutation self-check
----------------------
Every protocol run aligns the pair twice, under two seeds. The predicted partner of each source
must agree between the two runs, and every metric must agree, up to ties: the allowance is
``max_disagreement`` (a fraction) plus the fraction of sources whose best similarity is tied
(those may legitimately be broken differently under another order).
Otherwise :class:`PermutationCheckError` is raised: the aligner depends on the order in which
entities are presented, which is how gold order leaks (e.g. an aligner that pairs
``sources[i]`` with ``targets[i]``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kgalign.errors import InputError, KgalignError
from kgalign.evaluation import metrics as ev
from kgalign.kg import KGPair, KnowledgeGraph
from kgalign.profiling import StageTimer

__all__ = [
    "PROTOCOLS",
    "PermutationCheckError",
    "Presentation",
    "present",
    "RunOutput",
    "run_once",
    "run_protocol",
    "subsample_pair",
    "CHECKED_METRICS",
]

PROTOCOLS = ("closed", "open")
#: Metrics compared by the permutation self-check.
CHECKED_METRICS = ("hits@1", "hits@10", "mrr", "accuracy", "precision", "recall", "f1")
#: Hits@k curve length stored for plots.
CURVE_K = 50


class PermutationCheckError(KgalignError):
    """Two presentations of the same pair under different seeds gave different results."""


@dataclass
class Presentation:
    """A seeded re-ordering of a pair.

    ``perm1[k]`` is the original kg1 position of entity ``k`` of ``kg1`` (shown order), likewise
    ``perm2``; ``sources``/``targets`` are shown positions, in shuffled order.
    """

    kg1: KnowledgeGraph
    kg2: KnowledgeGraph
    perm1: np.ndarray
    perm2: np.ndarray
    sources: np.ndarray
    targets: np.ndarray


def present(kg1: KnowledgeGraph, kg2: KnowledgeGraph, sources, targets, seed: int) -> Presentation:
    """Shuffle both graphs' entity order and the ``sources``/``targets`` lists with ``seed``.

    Parameters
    ----------
    kg1, kg2 : KnowledgeGraph
    sources, targets : array_like of int
        Original positions to match.
    seed : int

    Returns
    -------
    Presentation
    """
    rng = np.random.default_rng(seed)
    perm1 = rng.permutation(kg1.n_entities).astype(np.int64)
    perm2 = rng.permutation(kg2.n_entities).astype(np.int64)
    inv1, inv2 = np.argsort(perm1), np.argsort(perm2)
    src = inv1[rng.permutation(np.asarray(sources, dtype=np.int64))]
    tgt = inv2[rng.permutation(np.asarray(targets, dtype=np.int64))]
    return Presentation(kg1.subgraph(perm1), kg2.subgraph(perm2), perm1, perm2, src, tgt)


@dataclass
class RunOutput:
    """Scores of one run, in original positions (see :func:`run_once`)."""

    seed: int
    metrics: dict
    partner: dict  # original source position -> predicted original target position
    rows: np.ndarray
    cols: np.ndarray
    scores: np.ndarray
    correct: np.ndarray  # per predicted pair
    ranks: np.ndarray  # per gold link, float64, inf = censored
    censor_at: int | None
    gold_correct: np.ndarray  # per gold link: predicted partner is the gold target
    stages: dict
    config: dict = field(default_factory=dict)
    device: str = "cpu"
    tied: frozenset = frozenset()  # original source positions whose best similarity is tied


def _gold_ranks(
    res, pres: Presentation, gold_src_shown: np.ndarray, gold_tgt_shown: np.ndarray, rank_k: int
) -> tuple[np.ndarray, int | None]:
    """Pessimistic rank of each gold target among the run's targets (inf = not a candidate)."""
    import scipy.sparse as sp

    res_src = np.asarray(getattr(res, "sources", pres.sources), dtype=np.int64)
    res_tgt = np.asarray(getattr(res, "targets", pres.targets), dtype=np.int64)
    row_of = {int(s): r for r, s in enumerate(res_src.tolist())}
    col_of = {int(t): c for c, t in enumerate(res_tgt.tolist())}
    n = len(gold_src_shown)
    rows = np.array([row_of.get(int(s), -1) for s in gold_src_shown], dtype=np.int64)
    cols = np.array([col_of.get(int(t), -1) for t in gold_tgt_shown], dtype=np.int64)
    ok = (rows >= 0) & (cols >= 0)
    ranks = np.full(n, np.inf)
    sim = getattr(res, "similarity", None)
    if sim is not None and sp.issparse(sim):
        csr = sim.tocsr()
        max_nnz = int(np.diff(csr.indptr).max()) if csr.shape[0] else 0
        for k in np.nonzero(ok)[0]:
            lo, hi = csr.indptr[rows[k]], csr.indptr[rows[k] + 1]
            idx, val = csr.indices[lo:hi], csr.data[lo:hi]
            hit = idx == cols[k]
            if hit.any():
                g = val[hit][0]
                if np.isnan(val).any():
                    raise InputError(f"similarity row of source {int(gold_src_shown[k])} holds NaN")
                ranks[k] = 1.0 + float((val > g).sum() + (val == g).sum() - 1)
        return ranks, max_nnz
    if sim is not None and hasattr(sim, "shape") and len(getattr(sim, "shape", ())) == 2:
        if ok.any():
            ranks[ok] = ev.ranks_from_scores(sim, cols[ok], rows=rows[ok])
        return ranks, None
    if not hasattr(res, "ranking"):
        return ranks, 0
    ranking = np.asarray(res.ranking(rank_k), dtype=np.int64)  # shown kg2 positions
    if ok.any():
        ranks[ok] = ev.ranks_from_ranking(ranking[rows[ok]], gold_tgt_shown[ok])
    return ranks, rank_k


def _tied_sources(res, pres: Presentation, rel_eps: float = 1e-6) -> frozenset:
    """Original positions of the sources whose highest similarity is reached by >= 2 targets.

    ``rel_eps`` is relative to ``max(1, |best|)``: scores that close count as equal (float
    sums taken in a different order differ in their last bits).
    """
    import scipy.sparse as sp

    sim = getattr(res, "similarity", None)
    if sim is None or len(getattr(sim, "shape", ())) != 2:
        return frozenset()
    res_src = np.asarray(getattr(res, "sources", pres.sources), dtype=np.int64)
    tied = np.zeros(sim.shape[0], dtype=bool)
    if sp.issparse(sim):
        csr = sim.tocsr()
        for r in range(csr.shape[0]):
            val = csr.data[csr.indptr[r] : csr.indptr[r + 1]]
            if len(val) >= 2:
                top = val.max()
                tied[r] = (val >= top - rel_eps * max(1.0, abs(float(top)))).sum() >= 2
    else:
        step = max(1, 16_000_000 // max(1, sim.shape[1]))
        for lo in range(0, sim.shape[0], step):
            block = np.asarray(sim[lo : lo + step])
            if block.shape[1] < 2:
                continue
            top = block.max(axis=1, keepdims=True)
            eps = rel_eps * np.maximum(1.0, np.abs(top))
            tied[lo : lo + len(block)] = (block >= top - eps).sum(axis=1) >= 2
    return frozenset(pres.perm1[res_src[tied]].tolist())


def run_once(
    aligner: Callable,
    pair: KGPair,
    sources,
    targets,
    seed: int,
    *,
    config=None,
    rank_k: int = 100,
    timer: StageTimer | None = None,
) -> RunOutput:
    """Present ``pair`` under ``seed``, run ``aligner`` and score it against ``pair.links``.

    Parameters
    ----------
    aligner : callable
        See the module notes.
    pair : KGPair
        With gold ``links`` (original positions).
    sources, targets : array_like of int
        Original positions to match.
    seed : int
        Presentation seed.
    config : AlignConfig, mapping or None
        Passed to the aligner as it is; recorded as plain data (the result's own
        ``config`` when it has one).
    rank_k : int
        Candidate-list length used when the result exposes only ``ranking(k)``.
    timer : StageTimer, optional
        Receives the aligner's stages.

    Returns
    -------
    RunOutput
    """
    if pair.links is None or len(pair.links) == 0:
        raise InputError("the pair has no gold links to evaluate against")
    links = np.asarray(pair.links, dtype=np.int64)
    pres = present(pair.kg1, pair.kg2, sources, targets, seed)
    timer = timer or StageTimer()
    res = aligner(
        pres.kg1,
        pres.kg2,
        sources=pres.sources,
        targets=pres.targets,
        translations=pair.translations,
        config=config,
        timer=timer,
    )
    rows_shown = np.asarray(res.rows, dtype=np.int64)
    cols_shown = np.asarray(res.cols, dtype=np.int64)
    rows, cols = pres.perm1[rows_shown], pres.perm2[cols_shown]
    scores = np.asarray(res.scores, dtype=np.float64)
    gold_set = set(map(tuple, links.tolist()))
    pairs = list(zip(rows.tolist(), cols.tolist()))
    correct = np.array([p in gold_set for p in pairs], dtype=bool)

    inv1, inv2 = np.argsort(pres.perm1), np.argsort(pres.perm2)
    ranks, censor_at = _gold_ranks(res, pres, inv1[links[:, 0]], inv2[links[:, 1]], rank_k)

    m = ev.ranking_metrics(ranks, ev.DEFAULT_KS, censor_at=censor_at)
    m.update(ev.pair_prf(pairs, links))
    m["accuracy"] = ev.one_to_one_accuracy(pairs, links)
    partner: dict[int, int] = {}
    multi = set()
    for r, c in pairs:
        if r in partner:
            multi.add(r)
        partner[r] = c
    gold_correct = np.array([partner.get(s) == t and s not in multi for s, t in links.tolist()], dtype=bool)
    stages = getattr(res, "stages", None) or timer.as_dict()
    return RunOutput(
        seed=seed,
        metrics=m,
        partner=partner,
        rows=rows,
        cols=cols,
        scores=scores,
        correct=correct,
        ranks=ranks,
        censor_at=censor_at,
        gold_correct=gold_correct,
        stages=dict(stages),
        config=_config_record(getattr(res, "config", None) or config),
        device=str(getattr(res, "device", "cpu")),
        tied=_tied_sources(res, pres),
    )


def _config_record(config) -> dict:
    """A configuration as plain data (an AlignConfig through ``to_dict()``, a mapping copied)."""
    if config is None:
        return {}
    return config.to_dict() if hasattr(config, "to_dict") else dict(config)


def permutation_check(a: RunOutput, b: RunOutput, max_disagreement: float) -> dict:
    """Compare two runs of the same pair under different presentations.

    The allowance is ``max_disagreement`` plus the fraction of compared sources whose best
    similarity is tied (in either run): a tie may legitimately be broken differently under
    another order, and in a 1-to-1 assignment that can move a few more partners. A leak that
    reads the order shows up as a disagreement far beyond the ties.

    Returns
    -------
    dict
        ``passed``, ``partner_disagreement`` (fraction of compared sources whose predicted
        partner differs), ``tied_fraction``, ``allowed``, ``metric_differences`` and more.
    """
    srcs = set(a.partner) | set(b.partner)
    differ = sum(1 for s in srcs if a.partner.get(s) != b.partner.get(s))
    frac = differ / len(srcs) if srcs else 0.0
    tied = a.tied | b.tied
    tied_frac = len(srcs & tied) / len(srcs) if srcs else 0.0
    allowed = max_disagreement + tied_frac
    diffs = {
        k: abs(a.metrics[k] - b.metrics[k])
        for k in CHECKED_METRICS
        if k in a.metrics and k in b.metrics and np.isfinite(a.metrics[k]) and np.isfinite(b.metrics[k])
    }
    worst = max(diffs, key=diffs.__getitem__) if diffs else None
    passed = frac <= allowed and all(d <= allowed for d in diffs.values())
    return {
        "passed": bool(passed),
        "seeds": [a.seed, b.seed],
        "max_disagreement": max_disagreement,
        "partner_disagreement": frac,
        "sources_compared": len(srcs),
        "tied_fraction": tied_frac,
        "allowed": allowed,
        "metric_differences": diffs,
        "worst_metric": worst,
    }


def run_protocol(
    aligner: Callable,
    pair: KGPair,
    protocol: str = "closed",
    *,
    seed: int = 0,
    config=None,
    max_disagreement: float = 0.01,
    rank_k: int = 100,
    name: str = "pair",
    load_stages: dict | None = None,
) -> dict:
    """Run one protocol with the permutation self-check and return its result record.

    Parameters
    ----------
    aligner : callable
        See the module notes (e.g. :func:`kgalign.aligner.pipeline.align`).
    pair : KGPair
        Graphs and gold links.
    protocol : {"closed", "open"}
    seed : int
        The two presentations use seeds ``seed`` and ``seed + 1``; the reported metrics and
        stage costs are those of the first.
    config : AlignConfig, mapping or None
        Aligner configuration.
    max_disagreement : float
        Allowed fraction of sources whose predicted partner differs between the two seeds, and
        allowed absolute difference of each metric in :data:`CHECKED_METRICS`.
    rank_k : int
        Candidate-list length when ranks can only be read from ``ranking(k)``.
    name : str
        Pair name for messages.
    load_stages : dict, optional
        Stage costs of loading the data, prepended to the run's stages.

    Returns
    -------
    dict
        ``hits@1``, ``hits@5``, ``hits@10``, ``mr``, ``mrr``, ``accuracy``, ``precision``,
        ``recall``, ``f1``, counts, ``stages`` (``{stage: {"seconds", "peak_rss_mb"}}``),
        ``permutation_check``, ``device``, ``config`` and ``curves`` (data of the plots).

    Raises
    ------
    PermutationCheckError
        When the two presentations disagree beyond ``max_disagreement``.
    InputError
        For an unknown protocol or a pair without links.
    """
    if protocol not in PROTOCOLS:
        raise InputError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    if pair.links is None or len(pair.links) == 0:
        raise InputError(f"{name}: no gold links to evaluate against")
    links = np.asarray(pair.links, dtype=np.int64)
    if protocol == "closed":
        sources, targets = links[:, 0], links[:, 1]
    else:
        sources, targets = np.arange(pair.kg1.n_entities), np.arange(pair.kg2.n_entities)
    runs = [run_once(aligner, pair, sources, targets, s, config=config, rank_k=rank_k) for s in (seed, seed + 1)]
    check = permutation_check(runs[0], runs[1], max_disagreement)
    if not check["passed"]:
        worst = check["worst_metric"]
        detail = f"; {worst} differs by {check['metric_differences'][worst]:.4f}" if worst else ""
        raise PermutationCheckError(
            f"{name} ({protocol}): permutation self-check failed: with presentation seeds {seed} and "
            f"{seed + 1} the predicted partner differs for {check['partner_disagreement']:.1%} of "
            f"{check['sources_compared']} sources{detail} (allowed: {check['allowed']:.1%} = "
            f"{max_disagreement:.1%} + {check['tied_fraction']:.1%} sources with tied best scores). The aligner "
            f"depends on the order in which entities are given, so its figures could reflect gold "
            f"order; results were not recorded."
        )
    a = runs[0]
    out = {k: a.metrics[k] for k in a.metrics}
    out["protocol"] = protocol
    out["n_sources"], out["n_targets"], out["n_links"] = int(len(sources)), int(len(targets)), int(len(links))
    out["tie_policy"] = "pessimistic" if a.censor_at is None else f"pessimistic (ranks > {a.censor_at:d} censored)"
    stages = dict(load_stages or {})
    stages.update(a.stages)
    out["stages"] = stages
    out["seconds_total"] = total_seconds(stages)
    out["peak_rss_mb"] = float(max([v.get("peak_rss_mb", 0.0) for v in stages.values()] or [0.0]))
    out["permutation_check"] = check
    out["device"] = a.device
    out["config"] = a.config
    deg = pair.kg1.degrees()[links[:, 0]]
    thr = ev.prf_vs_threshold(a.scores, a.correct, len(links))
    hist = ev.score_histograms(a.scores, a.correct)
    out["best_threshold"], out["best_f1"] = thr["best_threshold"], thr["best_f1"]
    out["curves"] = {
        "hits_at_k": ev.hits_curve(a.ranks, CURVE_K).tolist(),
        "threshold": {k: thr[k].tolist() for k in ("threshold", "precision", "recall", "f1")},
        "score_hist": {k: hist[k].tolist() for k in ("edges", "correct", "wrong")},
        "by_degree": ev.accuracy_by_degree(deg, a.gold_correct),
    }
    return out


def total_seconds(stages: dict) -> float:
    """Wall seconds of the top-level stages: ``a.b`` is a sub-stage inside ``a`` and not added again."""
    return float(
        sum(v.get("seconds", 0.0) for k, v in stages.items() if "." not in k or k.split(".", 1)[0] not in stages)
    )


def subsample_pair(pair: KGPair, n_links: int, seed: int = 0, dangling: float = 0.25) -> KGPair:
    """A smaller pair for quick runs: ``n_links`` random gold links plus dangling entities.

    Each graph keeps the linked entities of the sample and ``round(dangling * n_links)`` random
    entities without a sampled counterpart (so that the open protocol still has distractors);
    triples among kept entities are kept (:meth:`KnowledgeGraph.subgraph`).
    """
    links = np.asarray(pair.links, dtype=np.int64)
    if n_links >= len(links):
        return pair
    rng = np.random.default_rng(seed)
    pick = links[np.sort(rng.choice(len(links), n_links, replace=False))]
    keep = []
    for side, kg in ((0, pair.kg1), (1, pair.kg2)):
        linked = set(pick[:, side].tolist())
        rest = np.array([i for i in range(kg.n_entities) if i not in linked], dtype=np.int64)
        extra = rng.choice(rest, min(len(rest), int(round(dangling * n_links))), replace=False) if len(rest) else rest
        keep.append(np.sort(np.concatenate([pick[:, side], extra])))
    new = []
    for side in (0, 1):
        pos = np.full((pair.kg1 if side == 0 else pair.kg2).n_entities, -1, dtype=np.int64)
        pos[keep[side]] = np.arange(len(keep[side]))
        new.append(pos[pick[:, side]])
    return KGPair(
        pair.kg1.subgraph(keep[0]),
        pair.kg2.subgraph(keep[1]),
        np.stack(new, axis=1),
        pair.translations,
        pair.lang1,
        pair.lang2,
    )
