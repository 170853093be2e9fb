"""Language-subspace geometry (kgalign.lm.geometry, ``kgalign geometry``) and the alignment
feature that removes language-sensitive directions (kgalign.aligner.views.names)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kgalign.lm.geometry.subspace import affine_map, fit_subspace, principal_angles, subspace_dim, subspace_distances

DBP = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "dbp15k"


def _orthonormal(rng, d, k):
    q, _ = np.linalg.qr(rng.standard_normal((d, k)))
    return q


def _known_spectrum(rng, variances, d=7, n=60, mean=None):
    """n points in R^d whose sample variances along orthonormal axes are exactly ``variances``."""
    r = len(variances)
    G = rng.standard_normal((n, r))
    G -= G.mean(axis=0)
    Qn, _ = np.linalg.qr(G)  # orthonormal columns, each orthogonal to the ones vector
    Z = Qn * np.sqrt((n - 1) * np.asarray(variances, dtype=float))
    X = Z @ _orthonormal(rng, d, r).T
    return X + (0 if mean is None else mean)


# ---------------------------------------------------------------------- subspaces (numpy)
@pytest.mark.parametrize("share, k", [(0.3, 1), (0.5, 1), (0.51, 2), (0.8, 2), (0.81, 3), (0.95, 3), (0.96, 4)])
def test_k_on_a_known_spectrum(share, k):
    # variances 5, 3, 1.5, 0.5 (total 10): the cumulative shares are 0.5, 0.8, 0.95, 1.0,
    # so k is the first index whose cumulative share reaches ``share`` (boundaries included)
    X = _known_spectrum(np.random.default_rng(0), [5.0, 3.0, 1.5, 0.5], mean=np.arange(7.0))
    sub = fit_subspace(X, share)
    assert np.allclose(sub.variances[:4], [5.0, 3.0, 1.5, 0.5])
    assert sub.k == k
    assert subspace_dim([5.0, 3.0, 1.5, 0.5], share) == k


def test_full_share_is_the_identity():
    rng = np.random.default_rng(1)
    X = _known_spectrum(rng, [4.0, 1.0], d=5, n=20, mean=rng.standard_normal(5))
    sub = fit_subspace(X, 1.0)
    assert sub.full and sub.k == 5  # the whole space, although the data span 2 dimensions
    M, c = affine_map(sub, sub.mean, sub.mean)
    Y = rng.standard_normal((10, 5))
    assert np.allclose(Y @ M + c, Y)
    # below 100 % it is a real projection: a point off the data's plane moves
    part = fit_subspace(X, 0.99)
    M, c = affine_map(part, part.mean, part.mean)
    assert part.k == 2 and not np.allclose(Y @ M + c, Y)


def test_projections_and_mean_shift():
    rng = np.random.default_rng(2)
    mu_a, mu_b = 5 * rng.standard_normal(6), 5 * rng.standard_normal(6)
    A = _known_spectrum(rng, [3.0, 2.0], d=6, n=40, mean=mu_a)
    B = _known_spectrum(rng, [3.0, 2.0], d=6, n=40, mean=mu_b)
    sa, sb = fit_subspace(A, 0.999), fit_subspace(B, 0.999)
    # A's points lie in A's affine subspace: the own projection leaves them where they are
    M, c = affine_map(sa, sa.mean, sa.mean)
    assert np.allclose(A @ M + c, A)
    # projecting onto B with B's mean lands in B's affine subspace (a second projection is a no-op)
    M, c = affine_map(sb, sb.mean, sb.mean)
    P = A @ M + c
    assert np.allclose(P @ M + c, P) and not np.allclose(P, A)
    # the mean shift alone moves A's mean to B's and keeps the spread
    M, c = affine_map(None, sa.mean, sb.mean)
    S = A @ M + c
    assert np.allclose(S.mean(axis=0), mu_b) and np.allclose(S - S.mean(0), A - A.mean(0))


def test_shifted_copies_are_similar_after_centering_only():
    """Two synthetic languages: independent samples of one 3-D subspace, shifted by different
    means that lie outside it. Centred, the subspaces coincide; uncentred, the means tilt them."""
    rng = np.random.default_rng(3)
    d = 20
    V = _orthonormal(rng, d, 3)
    mu = [10 * rng.standard_normal(d), 10 * rng.standard_normal(d)]
    langs = [rng.standard_normal((300, 3)) * [3.0, 2.0, 1.0] @ V.T + m for m in mu]
    a, b = (fit_subspace(X, 0.99, center=True) for X in langs)
    ra, rb = (fit_subspace(X, 0.99, center=False) for X in langs)
    assert a.k == b.k == 3
    centred, uncentred = subspace_distances(a, b), subspace_distances(ra, rb)
    assert np.degrees(principal_angles(a, b)).max() < 1.0
    assert centred["geodesic"] < 0.02 and centred["riemann"] < 0.5
    assert np.degrees(principal_angles(ra, rb)).max() > 20.0
    assert uncentred["geodesic"] > 0.5
    assert centred["mean_distance"] > 5.0  # the languages differ, but only in their means


def test_subspace_distances_of_different_subspaces():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((200, 2)) @ np.eye(6)[:2]  # spans e0, e1
    B = rng.standard_normal((200, 2)) @ np.eye(6)[2:4]  # spans e2, e3: orthogonal to A
    a, b = fit_subspace(A, 0.999), fit_subspace(B, 0.999)
    assert np.allclose(principal_angles(a, b), np.pi / 2)
    assert np.isclose(subspace_distances(a, b)["geodesic"], np.sqrt(2) * np.pi / 2)
    assert subspace_distances(a, a)["riemann"] == pytest.approx(0.0, abs=1e-6)


def test_bad_share_and_input():
    with pytest.raises(ValueError):
        subspace_dim([1.0], 0.0)
    with pytest.raises(ValueError):
        fit_subspace(np.zeros((1, 3)))


# ---------------------------------------------------------------------- axes
def test_language_axes_find_the_language_direction():
    from kgalign.lm.geometry.axes import fisher_ratio, language_axes

    rng = np.random.default_rng(5)
    d = 12
    u = _orthonormal(rng, d, 1)[:, 0]

    def lang(sign, n):
        return rng.standard_normal((n, d)) + sign * 2.0 * u

    X = np.concatenate([lang(1, 300), lang(-1, 300)])
    y = np.array(["a"] * 300 + ["b"] * 300)
    ax = language_axes(X, y, n_neutral=3)
    assert ax.sensitive.shape == (d, 1) and ax.neutral.shape == (d, 3)
    assert abs(ax.sensitive[:, 0] @ u) > 0.9
    assert np.allclose(ax.neutral.T @ ax.sensitive, 0, atol=1e-8)
    Xe = np.concatenate([lang(1, 300), lang(-1, 300)])  # held out
    cs, cn = ax.project(Xe)
    assert fisher_ratio(cs, y)[0] > 2.0
    assert fisher_ratio(cn, y).max() < 0.05


# ---------------------------------------------------------------------- alignment feature
def _two_graphs(rng, n=200, d=16, sigma=3.0):
    """Graph 2 lists graph 1's entities (permuted) with language noise along a direction u."""
    u = _orthonormal(rng, d, 1)[:, 0]
    Z = rng.standard_normal((n, d))
    perm = rng.permutation(n)
    e1 = Z + (2.0 + sigma * rng.standard_normal((n, 1))) * u
    e2 = Z[perm] + (-2.0 + sigma * rng.standard_normal((n, 1))) * u
    gold = np.argsort(perm)  # row i of graph 1 is row gold[i] of graph 2
    return e1, e2, gold, u


