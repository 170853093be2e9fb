"""compute_similarity: fusion algebra, permutation equivariance, structure, CSLS, config errors."""

import numpy as np
import pytest

from kgalign.aligner.similarity import compute_similarity, csls
from kgalign.aligner.views import ngram_vectors
from kgalign.config import AlignConfig, SimilarityConfig
from kgalign.errors import InputError
from kgalign.kg import KnowledgeGraph

NAMES = ["paris", "france", "texas", "lyon", "berlin", "germany", "munich", "bavaria"]
TRIPLES = [(0, 0, 1), (3, 0, 1), (2, 1, 0), (4, 0, 5), (6, 0, 5), (7, 1, 6), (6, 1, 4)]


def _pair(seed=0, d=6):
    rng = np.random.default_rng(seed)
    n = len(NAMES)
    perm = rng.permutation(n)  # kg1 entity i is kg2 entity perm[i]
    kg1 = KnowledgeGraph(entities=[f"http://a/{i}" for i in range(n)], triples=TRIPLES, relations=["r0", "r1"])
    kg2 = KnowledgeGraph(
        entities=[f"http://b/{i}" for i in range(n)],
        triples=[(perm[h], r, perm[t]) for h, r, t in TRIPLES],
        relations=["r0", "r1"],
    )
    base = rng.standard_normal((n, d)).astype(np.float32)
    e1 = base + 0.3 * rng.standard_normal((n, d)).astype(np.float32)
    e2 = np.empty_like(base)
    e2[perm] = base + 0.3 * rng.standard_normal((n, d)).astype(np.float32)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 /= np.linalg.norm(e2, axis=1, keepdims=True)
    names2 = [""] * n
    for i in range(n):
        names2[perm[i]] = NAMES[i]
    return kg1, kg2, e1, e2, list(NAMES), names2, perm


def _cfg(selftrain=False, **sim):
    return AlignConfig.from_dict({"similarity": sim, "selftrain": {"enabled": selftrain}})


def test_fusion_is_the_weighted_mean_of_views():
    kg1, kg2, e1, e2, n1, n2, _ = _pair()
    src, tgt = np.arange(8), np.arange(8)[::-1].copy()
    off = {"names": 0.0, "strings": 0.0, "structure": [], "attributes": 0.0}
    names = compute_similarity(kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg(**{**off, "names": 1.0}))
    c1 = e1 - e1.mean(0)
    c2 = e2 - e2.mean(0)
    c1 /= np.linalg.norm(c1, axis=1, keepdims=True)
    c2 /= np.linalg.norm(c2, axis=1, keepdims=True)
    np.testing.assert_allclose(names, c1[src] @ c2[tgt].T, rtol=1e-5, atol=1e-6)
    strings = compute_similarity(kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg(**{**off, "strings": 1.0}))
    X1, X2 = ngram_vectors([n1[i] for i in src], [n2[j] for j in tgt])
    np.testing.assert_allclose(strings, (X1 @ X2.T).toarray(), rtol=1e-5, atol=1e-6)
    hop1 = compute_similarity(kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg(**{**off, "structure": [1.0]}))
    hop2 = compute_similarity(kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg(**{**off, "structure": [0.0, 1.0]}))
    full = compute_similarity(
        kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg(names=0.5, strings=2.0, structure=[1.5, 0.25], attributes=0.0)
    )
    assert full.dtype == np.float32 and full.shape == (8, 8)
    total = 0.5 + 2.0 + 1.5 + 0.25
    np.testing.assert_allclose(
        full, (0.5 * names + 2.0 * strings + 1.5 * hop1 + 0.25 * hop2) / total, rtol=1e-4, atol=1e-5
    )
    assert np.all(np.abs(full) <= 1.0 + 1e-5)


@pytest.mark.parametrize("selftrain", [False, True])
def test_permuting_targets_permutes_columns(selftrain):
    kg1, kg2, e1, e2, n1, n2, _ = _pair(1)
    src = np.array([0, 2, 3, 4, 5, 6, 7])
    tgt = np.arange(8)
    q = np.random.default_rng(5).permutation(8)
    S = compute_similarity(kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg(selftrain))
    Sq = compute_similarity(kg1, kg2, e1, e2, n1, n2, src, tgt[q], _cfg(selftrain))
    np.testing.assert_allclose(Sq, S[:, q], rtol=1e-5, atol=1e-6)


