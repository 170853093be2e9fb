"""Alignment metrics: ranking (Hits@k, MR, MRR), 1-to-1 accuracy, P/R/F1, thresholds, degree buckets.

All functions are pure numpy and take entity *positions* (int64) or any hashable entity names;
no function reads files (see :mod:`kgalign.io.readers`) or runs an aligner (see
:mod:`kgalign.evaluation`).

Conventions
-----------
* A *rank* is 1-based: the correct target ranked first has rank 1.
* **Tie policy.** When scores tie, :func:`ranks_from_scores` ranks the gold target
  *pessimistically* by default: every other candidate with a score equal to the gold target's
  score is counted as ranked before it (rank = 1 + #(score > gold) + #(score == gold, other)).
  A scorer that gives every candidate the same score therefore gets Hits@1 = 0, never credit
  by luck or by candidate order. ``tie="mean"`` gives the expected rank under a uniformly
  random tie-break (the average of the optimistic and pessimistic ranks), ``tie="optimistic"``
  the best case. Ranks read from a ranked candidate list (:func:`ranks_from_ranking`) take the
  list's order as given; the benchmark shuffles the candidate side so that this order cannot
  leak the gold order.
* A gold target that is absent from a truncated candidate list has an unknown rank larger than
  the list length ``k``; it never counts as a hit, contributes 0 to MRR, and ``k + 1`` to MR
  (so MR from truncated lists is a lower bound; :func:`ranking_metrics` reports how many ranks
  were censored).

References
----------
Hits@k and MRR as used for DBP15K in Sun, Hu, Li, "Cross-lingual entity alignment via joint
attribute-preserving embedding", ISWC 2017, and in the OpenEA benchmark (Sun et al., "A
benchmarking study of embedding-based entity alignment for knowledge graphs", PVLDB 2020).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from kgalign.errors import InputError

__all__ = [
    "TIE_POLICIES",
    "DEFAULT_KS",
    "ranks_from_scores",
    "ranks_from_ranking",
    "hits_at",
    "hits_curve",
    "mean_rank",
    "mean_reciprocal_rank",
    "ranking_metrics",
    "one_to_one_accuracy",
    "pair_prf",
    "prf",
    "prf_vs_threshold",
    "degree_buckets",
    "accuracy_by_degree",
    "score_histograms",
    "evaluate_alignment",
]

TIE_POLICIES = ("pessimistic", "mean", "optimistic")
DEFAULT_KS = (1, 5, 10)


# --------------------------------------------------------------------------------- ranks
def ranks_from_scores(scores, gold_cols, *, tie: str = "pessimistic", rows=None) -> np.ndarray:
    """Rank of each row's gold column in a score matrix (higher score = better).

    Parameters
    ----------
    scores : array_like of float, shape (n, m)
        Similarity of source row ``i`` to candidate column ``j``. Dense; NaN is rejected.
    gold_cols : array_like of int, shape (n,) or (r,)
        The correct column of each row (or of each row in ``rows``). Must lie in ``[0, m)``.
    tie : {"pessimistic", "mean", "optimistic"}
        How candidates whose score equals the gold score are counted (see the module notes).
    rows : array_like of int, shape (r,), optional
        Evaluate only these rows (default: all ``n`` rows, in order).

    Returns
    -------
    ndarray of float64, shape (r,)
        1-based ranks (integers unless ``tie="mean"``, which may give halves).

    Raises
    ------
    InputError
        On a NaN score, a gold column out of range or an unknown tie policy.
    """
    if tie not in TIE_POLICIES:
        raise InputError(f"unknown tie policy {tie!r}; use one of {', '.join(TIE_POLICIES)}")
    s = np.asarray(scores)
    if not np.issubdtype(s.dtype, np.floating):
        s = s.astype(np.float64)
    if s.ndim != 2:
        raise InputError(f"scores must be a 2-d matrix, got shape {s.shape}")
    rows = np.arange(s.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64).reshape(-1)
    gold = np.asarray(gold_cols, dtype=np.int64).reshape(-1)
    if len(gold) != len(rows):
        raise InputError(f"{len(gold)} gold columns for {len(rows)} rows")
    if len(gold) and (gold.min() < 0 or gold.max() >= s.shape[1]):
        raise InputError(f"gold column out of range [0, {s.shape[1]})")
    greater = np.empty(len(rows), dtype=np.float64)
    equal_others = np.empty(len(rows), dtype=np.float64)
    # row blocks of about 16 M cells keep the temporaries small for 20k x 20k matrices
    step = max(1, 16_000_000 // max(1, s.shape[1]))
    for lo in range(0, len(rows), step):
        hi = min(lo + step, len(rows))
        sub = s[rows[lo:hi]]
        nan = np.isnan(sub)
        if nan.any():
            r, c = np.argwhere(nan)[0]
            raise InputError(f"score of source row {int(rows[lo + r])}, candidate {int(c)} is NaN")
        g = sub[np.arange(hi - lo), gold[lo:hi]][:, None]
        greater[lo:hi] = (sub > g).sum(axis=1)
        equal_others[lo:hi] = (sub == g).sum(axis=1) - 1.0
    if tie == "pessimistic":
        return 1.0 + greater + equal_others
    if tie == "optimistic":
        return 1.0 + greater
    return 1.0 + greater + equal_others / 2.0


def ranks_from_ranking(ranking, gold_cols) -> np.ndarray:
    """Rank of each row's gold candidate in a ranked candidate list.

    Parameters
    ----------
    ranking : array_like of int, shape (n, k)
        Candidate ids per row, best first; ``-1`` pads rows with fewer than ``k`` candidates.
    gold_cols : array_like of int, shape (n,)
        The correct candidate id of each row (``-1`` is not allowed).

    Returns
    -------
    ndarray of float64, shape (n,)
        1-based rank of the gold candidate, ``np.inf`` where it is not in the list
        (censored: the true rank is larger than ``k``).

    Raises
    ------
    InputError
        When the shapes disagree or a row lists the same candidate twice.
    """
    r = np.asarray(ranking, dtype=np.int64)
    if r.ndim == 1:
        r = r[:, None]
    gold = np.asarray(gold_cols, dtype=np.int64).reshape(-1)
    if r.shape[0] != len(gold):
        raise InputError(f"ranking has {r.shape[0]} rows but {len(gold)} gold candidates are given")
    if (gold < 0).any():
        raise InputError("gold candidate ids must be >= 0")
    if r.shape[1] > 1:
        srt = np.sort(r, axis=1)
        dup = (srt[:, 1:] == srt[:, :-1]) & (srt[:, 1:] >= 0)
        if dup.any():
            row = int(np.nonzero(dup.any(axis=1))[0][0])
            raise InputError(f"ranking row {row} lists a candidate twice")
    hit = r == gold[:, None]
    found = hit.any(axis=1)
    ranks = np.full(len(gold), np.inf)
    ranks[found] = hit[found].argmax(axis=1) + 1.0
    return ranks


# --------------------------------------------------------------------------------- summaries
def _ranks(ranks) -> np.ndarray:
    a = np.asarray(ranks, dtype=np.float64).reshape(-1)
    if np.isnan(a).any() or (a < 1).any():
        raise InputError("ranks must be >= 1 (1-based) and not NaN")
    return a


def hits_at(ranks, k: int) -> float:
    """Fraction of ranks ``<= k`` (Hits@k); 0.0 for no ranks. Ranks may be ``inf`` (censored)."""
    a = _ranks(ranks)
    return float((a <= k).mean()) if len(a) else 0.0


def hits_curve(ranks, k_max: int) -> np.ndarray:
    """Hits@k for ``k = 1 .. k_max``, float64 shape (k_max,), non-decreasing."""
    a = _ranks(ranks)
    if not len(a):
        return np.zeros(k_max)
    finite = a[np.isfinite(a)]
    counts = np.bincount(np.ceil(finite).astype(np.int64).clip(0, k_max + 1), minlength=k_max + 2)
    return np.cumsum(counts[1 : k_max + 1]) / len(a)


def mean_rank(ranks, *, censor_at: int | None = None) -> float:
    """Mean rank (MR, lower is better). Censored ranks (``inf``) count as ``censor_at + 1``.

    Raises
    ------
    InputError
        When a rank is censored and ``censor_at`` is not given.
    """
    a = _ranks(ranks)
    if not len(a):
        return float("nan")
    inf = ~np.isfinite(a)
    if inf.any():
        if censor_at is None:
            raise InputError("some ranks are unknown (not in the candidate list); give censor_at")
        a = np.where(inf, censor_at + 1.0, a)
    return float(a.mean())


def mean_reciprocal_rank(ranks) -> float:
    """Mean of ``1 / rank`` (MRR); censored (``inf``) ranks contribute 0."""
    a = _ranks(ranks)
    return float((1.0 / a).mean()) if len(a) else 0.0


def ranking_metrics(ranks, ks: Sequence[int] = DEFAULT_KS, *, censor_at: int | None = None) -> dict:
    """``{"hits@k": ..., "mr": ..., "mrr": ..., "n": ..., "censored": ...}`` for the given ranks.

    Parameters
    ----------
    ranks : array_like of float, shape (n,)
        1-based ranks, ``inf`` for censored ones (then ``censor_at``, the candidate-list
        length, is needed for MR).
    ks : sequence of int
        Cut-offs for Hits@k.
    """
    a = _ranks(ranks)
    out = {f"hits@{k}": hits_at(a, k) for k in ks}
    n_cens = int((~np.isfinite(a)).sum())
    if n_cens and censor_at is None:
        out["mr"] = float("nan")
    else:
        out["mr"] = mean_rank(a, censor_at=censor_at)
    out["mrr"] = mean_reciprocal_rank(a)
    out["n"] = int(len(a))
    out["censored"] = n_cens
    return out


# --------------------------------------------------------------------------------- pairs
def _pair_set(pairs, what: str) -> set:
    if isinstance(pairs, np.ndarray):
        arr = pairs.reshape(-1, 2) if pairs.size else pairs.reshape(0, 2)
        return set(map(tuple, arr.tolist()))
    out = set()
    for p in pairs:
        if len(p) != 2:
            raise InputError(f"{what} pair {p!r} does not have two entities")
        out.add((p[0], p[1]))
    return out


def prf(n_correct: int, n_pred: int, n_gold: int) -> dict:
    """Precision, recall, F1 from counts (0.0 where a denominator is 0)."""
    p = n_correct / n_pred if n_pred else 0.0
    r = n_correct / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {
        "precision": float(p),
        "recall": float(r),
        "f1": float(f),
        "n_correct": int(n_correct),
        "n_pred": int(n_pred),
        "n_gold": int(n_gold),
    }


def pair_prf(pred_pairs: Iterable, gold_pairs: Iterable) -> dict:
    """Precision, recall and F1 of predicted pairs against gold pairs (duplicates removed).

    Parameters
    ----------
    pred_pairs, gold_pairs : iterable of (a, b) or ndarray of shape (n, 2)
        Entity pairs: positions or names, compared exactly as given.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (floats in [0, 1]) and the counts ``n_correct``,
        ``n_pred``, ``n_gold``.
    """
    pred = _pair_set(pred_pairs, "predicted")
    gold = _pair_set(gold_pairs, "gold")
    return prf(len(pred & gold), len(pred), len(gold))


def one_to_one_accuracy(pred_pairs: Iterable, gold_pairs: Iterable) -> float:
    """Fraction of gold links whose source is predicted with exactly the gold target.

    A gold source without a prediction, or with several predicted targets (not 1-to-1), counts
    as wrong; predictions for entities outside the gold sources are ignored. On the closed
    protocol with a 1-to-1 matching this equals recall and, when every source is matched,
    precision. 0.0 for no gold links.

    Parameters
    ----------
    pred_pairs, gold_pairs : iterable of (source, target) or ndarray of shape (n, 2)
    """
    gold = _pair_set(gold_pairs, "gold")
    if not gold:
        return 0.0
    by_src: dict[Hashable, set] = {}
    for s, t in _pair_set(pred_pairs, "predicted"):
        by_src.setdefault(s, set()).add(t)
    ok = sum(1 for s, t in gold if by_src.get(s) == {t})
    return ok / len(gold)


def prf_vs_threshold(scores, correct, n_gold: int, thresholds=None) -> dict:
    """Precision, recall and F1 of the pairs whose score is ``>= t``, for each threshold ``t``.

    Parameters
    ----------
    scores : array_like of float, shape (p,)
        Confidence of each predicted pair (NaN rejected).
    correct : array_like of bool, shape (p,)
        Whether each predicted pair is a gold link.
    n_gold : int
        Number of gold links (recall denominator).
    thresholds : array_like of float, optional
        Default: 101 evenly spaced values from ``min(scores)`` to ``max(scores)``.

    Returns
    -------
    dict of str to ndarray of float64, each shape (t,)
        ``threshold``, ``precision``, ``recall``, ``f1``, ``n_pred`` (the curve on
        ``thresholds``); plus scalars ``best_threshold`` and ``best_f1``: the highest F1 of any
        cut ``score >= t`` over every distinct score ``t`` (exact, not limited to the grid;
        among equal F1 the highest ``t``).
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    c = np.asarray(correct, dtype=bool).reshape(-1)
    if len(s) != len(c):
        raise InputError(f"{len(s)} scores but {len(c)} correctness flags")
    if np.isnan(s).any():
        raise InputError(f"score of predicted pair {int(np.argmax(np.isnan(s)))} is NaN")
    if thresholds is None:
        lo, hi = (float(s.min()), float(s.max())) if len(s) else (0.0, 1.0)
        thresholds = np.linspace(lo, hi, 101)
    t = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    order = np.argsort(-s, kind="stable")
    s_sorted, c_cum = s[order], np.concatenate([[0], np.cumsum(c[order])])
    # number of pairs with score >= t: position of t in the descending scores
    n_pred = np.searchsorted(-s_sorted, -t, side="right")
    n_cor = c_cum[n_pred]
    prec = np.divide(n_cor, n_pred, out=np.zeros(len(t)), where=n_pred > 0)
    rec = n_cor / n_gold if n_gold else np.zeros(len(t))
    f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros(len(t)), where=(prec + rec) > 0)
    # the best cut is searched over every distinct score (exact), not only the curve's grid
    cand = np.unique(s)
    n_pred_c = np.searchsorted(-s_sorted, -cand, side="right")
    n_cor_c = c_cum[n_pred_c]
    prec_c = np.divide(n_cor_c, n_pred_c, out=np.zeros(len(cand)), where=n_pred_c > 0)
    rec_c = n_cor_c / n_gold if n_gold else np.zeros(len(cand))
    f1_c = np.divide(2 * prec_c * rec_c, prec_c + rec_c, out=np.zeros(len(cand)), where=(prec_c + rec_c) > 0)
    # highest F1; among equals the highest threshold (fewest pairs)
    best = len(cand) - 1 - int(np.argmax(f1_c[::-1])) if len(cand) else 0
    return {
        "threshold": t,
        "precision": prec,
        "recall": np.asarray(rec, dtype=np.float64),
        "f1": f1,
        "n_pred": n_pred.astype(np.int64),
        "best_threshold": float(cand[best]) if len(cand) else float("nan"),
        "best_f1": float(f1_c[best]) if len(cand) else 0.0,
    }