def test_language_directions_and_removal():
    from kgalign.aligner.views.names import center_embeddings, language_directions, remove_language_directions

    rng = np.random.default_rng(6)
    e1, e2, gold, u = _two_graphs(rng, n=1000)
    Q = language_directions(e1, e2, 1)
    assert Q.shape == (16, 1) and abs(Q[:, 0] @ u) > 0.9

    def hits1(a, b):
        S = center_embeddings(a) @ center_embeddings(b).T
        return float((S.argmax(1) == gold).mean())

    c1, c2 = remove_language_directions(e1, e2, 0)
    r1, r2 = remove_language_directions(e1, e2, 1)
    assert np.allclose(c1.mean(0), 0, atol=1e-5) and np.allclose(r1 @ Q[:, 0], 0, atol=1e-4)
    assert hits1(c1, c2) < 0.9 < hits1(r1, r2)
    Q4 = language_directions(e1, e2, 4)
    assert Q4.shape == (16, 4) and np.allclose(Q4.T @ Q4, np.eye(4), atol=1e-6)


def test_remove_language_directions_option():
    from kgalign.config import AlignConfig
    from kgalign.errors import InputError

    assert AlignConfig().similarity.remove_language_directions == 0
    cfg = AlignConfig.build({"similarity": {"remove_language_directions": 3}})
    assert cfg.similarity.remove_language_directions == 3
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(InputError, match="remove_language_directions"):
            AlignConfig.build({"similarity": {"remove_language_directions": bad}})


