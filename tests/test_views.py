"""Unit tests of the similarity views on tiny hand-made graphs."""

import numpy as np
import pytest

from kgalign.aligner.views import (
    attribute_similarity,
    attribute_texts,
    center_embeddings,
    ngram_vectors,
    normalized_adjacency,
    propagate,
    sparse_cosine_into,
    structure_features,
)
from kgalign.kg import KnowledgeGraph


def _kg(n, triples, attributes=()):
    rel = sorted({r for _, r, _ in triples}) or [0]
    return KnowledgeGraph(
        entities=[f"http://x/e{i}" for i in range(n)],
        triples=np.array(triples, np.int64).reshape(-1, 3),
        relations=[f"http://x/r{r}" for r in range(max(rel) + 1)],
        attributes=list(attributes),
    )


def test_center_unit_rows_and_shift_invariance():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 8)).astype(np.float32)
    C = center_embeddings(X)
    assert C.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(C, axis=1), 1.0, rtol=1e-5)
    # a graph-wide offset (a "language direction") disappears after centring
    C2 = center_embeddings(X + rng.standard_normal(8).astype(np.float32) * 5)
    np.testing.assert_allclose(C, C2, atol=1e-5)
    # without centring only the normalisation is applied
    N = center_embeddings(X, center=False)
    np.testing.assert_allclose(N, X / np.linalg.norm(X, axis=1, keepdims=True), rtol=1e-5)
    with pytest.raises(ValueError):
        center_embeddings(np.zeros(3))
    # a tiny graph is not centred: its mean is its entities, and one entity would become zero
    one = center_embeddings(X[:1])
    np.testing.assert_allclose(one, X[:1] / np.linalg.norm(X[:1]), rtol=1e-5)
    from kgalign.aligner.views.names import MIN_CENTER

    assert not np.allclose(center_embeddings(X[:MIN_CENTER]), center_embeddings(X[:MIN_CENTER], center=False))


def test_normalized_adjacency_rows_and_irf():
    # entity 0: one edge of relation 0 (used once), one of relation 1 (used 4 times)
    tr = [(0, 0, 1), (0, 1, 2), (3, 1, 4), (3, 1, 2), (4, 1, 1)]
    kg = _kg(6, tr)
    A = normalized_adjacency(kg).toarray()
    sums = A.sum(1)
    np.testing.assert_allclose(sums[:5], 1.0, rtol=1e-6)
    assert sums[5] == 0  # isolated entity
    assert A[0, 1] == pytest.approx(0.5) and A[0, 2] == pytest.approx(0.5)
    B = normalized_adjacency(kg, "irf").toarray()
    # weights 1/sqrt(1) and 1/sqrt(4) -> normalised 2/3 and 1/3
    assert B[0, 1] == pytest.approx(2 / 3) and B[0, 2] == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        normalized_adjacency(kg, "bogus")
    with pytest.raises(ValueError):
        normalized_adjacency(_kg(2, [(0, 0, 5)]))


def test_propagate_and_structure_features_match_dense_algebra():
    rng = np.random.default_rng(1)
    tr = [(i, i % 3, (i * 7 + 3) % 12) for i in range(12)] + [(0, 1, 5), (2, 2, 9)]
    kg1, kg2 = _kg(12, tr), _kg(12, tr[::-1])
    A1, A2 = normalized_adjacency(kg1), normalized_adjacency(kg2)
    X1 = rng.standard_normal((12, 5)).astype(np.float32)
    X2 = rng.standard_normal((12, 5)).astype(np.float32)
    hops = propagate(A1, X1, 2)
    D = A1.toarray()
    for k, H in enumerate(hops):
        ref = np.linalg.matrix_power(D, k) @ X1
        ref /= np.linalg.norm(ref, axis=1, keepdims=True)
        np.testing.assert_allclose(H, ref, rtol=1e-4, atol=1e-5)
    w = [0.7, 2.0]
    F1, F2 = structure_features(A1, X1, w), structure_features(A2, X2, w)
    assert F1.shape == (12, 10)
    h1, h2 = propagate(A1, X1, 2), propagate(A2, X2, 2)
    expect = w[0] * h1[1] @ h2[1].T + w[1] * h1[2] @ h2[2].T
    np.testing.assert_allclose(F1 @ F2.T, expect, rtol=1e-4, atol=1e-5)
    assert structure_features(A1, X1, [0, 0]).shape == (12, 0)


def test_ngram_strings_word_order_and_blocks():
    a = ["john smith", "kingdom of wurttemberg", "", "songshan district taiwan"]
    b = ["smith john", "wurttemberg kingdom", "paris", "songshan district"]
    X1, X2 = ngram_vectors(a, b)
    S = (X1 @ X2.T).toarray()
    assert np.all(np.argmax(S[[0, 1, 3]], axis=1) == [0, 1, 3])
    assert S[2].max() == 0  # empty name: zero row
    same, _ = ngram_vectors(["abc"], ["abc"])
    np.testing.assert_allclose((same @ same.T).toarray(), [[1.0]], rtol=1e-6)
    out = np.zeros((4, 4), np.float32)
    sparse_cosine_into(out, X1, X2, weight=2.0, block=1)
    np.testing.assert_allclose(out, 2 * S, rtol=1e-6)
    E1, E2 = ngram_vectors(["", ""], [""])
    assert E1.shape[0] == 2 and E2.shape[0] == 1 and E1.nnz == 0


