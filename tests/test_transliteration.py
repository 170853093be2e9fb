"""The transliteration view learned from pseudo-anchors (kgalign.aligner.views.transliteration):
on names written in a synthetic syllabary it learns the spelling from matched pairs and matches
held-out names it never saw; from wrong pairs it learns nothing useful; in compute_similarity
it runs only for a romanized side in a non-Latin script."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from test_similarity import _pair

from kgalign.aligner.similarity import compute_similarity
from kgalign.aligner.views.transliteration import (
    _units,
    is_non_latin,
    learn_associations,
    transliteration_vectors,
)
from kgalign.config import AlignConfig

# a syllabary: one Han character per Latin syllable (a transliteration without a dictionary)
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]  # 70 syllables
CHARS = "".join(chr(0x4E00 + 37 * k) for k in range(len(SYLLABLES)))  # as many Han characters


def _names(n, seed):
    rng = np.random.default_rng(seed)
    src, tgt = [], []
    seen = set()
    while len(src) < n:
        k = rng.integers(2, 5)
        idx = tuple(rng.integers(0, len(SYLLABLES), k))
        if idx in seen:
            continue
        seen.add(idx)
        src.append("".join(CHARS[i] for i in idx))
        tgt.append("".join(SYLLABLES[i] for i in idx).capitalize())
    return src, tgt


def _hits1(P, Q, gold_col):
    S = (P @ Q.T).toarray()
    return float(np.mean(S.argmax(axis=1) == gold_col))


def test_learns_the_spelling_from_anchors_and_matches_unseen_names():
    src, tgt = _names(300, 0)
    perm = np.random.default_rng(1).permutation(300)  # shuffled targets: target perm[i] is tgt[i]
    shuffled = [""] * 300
    for i, p in enumerate(perm):
        shuffled[p] = tgt[i]
    anchors = np.arange(150)  # the first half are the (pseudo-)anchors
    held = np.arange(150, 300)

    def ranks(cols):
        P, Q = transliteration_vectors(src, shuffled, anchors, cols)
        S = (P[held] @ Q.T).toarray()  # held-out names against all 300 targets
        gold = S[np.arange(len(held)), perm[held]]
        return (S > gold[:, None]).sum(axis=1), P, Q

    # chance: a mean rank of about 150 of 300, Hits@10 about 10 / 300
    rank, P, Q = ranks(perm[anchors])
    assert np.mean(rank < 10) > 0.45 and rank.mean() < 40
    # wrong anchors (a random pairing) teach nothing: chance level
    wrong, _, _ = ranks(np.random.default_rng(2).permutation(300)[:150])
    assert np.mean(wrong < 10) < 0.1 and wrong.mean() > 100
    # permuting the targets permutes the scores' columns
    order = np.random.default_rng(3).permutation(300)
    P2, Q2 = transliteration_vectors(src, [shuffled[j] for j in order], anchors, np.argsort(order)[perm[anchors]])
    np.testing.assert_allclose((P2 @ Q2.T).toarray(), (P @ Q.T).toarray()[:, order], rtol=1e-4, atol=1e-5)


def test_associations_pmi_min_count_and_top():
    src, tgt = _names(200, 4)
    U1, U2 = _units(src, tgt)
    rows = cols = np.arange(200)
    M = learn_associations(U1, U2, rows, cols, min_count=2, top=1000)
    # PMI from the counts, entry by entry
    A1, A2 = U1.toarray() > 0, U2.toarray() > 0
    C = A1.T.astype(float) @ A2.astype(float)
    with np.errstate(divide="ignore"):
        pmi = np.log(C * 200 / np.outer(A1.sum(0), A2.sum(0)))
    want = np.where((C >= 2) & (pmi > 0), pmi, 0.0)
    np.testing.assert_allclose(M.toarray(), want, rtol=1e-5, atol=1e-6)
    # top keeps each unit's strongest associations
    T = learn_associations(U1, U2, rows, cols, min_count=2, top=3).toarray()
    full = M.toarray()
    for u in range(full.shape[0]):
        nz = np.count_nonzero(full[u])
        assert np.count_nonzero(T[u]) == min(3, nz)
        if nz:
            assert T[u].max() == pytest.approx(full[u].max())
    # each character is positively associated with the letters of its own syllable
    from sklearn.feature_extraction.text import CountVectorizer

    v1 = CountVectorizer(analyzer="char", ngram_range=(1, 2), lowercase=True).fit(src).vocabulary_
    v2 = CountVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit([t.lower() for t in tgt]).vocabulary_
    assert all(full[v1[ch], v2[syl]] > 0 for ch, syl in zip(CHARS, SYLLABLES))
    assert learn_associations(U1, U2, [], []).nnz == 0


def test_is_non_latin():
    assert is_non_latin(["北京", "上海", "Paris"]) and not is_non_latin(["Paris", "Lyon", "北京"])
    assert not is_non_latin(["", ""]) and not is_non_latin(["Éire", "Zürich"]) and is_non_latin(["Москва"])


def _cfg(mode="dense", k=50, weight=1.0, selftrain=False, names=0.0, min_pairs=1):
    return AlignConfig.from_dict(
        {
            "similarity": {
                "mode": mode,
                "topk": k,
                "transliteration": weight,
                "transliteration_min_pairs": min_pairs,
                "names": names,
                "structure": [],
                "attributes": 0.0,
            },
            "selftrain": {"enabled": selftrain, "margin": 0.0},
        }
    )


def _syllabary_pair():
    """Graphs whose side-1 labels are in the syllabary and side-2 names in Latin."""
    from kgalign.kg import KnowledgeGraph

    src, tgt = _names(120, 5)
    n = len(src)
    perm = np.random.default_rng(6).permutation(n)
    kg1 = KnowledgeGraph(entities=[f"http://a/{i}" for i in range(n)], labels=[[("zh", s, 0)] for s in src])
    names2 = [""] * n
    for i in range(n):
        names2[perm[i]] = tgt[i]
    kg2 = KnowledgeGraph(entities=[f"http://b/{i}" for i in range(n)], labels=[[("en", t, 0)] for t in names2])
    rng = np.random.default_rng(7)
    e1 = rng.standard_normal((n, 8)).astype(np.float32)  # names that say nothing
    e2 = rng.standard_normal((n, 8)).astype(np.float32)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 /= np.linalg.norm(e2, axis=1, keepdims=True)
    # a romanisation that reads the first half of the names and not the second: the string
    # view finds the first half (the pseudo-anchors), nothing finds the second
    names1 = [tgt[i] if i < n // 2 else "x" * len(src[i]) for i in range(n)]
    return kg1, kg2, e1, e2, names1, names2, perm


def test_compute_similarity_runs_the_view_for_a_romanized_non_latin_side():
    kg1, kg2, e1, e2, n1, n2, perm = _syllabary_pair()
    src = np.arange(len(n1))
    tgt = np.arange(len(n2))
    kw = dict(return_info=True)
    cfg = _cfg().replace(lang1="zh", lang2="en")
    sim = partial(compute_similarity, kg1, kg2, e1, e2, n1, n2, src, tgt)
    off, info_off = sim(cfg, **kw)
    on, info_on = sim(cfg, romanized=(True, False), **kw)
    assert "transliteration" in info_on["views"] and "transliteration" not in info_off["views"]
    assert info_on["transliteration_anchors"][0] >= len(n1) // 2  # the names the romanisation read
    # fewer confident pairs than transliteration_min_pairs: nothing is learned, nothing changes
    few, info_few = sim(
        _cfg(min_pairs=len(n1) + 1).replace(lang1="zh", lang2="en"),
        romanized=(True, False),
        **kw,
    )
    assert "transliteration" not in info_few["views"] and info_few["transliteration_anchors"] == []
    np.testing.assert_array_equal(few, off)
    assert info_on["total_weight"] == info_off["total_weight"] + 1.0
    second = np.arange(len(n1) // 2, len(n1))  # names the romanisation did not read

    def matched(S):  # share of the second half right in the 1-to-1 assignment
        _, cols = linear_sum_assignment(S, maximize=True)
        return np.mean(cols[second] == perm[second])

    assert matched(on) > matched(off) + 0.2
    # the second side romanized (the roles swapped): the view runs on the transposed problem
    on2, info2 = compute_similarity(
        kg2, kg1, e2, e1, n2, n1, tgt, src, _cfg().replace(lang1="en", lang2="zh"), romanized=(False, True), **kw
    )
    assert "transliteration" in info2["views"]
    np.testing.assert_allclose(on2, on.T, rtol=1e-4, atol=1e-5)
    # weight 0, or a side in Latin script: the view does not run
    _, i0 = sim(
        _cfg(weight=0.0).replace(lang1="zh", lang2="en"),
        romanized=(True, False),
        **kw,
    )
    assert "transliteration" not in i0["views"]
    _, i1 = compute_similarity(
        kg2, kg1, e2, e1, n2, n1, tgt, src, _cfg().replace(lang1="en", lang2="zh"), romanized=(True, False), **kw
    )
    assert "transliteration" not in i1["views"]


def test_sparse_path_on_a_complete_graph_equals_dense():
    kg1, kg2, e1, e2, n1, n2, _ = _syllabary_pair()
    n = len(n1)
    src = np.arange(n)
    tgt = np.random.default_rng(8).permutation(n)
    sim = partial(compute_similarity, kg1, kg2, e1, e2, n1, n2, src, tgt)
    dense = sim(
        _cfg("dense", k=n, names=1.0).replace(lang1="zh", lang2="en"),
        romanized=(True, False),
    )
    sparse, info, scorer = sim(
        _cfg("sparse", k=n, names=1.0).replace(lang1="zh", lang2="en"),
        romanized=(True, False),
        return_info=True,
        return_scorer=True,
    )
    assert sp.issparse(sparse) and "transliteration" in info["views"]
    np.testing.assert_allclose(sparse.toarray(), dense, rtol=1e-4, atol=1e-5)
    r = np.repeat(np.arange(n), np.diff(sparse.indptr))
    np.testing.assert_allclose(scorer.pairs(r, sparse.indices), sparse.data, rtol=1e-4, atol=1e-5)


def test_graph_pair_fixture_is_untouched():
    # the shared fixture still has Latin names on both sides: the view never runs there
    kg1, kg2, e1, e2, n1, n2, _ = _pair(seed=1)
    _, info = compute_similarity(
        kg1, kg2, e1, e2, n1, n2, np.arange(8), np.arange(8), _cfg(), romanized=(True, True), return_info=True
    )
    assert "transliteration" not in info["views"]