# --------------------------------------------------------------------------------- degree
def degree_buckets(max_degree: int) -> list[tuple[int, int]]:
    """Inclusive degree ranges ``[0,0], [1,1], [2,3], [4,7], ...`` (powers of two) up to ``max_degree``."""
    out = [(0, 0)]
    lo = 1
    while lo <= max(max_degree, 0):
        out.append((lo, 2 * lo - 1))
        lo *= 2
    return out


def accuracy_by_degree(degrees, correct, buckets=None) -> list[dict]:
    """Accuracy of gold sources grouped by their degree.

    Parameters
    ----------
    degrees : array_like of int, shape (n,)
        Degree of each gold source (e.g. ``kg1.degrees()[sources]``: relation triples it is in).
    correct : array_like of bool, shape (n,)
        Whether the source was aligned correctly.
    buckets : list of (lo, hi), optional
        Inclusive degree ranges; default :func:`degree_buckets` of the largest degree.

    Returns
    -------
    list of dict
        One ``{"lo", "hi", "n", "accuracy"}`` per bucket (``accuracy`` 0.0 where ``n`` is 0).
    """
    d = np.asarray(degrees, dtype=np.int64).reshape(-1)
    c = np.asarray(correct, dtype=bool).reshape(-1)
    if len(d) != len(c):
        raise InputError(f"{len(d)} degrees but {len(c)} correctness flags")
    if buckets is None:
        buckets = degree_buckets(int(d.max()) if len(d) else 0)
    out = []
    for lo, hi in buckets:
        m = (d >= lo) & (d <= hi)
        n = int(m.sum())
        out.append({"lo": int(lo), "hi": int(hi), "n": n, "accuracy": float(c[m].mean()) if n else 0.0})
    return out


