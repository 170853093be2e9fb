"""Self-training: confident pairs and anchor profiles against brute force."""

import numpy as np
import pytest

from kgalign.aligner.selftrain import _reach, anchor_similarity, confident_pairs, self_train
from kgalign.aligner.views.structure import normalized_adjacency
from kgalign.config import SelftrainConfig
from kgalign.kg import KnowledgeGraph


def _kg(n, triples):
    return KnowledgeGraph(
        entities=[f"http://x/e{i}" for i in range(n)],
        triples=np.array(triples, np.int64).reshape(-1, 3),
        relations=["http://x/r"],
    )


@pytest.mark.parametrize("seed", range(5))
def test_confident_pairs_brute_force(seed):
    rng = np.random.default_rng(seed)
    S = rng.random((7, 9)).astype(np.float32)
    margin = 0.1
    rows, cols = confident_pairs(S, margin)
    expect = []
    for i in range(7):
        j = int(np.argmax(S[i]))
        top2 = sorted(S[i])[-2:]
        if int(np.argmax(S[:, j])) == i and top2[1] - top2[0] > margin:
            expect.append((i, j))
    assert list(zip(rows.tolist(), cols.tolist())) == expect


def test_confident_pairs_edge_cases():
    r, c = confident_pairs(np.zeros((0, 3), np.float32))
    assert len(r) == 0 and len(c) == 0
    r, c = confident_pairs(np.array([[0.3], [0.9]], np.float32))
    assert r.tolist() == [1] and c.tolist() == [0]
    # a tied row is never confident with a positive margin
    r, c = confident_pairs(np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.5]], np.float32), 0.01)
    assert r.tolist() == [1] and c.tolist() == [2]


def test_duplicate_sources_give_no_confident_pair_whatever_their_order():
    # two sources with the same label score (almost) the same against their best target: which
    # one argmax meets first depends on the order, so neither is an anchor
    S = np.array([[0.9, 0.1, 0.2], [0.9 + 1e-7, 0.2, 0.1], [0.1, 0.2, 0.8]], np.float32)
    for perm in ([0, 1, 2], [1, 0, 2], [2, 1, 0]):
        r, c = confident_pairs(S[perm], 0.05)
        assert {(perm[i], j) for i, j in zip(r.tolist(), c.tolist())} == {(2, 2)}


def test_anchor_similarity_matches_set_cosine():
    t1 = [(0, 0, 1), (1, 0, 2), (2, 0, 3), (3, 0, 4), (0, 0, 4), (5, 0, 1)]
    t2 = [(4, 0, 3), (3, 0, 2), (2, 0, 1), (1, 0, 0), (4, 0, 0), (5, 0, 3)]
    kg1, kg2 = _kg(6, t1), _kg(6, t2)
    anchors1, anchors2 = np.array([1, 2, 4]), np.array([3, 2, 0])
    src, tgt = np.arange(6), np.array([5, 4, 3, 2, 1, 0])
    R1, R2 = _reach(normalized_adjacency(kg1), 2), _reach(normalized_adjacency(kg2), 2)
    out = np.zeros((6, 6), np.float32)
    anchor_similarity(out, R1, R2, src, tgt, anchors1, anchors2, [1.5, 0.5])

    def nbrs(tr, n):
        adj = {i: set() for i in range(n)}
        for h, _, t in tr:
            adj[h].add(t)
            adj[t].add(h)
        two = {i: {z for y in adj[i] for z in adj[y]} for i in range(n)}
        return adj, two

    a1, b1 = nbrs(t1, 6)
    a2, b2 = nbrs(t2, 6)

    def cos(s1, s2):
        p1 = {k for k, a in enumerate(anchors1) if a in s1}
        p2 = {k for k, b in enumerate(anchors2) if b in s2}
        return len(p1 & p2) / np.sqrt(len(p1) * len(p2)) if p1 and p2 else 0.0

    for i in range(6):
        for jj, j in enumerate(tgt):
            expect = 1.5 * cos(a1[i], a2[j]) + 0.5 * cos(b1[i], b2[j])
            assert out[i, jj] == pytest.approx(expect, abs=1e-5)