def test_compute_similarity_uses_the_option():
    from kgalign.aligner.similarity import compute_similarity
    from kgalign.kg import KnowledgeGraph

    rng = np.random.default_rng(7)
    e1, e2, gold, _ = _two_graphs(rng, n=60)
    kg1 = KnowledgeGraph(entities=[f"a{i}" for i in range(60)])
    kg2 = KnowledgeGraph(entities=[f"b{i}" for i in range(60)])
    from kgalign.config import AlignConfig

    idx = np.arange(60)
    hits = []
    for n in (0, 1):
        cfg = AlignConfig.build(
            {
                "similarity": {"strings": 0.0, "structure": [], "attributes": 0.0, "remove_language_directions": n},
                "selftrain": {"enabled": False},
            }
        )
        S, info = compute_similarity(
            kg1, kg2, e1, e2, ["x"] * 60, ["x"] * 60, idx, idx, cfg, return_info=True
        )  # non-empty: an empty name zeroes its name features
        hits.append(float((S.argmax(1) == gold).mean()))
    assert info["language_directions_removed"] == 1
    assert hits[1] > hits[0]


# ---------------------------------------------------------------------- model side (tiny BERT)
torch = pytest.importorskip("torch")

EN = [
    "the cat sleeps on the red mat",
    "a dog runs in the green park",
    "the bird sings in the old tree",
    "my friend reads a long book",
    "the child plays with a small ball",
    "our teacher writes on the board",
    "the sun shines over the quiet town",
    "a man walks to the busy market",
]
DE = [
    "die katze schläft auf der roten matte",
    "ein hund läuft im grünen park",
    "der vogel singt im alten baum",
    "mein freund liest ein langes buch",
    "das kind spielt mit einem kleinen ball",
    "unser lehrer schreibt an die tafel",
    "die sonne scheint über der stillen stadt",
    "ein mann geht zum vollen markt",
]


@pytest.fixture(scope="module")
def tiny_gm():
    from kgalign.lm.finetune.tiny import tiny_model, word_tokenizer
    from kgalign.lm.geometry.model import wrap_model

    tok = word_tokenizer(EN + DE)
    return wrap_model(tiny_model("bert", len(tok), layers=2, hidden=32, heads=2, seed=0), tok, name="tiny")