def test_structure_separates_identical_names():
    # two entities called "springfield": one next to "illinois", one next to "oregon"
    names = ["springfield", "springfield", "illinois", "oregon"]
    tr = [(0, 0, 2), (1, 0, 3)]
    kg1 = KnowledgeGraph(entities=[f"a{i}" for i in range(4)], triples=tr, relations=["r"])
    kg2 = KnowledgeGraph(entities=[f"b{i}" for i in range(4)], triples=[(1, 0, 2), (0, 0, 3)], relations=["r"])
    rng = np.random.default_rng(0)
    vec = {t: rng.standard_normal(5).astype(np.float32) for t in set(names)}
    e1 = np.stack([vec[t] for t in names])
    e2 = e1.copy()
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 /= np.linalg.norm(e2, axis=1, keepdims=True)
    src, tgt = np.array([0, 1]), np.array([0, 1])
    flat = compute_similarity(kg1, kg2, e1, e2, names, names, src, tgt, _cfg(structure=[], strings=0.0))
    assert flat[0, 0] == pytest.approx(flat[0, 1])
    S = compute_similarity(kg1, kg2, e1, e2, names, names, src, tgt, _cfg(structure=[1.0, 1.0], strings=0.0))
    # kg1 0 (near illinois) is kg2 1 (near illinois)
    assert S[0, 1] > S[0, 0] and S[1, 0] > S[1, 1]


def test_csls_brute_force():
    rng = np.random.default_rng(3)
    S = rng.random((5, 4)).astype(np.float32)
    k = 2
    expect = np.empty_like(S)
    for i in range(5):
        for j in range(4):
            expect[i, j] = 2 * S[i, j] - np.sort(S[i])[-k:].mean() - np.sort(S[:, j])[-k:].mean()
    np.testing.assert_allclose(csls(S.copy(), k), expect, rtol=1e-5)
    kg1, kg2, e1, e2, n1, n2, _ = _pair()
    plain = compute_similarity(kg1, kg2, e1, e2, n1, n2, np.arange(8), np.arange(8), _cfg())
    hub = compute_similarity(kg1, kg2, e1, e2, n1, n2, np.arange(8), np.arange(8), _cfg(csls=3))
    np.testing.assert_allclose(hub, csls(plain.copy(), 3), rtol=1e-5, atol=1e-5)


def test_defaults_find_the_permutation_and_bad_config():
    kg1, kg2, e1, e2, n1, n2, perm = _pair(2)
    S, info = compute_similarity(kg1, kg2, e1, e2, n1, n2, np.arange(8), np.arange(8), AlignConfig(), return_info=True)
    assert S.argmax(1).tolist() == perm.tolist()
    assert {"names", "strings", "structure"} <= set(info["views"]) and "selftrain" in info
    with pytest.raises(InputError, match="bogus"):
        compute_similarity(
            kg1, kg2, e1, e2, n1, n2, np.arange(8), np.arange(8), AlignConfig.from_dict({"similarity": {"bogus": 1}})
        )
    with pytest.raises(InputError):
        compute_similarity(
            kg1, kg2, e1, e2, n1, n2, np.arange(8), np.arange(8), AlignConfig.from_dict({"selftrain": {"round": 1}})
        )
    with pytest.raises(ValueError):
        compute_similarity(kg1, kg2, e1[:3], e2, n1, n2, np.arange(3), np.arange(8), AlignConfig())
    assert set(SimilarityConfig().to_dict()) >= {"names", "strings", "structure", "attributes", "csls", "center"}


def test_graph_without_triples_skips_structure():
    kg1, kg2, e1, e2, n1, n2, _ = _pair(4)
    bare = KnowledgeGraph(entities=list(kg2.entities))
    src, tgt = np.arange(8), np.arange(8)
    S, info = compute_similarity(kg1, bare, e1, e2, n1, n2, src, tgt, _cfg(), return_info=True)
    assert "structure" not in info["views"]
    flat = compute_similarity(kg1, kg2, e1, e2, n1, n2, src, tgt, _cfg(structure=[]))
    np.testing.assert_allclose(S, flat, rtol=1e-5, atol=1e-6)