def test_self_train_resolves_name_ties_and_stops():
    # a path 0-1-2-3-4 plus two look-alikes 5 (next to 0) and 6 (next to 4); kg2 is a
    # relabelled copy. Names tell 0..4 apart but not 5 from 6.
    t1 = [(0, 0, 1), (1, 0, 2), (2, 0, 3), (3, 0, 4), (5, 0, 0), (6, 0, 4)]
    perm = np.array([3, 6, 0, 5, 1, 2, 4])  # kg1 entity i is kg2 entity perm[i]
    t2 = [(perm[h], r, perm[t]) for h, r, t in t1]
    kg1, kg2 = _kg(7, t1), _kg(7, t2)
    base = np.zeros((7, 7), np.float32)
    for i in range(5):
        base[i, perm[i]] = 1.0
    for i in (5, 6):  # tie between the two look-alikes
        base[i, perm[5]] = base[i, perm[6]] = 0.5
    S, info = self_train(base, kg1, kg2, np.arange(7), np.arange(7), SelftrainConfig(rounds=5))
    assert S.argmax(1).tolist() == perm.tolist()
    assert info.confident[0] == 5 and 1 <= info.rounds < 5 and info.stopped
    assert np.array_equal(base[5, perm[5]], base[5, perm[6]])  # input not modified
    S0, info0 = self_train(base, kg1, kg2, np.arange(7), np.arange(7), SelftrainConfig(enabled=False))
    np.testing.assert_array_equal(S0, base)
    assert info0.rounds == 0


def test_abstain_threshold_separates_two_modes():
    from kgalign.aligner.selftrain import abstain_threshold

    rng = np.random.default_rng(0)
    low, high = rng.normal(0.2, 0.05, 300), rng.normal(0.9, 0.05, 700)
    scores = np.concatenate([low, high])
    t = abstain_threshold(scores)
    assert low.max() < t <= high.min()
    # order does not matter, and shifting every score shifts the threshold
    assert abstain_threshold(rng.permutation(scores)) == pytest.approx(t)
    assert abstain_threshold(scores + 3.0) == pytest.approx(t + 3.0, abs=1e-9)
    assert abstain_threshold([0.5, 0.5, np.nan]) == float("-inf")
    assert abstain_threshold([]) == float("-inf")


def _confident_reference(S, margin):
    """The plain definition: column argmax over the whole matrix, runner-up by sorting; a
    column whose best is tied (within TIE_TOL) by another row has no confident pair."""
    from kgalign.aligner.selftrain import TIE_TOL

    best_c = S.argmax(axis=1)
    best_r = S.argmax(axis=0)
    tied = (S >= S.max(axis=0) - TIE_TOL).sum(axis=0) > 1
    rows = np.nonzero((best_r[best_c] == np.arange(S.shape[0])) & ~tied[best_c])[0]
    if S.shape[1] >= 2:
        top2 = -np.partition(-S[rows], 1, axis=1)[:, :2]
        rows = rows[(top2[:, 0] - top2[:, 1]) > margin]
    return rows, best_c[rows]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("block_cells", [1, 7, 40, 1 << 22])
def test_confident_pairs_blocked_equals_reference_with_ties(monkeypatch, seed, block_cells):
    # small integer scores make many ties inside rows and columns, across row blocks
    import kgalign.aligner.selftrain as st

    monkeypatch.setattr(st, "_BLOCK_CELLS", block_cells)
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(1, 30), rng.integers(1, 30)
    S = rng.integers(0, 4, size=(n1, n2)).astype(np.float32) / 4
    for margin in (0.0, 0.2):
        rows, cols = st.confident_pairs(S, margin)
        er, ec = _confident_reference(S, margin)
        assert rows.tolist() == er.tolist() and cols.tolist() == ec.tolist()
    # integer input and a float64 matrix give the same pairs as float32
    r64, c64 = st.confident_pairs(S.astype(np.float64), 0.2)
    ri, ci = st.confident_pairs((S * 4).astype(np.int64), 0.8)
    assert r64.tolist() == ri.tolist() and c64.tolist() == ci.tolist()
    assert S.dtype == np.float32  # the input is not modified or converted in place


def test_self_train_leaves_base_untouched():
    tr = [(i, 0, (i + 1) % 8) for i in range(8)] + [(0, 0, 4)]
    kg = _kg(8, tr)
    rng = np.random.default_rng(3)
    base = (np.eye(8) + 0.01 * rng.random((8, 8))).astype(np.float32)
    keep = base.copy()
    S, info = self_train(base, kg, kg, np.arange(8), np.arange(8), SelftrainConfig(rounds=2, min_growth=0.0))
    np.testing.assert_array_equal(base, keep)
    assert S is not base and info.rounds >= 1
    # the result is the base plus the anchor-profile cosine of the last round (in [0, 1])
    assert np.all(S - base >= -1e-6) and np.all(S - base <= 1 + 1e-6)