def test_full_share_projection_keeps_the_perplexity(tiny_gm):
    from kgalign.lm.geometry.model import masked_batches, perplexity, token_states

    states = token_states(tiny_gm, EN, [1, 2])
    assert states["states"][1].shape == (sum(len(t.split()) for t in EN), 32)
    ex = masked_batches(tiny_gm, EN, seed=0)
    base = perplexity(tiny_gm, ex)
    for layer in (1, 2):
        full = fit_subspace(states["states"][layer], 1.0)
        ratio = perplexity(tiny_gm, ex, layer, affine_map(full, full.mean, full.mean)) / base
        assert ratio == pytest.approx(1.0, abs=1e-5)
        # and the hook does act: keeping half the variance changes the perplexity
        half = fit_subspace(states["states"][layer], 0.5)
        ratio = perplexity(tiny_gm, ex, layer, affine_map(half, half.mean, half.mean)) / base
        assert abs(ratio - 1.0) > 1e-4


def test_analyse_report(tiny_gm):
    from kgalign.lm.geometry.analysis import PROJECTIONS, GeometryConfig, analyse, markdown_table

    rep = analyse(
        tiny_gm, {"en": EN, "de": DE}, GeometryConfig(share=0.9, max_texts=8, batch_size=4), echo=lambda s: None
    )
    assert rep["layers"] == [1, 2] and rep["languages"] == ["en", "de"]
    assert set(rep["perplexity"]["layers"]["1"]) == set(PROJECTIONS)
    assert "en->de" in rep["perplexity"]["layers"]["2"]["other"]["per"]
    for layer in ("1", "2"):
        assert 1 <= rep["subspaces"][layer]["en"]["k"] <= 32
    assert len(rep["axes"]["fisher_neutral"]) == 2
    assert "| layer |" in markdown_table(rep)
    # the same data under share 1: every projection of one's own subspace is the identity
    rep1 = analyse(
        tiny_gm, {"en": EN, "de": DE}, GeometryConfig(share=1.0, max_texts=8, batch_size=4), echo=lambda s: None
    )
    for layer in ("1", "2"):
        assert rep1["perplexity"]["layers"][layer]["own"]["mean_ratio"] == pytest.approx(1.0, abs=1e-5)


def test_cli_end_to_end(tmp_path):
    pytest.importorskip("matplotlib")
    from kgalign.cli import main

    (tmp_path / "en.txt").write_text("\n".join(EN) + "\n", encoding="utf-8")
    (tmp_path / "de.txt").write_text("\n".join(DE) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    args = [
        "geometry",
        "--tiny",
        "--texts",
        f"en={tmp_path / 'en.txt'}",
        "--texts",
        f"de={tmp_path / 'de.txt'}",
        "--max-texts",
        "8",
        "--batch-size",
        "4",
        "-o",
        str(out),
    ]
    assert main(args) == 0
    for name in ("geometry.json", "geometry.md", "perplexity_ratio.png", "principal_angles.png", "language_axes.png"):
        assert (out / name).stat().st_size > 0
    rep = json.loads((out / "geometry.json").read_text())
    assert rep["kind"] == "masked" and rep["n_layers"] == 2
    assert main(args) == 2  # no overwrite without --force
    assert main(args + ["--force"]) == 0
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    assert (
        main(
            [
                "geometry",
                "--tiny",
                "--texts",
                f"en={tmp_path / 'bad.txt'}",
                "--texts",
                f"de={tmp_path / 'de.txt'}",
                "-o",
                str(tmp_path / "o2"),
            ]
        )
        == 2
    )


def test_texts_from_pair():
    from kgalign.lm.geometry.analysis import texts_from_pair

    if not (DBP / "fr_en" / "ent_ids_1").exists():
        pytest.skip("DBP15K fr_en not present")
    texts = texts_from_pair(DBP / "fr_en", "both", max_texts=40, seed=0)
    assert set(texts) == {"fr", "en"}
    assert all(10 <= len(v) <= 40 for v in texts.values())
    assert any(" " in t and len(t.split()) > 3 for t in texts["fr"])  # verbalised facts, not only labels
