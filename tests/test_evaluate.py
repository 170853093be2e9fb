"""Metrics of kgalign.evaluation.metrics: hand-computed tiny cases and brute-force differential checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgalign.errors import InputError
from kgalign.evaluation import metrics as ev


# ------------------------------------------------------------------ hand-computed
def test_ranks_from_scores_tie_policies_by_hand():
    # row 0: gold col 1 has 0.5; one score above (0.9), one equal (col 2) -> pess 3, opt 2, mean 2.5
    # row 1: gold col 0 is the unique best -> rank 1 under every policy
    s = np.array([[0.9, 0.5, 0.5, 0.1], [0.8, 0.2, 0.3, 0.7]])
    gold = [1, 0]
    assert ev.ranks_from_scores(s, gold).tolist() == [3.0, 1.0]
    assert ev.ranks_from_scores(s, gold, tie="optimistic").tolist() == [2.0, 1.0]
    assert ev.ranks_from_scores(s, gold, tie="mean").tolist() == [2.5, 1.0]


def test_constant_scorer_gets_no_credit():
    s = np.zeros((5, 5))
    r = ev.ranks_from_scores(s, np.arange(5))
    assert ev.hits_at(r, 1) == 0.0 and ev.hits_at(r, 4) == 0.0 and ev.hits_at(r, 5) == 1.0


def test_ranking_metrics_by_hand():
    ranks = [1, 2, 4, 11]
    m = ev.ranking_metrics(ranks)
    assert m["hits@1"] == 0.25 and m["hits@5"] == 0.75 and m["hits@10"] == 0.75
    assert m["mr"] == pytest.approx((1 + 2 + 4 + 11) / 4)
    assert m["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 4 + 1 / 11) / 4)


def test_ranks_from_ranking_and_censoring():
    ranking = np.array([[3, 1, 2], [0, -1, -1], [2, 0, 1]])
    r = ev.ranks_from_ranking(ranking, [1, 2, 1])
    assert r[0] == 2 and np.isinf(r[1]) and r[2] == 3
    m = ev.ranking_metrics(r, ks=(1, 3), censor_at=3)
    assert m["censored"] == 1
    assert m["mr"] == pytest.approx((2 + 4 + 3) / 3)  # censored rank counts as k + 1 = 4
    assert m["mrr"] == pytest.approx((1 / 2 + 0 + 1 / 3) / 3)
    assert np.isnan(ev.ranking_metrics(r)["mr"])  # no censor_at: MR is unknown
    with pytest.raises(InputError):
        ev.ranks_from_ranking([[1, 1]], [1])


def test_pair_prf_and_accuracy_by_hand():
    gold = [("a", "x"), ("b", "y"), ("c", "z"), ("d", "w")]
    pred = [("a", "x"), ("b", "z"), ("c", "z"), ("e", "v"), ("a", "x")]  # duplicate ignored
    m = ev.pair_prf(pred, gold)
    assert (m["n_correct"], m["n_pred"], m["n_gold"]) == (2, 4, 4)
    assert m["precision"] == 0.5 and m["recall"] == 0.5 and m["f1"] == 0.5
    assert ev.one_to_one_accuracy(pred, gold) == 0.5
    # a source with two predicted targets is not 1-to-1: wrong even if one is right
    assert ev.one_to_one_accuracy(pred + [("a", "q")], gold) == 0.25


def test_prf_vs_threshold_by_hand():
    scores = [0.9, 0.8, 0.7, 0.6]
    correct = [True, False, True, True]
    out = ev.prf_vs_threshold(scores, correct, n_gold=5, thresholds=[0.85, 0.75, 0.65, 0.0, 1.0])
    assert out["n_pred"].tolist() == [1, 2, 3, 4, 0]
    assert out["precision"].tolist() == pytest.approx([1.0, 0.5, 2 / 3, 0.75, 0.0])
    assert out["recall"].tolist() == pytest.approx([0.2, 0.2, 0.4, 0.6, 0.0])
    p, r = 0.75, 0.6
    # the best cut is reported as the lowest score it keeps (0.6: the same four pairs as 0.0)
    assert out["best_f1"] == pytest.approx(2 * p * r / (p + r)) and out["best_threshold"] == 0.6


def test_accuracy_by_degree_by_hand():
    assert ev.degree_buckets(9) == [(0, 0), (1, 1), (2, 3), (4, 7), (8, 15)]
    out = ev.accuracy_by_degree([0, 1, 2, 3, 3, 9], [False, True, True, False, True, True])
    got = {(b["lo"], b["hi"]): (b["n"], b["accuracy"]) for b in out}
    assert got[(0, 0)] == (1, 0.0) and got[(1, 1)] == (1, 1.0)
    assert got[(2, 3)] == (3, pytest.approx(2 / 3)) and got[(4, 7)] == (0, 0.0) and got[(8, 15)] == (1, 1.0)


def test_errors_are_input_errors():
    with pytest.raises(InputError, match="NaN"):
        ev.ranks_from_scores([[0.9, np.nan], [0.2, 0.8]], [0, 1])
    with pytest.raises(InputError, match="tie policy"):
        ev.ranks_from_scores([[1.0]], [0], tie="random")
    with pytest.raises(InputError, match="out of range"):
        ev.ranks_from_scores([[1.0]], [3])
    with pytest.raises(InputError):
        ev.mean_rank([1, np.inf])


# ------------------------------------------------------------------ differential / invariants
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 7), st.integers(0, 2**31 - 1))
def test_ranks_match_brute_force_and_ranking(n, m, seed):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 4, size=(n, m)).astype(float)  # many ties on purpose
    gold = rng.integers(0, m, size=n)
    pess = ev.ranks_from_scores(s, gold)
    opt = ev.ranks_from_scores(s, gold, tie="optimistic")
    mean = ev.ranks_from_scores(s, gold, tie="mean")
    for i in range(n):
        others = [s[i, j] for j in range(m) if j != gold[i]]
        assert pess[i] == 1 + sum(o >= s[i, gold[i]] for o in others)
        assert opt[i] == 1 + sum(o > s[i, gold[i]] for o in others)
    assert np.all(opt <= mean) and np.all(mean <= pess)
    # mean rank = expected rank under uniformly random tie-breaking (enumerated exactly)
    for i in range(n):
        g = s[i, gold[i]]
        ties = int((s[i] == g).sum())
        expected = 1 + (s[i] > g).sum() + np.mean(np.arange(ties))
        assert mean[i] == pytest.approx(expected)
    # a stable descending sort puts the gold column between the optimistic and pessimistic ranks
    ranking = np.argsort(-s, axis=1, kind="stable")
    from_list = ev.ranks_from_ranking(ranking, gold)
    assert np.all(opt <= from_list) and np.all(from_list <= pess)
    # permuting the candidate columns does not change score-based ranks
    perm = rng.permutation(m)
    inv = np.argsort(perm)
    assert np.array_equal(ev.ranks_from_scores(s[:, perm], inv[gold]), pess)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=0, max_size=30), st.integers(0, 2**31 - 1))
def test_prf_vs_threshold_matches_brute_force(scores, seed):
    rng = np.random.default_rng(seed)
    correct = rng.random(len(scores)) < 0.5
    n_gold = int(correct.sum()) + int(rng.integers(0, 5))
    th = np.concatenate([np.asarray(scores), rng.random(5)])
    out = ev.prf_vs_threshold(scores, correct, n_gold, thresholds=th)
    for k, t in enumerate(th):
        keep = [(s, c) for s, c in zip(scores, correct) if s >= t]
        ref = ev.pair_prf(
            [(i, 0) for i, (s, c) in enumerate(keep)],
            [(i, 0) for i, (s, c) in enumerate(keep) if c]
            + [(-1 - j, 0) for j in range(n_gold - sum(c for _, c in keep))],
        )
        assert out["n_pred"][k] == len(keep)
        assert out["precision"][k] == pytest.approx(ref["precision"])
        assert out["recall"][k] == pytest.approx(ref["recall"])
        assert out["f1"][k] == pytest.approx(ref["f1"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=40))
def test_hits_curve_agrees_with_hits_at(ranks):
    curve = ev.hits_curve(ranks, 25)
    assert np.all(np.diff(curve) >= 0)
    for k in (1, 5, 10, 25):
        assert curve[k - 1] == pytest.approx(ev.hits_at(ranks, k))


def test_score_histograms_partition_the_pairs():
    rng = np.random.default_rng(0)
    s = rng.random(200)
    c = rng.random(200) < 0.3
    h = ev.score_histograms(s, c, bins=10)
    assert h["correct"].sum() == c.sum() and h["wrong"].sum() == (~c).sum()
    assert len(h["edges"]) == 11


def test_best_f1_is_exact_over_every_distinct_score():
    """The best cut is found among all scores, not only on the curve's 101-point grid."""
    rng = np.random.default_rng(3)
    scores = rng.random(300)
    correct = rng.random(300) < scores  # higher scores more often right
    n_gold = 260
    out = ev.prf_vs_threshold(scores, correct, n_gold)
    brute = []
    for t in np.unique(scores):
        keep = scores >= t
        tp = int(correct[keep].sum())
        p, r = tp / keep.sum(), tp / n_gold
        brute.append((2 * p * r / (p + r) if p + r else 0.0, t))
    best_f1 = max(f for f, _ in brute)
    assert out["best_f1"] == pytest.approx(best_f1)
    assert out["best_f1"] >= out["f1"].max() - 1e-12
    t = out["best_threshold"]
    keep = scores >= t  # the reported threshold reproduces the reported F1
    tp = int(correct[keep].sum())
    p, r = tp / keep.sum(), tp / n_gold
    assert 2 * p * r / (p + r) == pytest.approx(out["best_f1"])