def score_histograms(scores, correct, bins: int = 40) -> dict:
    """Histogram counts of the scores of correct and of wrong predicted pairs on shared bins.

    Returns
    -------
    dict
        ``edges`` (float64, shape (bins + 1,)), ``correct`` and ``wrong`` (int64, shape (bins,)).
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    c = np.asarray(correct, dtype=bool).reshape(-1)
    lo, hi = (float(s.min()), float(s.max())) if len(s) else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    return {
        "edges": edges,
        "correct": np.histogram(s[c], bins=edges)[0].astype(np.int64),
        "wrong": np.histogram(s[~c], bins=edges)[0].astype(np.int64),
    }


# --------------------------------------------------------------------------------- files
def evaluate_alignment(pred, gold, *, ks: Sequence[int] = DEFAULT_KS, threshold: float | None = None) -> dict:
    """Compare a predicted alignment with gold links (both :class:`kgalign.io.readers.Alignment`).

    Only equivalence correspondences are compared (OAEI relation ``=``, owl:sameAs,
    skos:exactMatch/closeMatch). Entity names are compared exactly, after mapping the gold
    file's aliases (DBP15K integer ids -> IRIs) on both sides and mapping URIs to IRIs
    (:func:`kgalign.io.iri.iri_key`, RFC 3987 section 3.2), so a gold IRI ``.../Bête`` matches a
    predicted ``.../B%C3%AAte``.

    Parameters
    ----------
    pred, gold : Alignment
        From :func:`kgalign.io.readers.read_alignment`.
    ks : sequence of int
        Cut-offs for Hits@k when ``pred`` has ranked candidates.
    threshold : float, optional
        Also report P/R/F1 of the predicted pairs with score ``>= threshold``.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1``, ``accuracy`` (:func:`one_to_one_accuracy`), counts
        ``n_pred``, ``n_gold``, ``n_correct``; when scores are present ``best_threshold`` and
        ``best_f1`` (:func:`prf_vs_threshold`); with ``threshold`` an ``at_threshold`` dict;
        with candidates ``hits@k``, ``mrr``, ``mr`` (censored ranks count as list length + 1),
        ``censored``; and ``warnings`` (list of str).
    """
    warnings: list[str] = []
    n_pred_all, n_gold_all = len(pred), len(gold)
    pred, gold = pred.equivalences(), gold.equivalences()
    if len(pred) < n_pred_all:
        warnings.append(f"{n_pred_all - len(pred)} predicted correspondences are not equivalences; ignored")
    if len(gold) < n_gold_all:
        warnings.append(f"{n_gold_all - len(gold)} gold correspondences are not equivalences; ignored")
    from kgalign.io.iri import iri_key

    a1, a2 = dict(gold.aliases1), dict(gold.aliases2)

    def canon(pairs):  # IRIs and their URI form (RFC 3987 mapping, as SSSOM writes them) compare equal
        return [(iri_key(a1.get(s, s)), iri_key(a2.get(t, t))) for s, t in pairs]

    gold_pairs = canon(gold.pairs)
    pred_pairs = canon(pred.pairs)
    out = pair_prf(pred_pairs, gold_pairs)
    out["accuracy"] = one_to_one_accuracy(pred_pairs, gold_pairs)
    gsrc = {s for s, _ in gold_pairs}
    gtgt = {t for _, t in gold_pairs}
    if pred_pairs and not any(s in gsrc for s, _ in pred_pairs) and any(s in gtgt for s, _ in pred_pairs):
        warnings.append("predicted sources look like gold targets: are the two sides swapped?")
    elif pred_pairs and not any(s in gsrc for s, _ in pred_pairs) and not any(t in gtgt for _, t in pred_pairs):
        warnings.append(
            "no predicted entity occurs in the gold links: do both files name entities "
            "the same way (IRI vs id, same namespace)?"
        )
    gold_set = set(gold_pairs)
    if pred.scores is not None and len(pred_pairs):
        correct = np.array([p in gold_set for p in pred_pairs])
        curve = prf_vs_threshold(pred.scores, correct, len(gold_set))
        out["best_threshold"], out["best_f1"] = curve["best_threshold"], curve["best_f1"]
        if threshold is not None:
            keep = pred.scores >= threshold
            sub = [p for p, k in zip(pred_pairs, keep) if k]
            out["at_threshold"] = dict(pair_prf(sub, gold_pairs), threshold=float(threshold))
    elif threshold is not None:
        warnings.append("--threshold given but the predictions carry no scores")
    if pred.candidates:
        cands = {iri_key(a1.get(s, s)): [iri_key(a2.get(t, t)) for t in lst] for s, lst in pred.candidates.items()}
        k_max = max((len(v) for v in cands.values()), default=0)
        ranks = []
        for s, t in sorted(gold_set):
            lst = cands.get(s)
            ranks.append(lst.index(t) + 1.0 if lst is not None and t in lst else np.inf)
        out.update(ranking_metrics(ranks, ks, censor_at=k_max))
        out["candidates_per_source"] = k_max
    out["warnings"] = warnings
    return out