def test_attributes_skip_labels_and_reward_shared_literals():
    label = "http://www.w3.org/2000/01/rdf-schema#label"
    kg1 = _kg(
        2,
        [],
        [(0, label, "Paris", "fr"), (0, "http://x/p/population", "2165423", ""), (1, "http://x/p/founded", "1718", "")],
    )
    kg2 = _kg(2, [], [(0, "http://y/p/founded", "1718", ""), (1, "http://y/p/pop", "2165423", "")])
    t = attribute_texts(kg1)
    assert "Paris" not in t[0] and "2165423" in t[0] and "population" in t[0]
    out = np.zeros((2, 2), np.float32)
    attribute_similarity(out, kg1, kg2, np.arange(2), np.arange(2), include_keys=False)
    # entity 0 of kg1 shares its population with kg2's entity 1, entity 1 its year with entity 0
    assert out[0, 1] > out[0, 0] and out[1, 0] > out[1, 1]


@pytest.mark.parametrize("ratio", [1e-9, 3.0, 1e12])
@pytest.mark.parametrize("block", [1, 3, 2048])
@pytest.mark.parametrize("chunk_cells", [1, 25, 1 << 26])
def test_sparse_cosine_into_dense_sparse_split_equals_product(monkeypatch, ratio, block, chunk_cells):
    # ratio 1e-9: every shared column sparse; 1e12: every one dense; 3: a mix;
    # chunk_cells 1: dense columns one at a time
    import scipy.sparse as sp

    import kgalign.aligner.views.strings as st

    monkeypatch.setattr(st, "DENSE_COLUMN_RATIO", ratio)
    monkeypatch.setattr(st, "_DENSE_CHUNK_CELLS", chunk_cells)
    rng = np.random.default_rng(int(ratio) % 7 + block)
    n1, n2, V = 11, 9, 30
    X1 = sp.random(n1, V, density=0.2, random_state=1, dtype=np.float32).tolil()
    X2 = sp.random(n2, V, density=0.2, random_state=2, dtype=np.float32).tolil()
    X1[:, 0] = 1.0  # a column held by every row: dense for any ratio > 1
    X2[:, 0] = 0.5
    X1[:, 1] = 0.3  # a column on one side only: contributes nothing
    X2[:, 1] = 0.0
    X1, X2 = X1.tocsr(), X2.tocsr()
    base = rng.random((n1, n2)).astype(np.float32)
    out = base.copy()
    got = st.sparse_cosine_into(out, X1, X2, weight=1.5, block=block)
    assert got is out
    np.testing.assert_allclose(out, base + 1.5 * (X1 @ X2.T).toarray(), rtol=1e-5, atol=1e-6)
    # weight 0 and empty sides leave the accumulator alone
    st.sparse_cosine_into(out, X1, X2, weight=0.0)
    np.testing.assert_allclose(out, base + 1.5 * (X1 @ X2.T).toarray(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        st.sparse_cosine_into(np.zeros((n1, n2 + 1), np.float32), X1, X2)


def test_ngram_vectors_equal_fit_then_transform():
    from sklearn.feature_extraction.text import TfidfVectorizer

    a = ["Beijing Capital Airport", "tang dynasty", "", "Song Jiang"]
    b = ["beijing airport", "Tang-Dynasty", "jiang song", "x"]
    X1, X2 = ngram_vectors(a, b, ngram_range=(1, 3))
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32)
    vec.fit(a + b)
    np.testing.assert_allclose(X1.toarray(), vec.transform(a).toarray(), rtol=1e-6)
    np.testing.assert_allclose(X2.toarray(), vec.transform(b).toarray(), rtol=1e-6)


def test_sparse_cosine_into_leaves_a_non_canonical_input_alone():
    import scipy.sparse as sp

    X1 = sp.csr_matrix((np.array([2.0, 4.0, 1.0], np.float32), np.array([2, 0, 2]), np.array([0, 3])), shape=(1, 3))
    X2 = sp.csr_matrix(np.array([[1.0, 0.0, 1.0]], np.float32))
    before = (X1.indices.copy(), X1.data.copy(), X1.indptr.copy())
    out = np.zeros((1, 1), np.float32)
    sparse_cosine_into(out, X1, X2)
    assert out[0, 0] == pytest.approx(3.0 + 4.0)  # duplicates add up: (2 + 1) * 1 + 4 * 1
    for a, b in zip(before, (X1.indices, X1.data, X1.indptr)):
        np.testing.assert_array_equal(a, b)
