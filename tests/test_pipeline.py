"""The alignment pipeline on small hand-made graphs with a deterministic hashing encoder."""

from __future__ import annotations

import numpy as np
import pytest

from kgalign.aligner.languages import main_language
from kgalign.aligner.pipeline import align
from kgalign.config import AlignConfig
from kgalign.errors import EmptyGraphError, InputError
from kgalign.kg import KnowledgeGraph

NAMES = ["Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Nantes", "Strasbourg", "Bordeaux"]


def make_kg(prefix: str, names, lang: str, order=None) -> KnowledgeGraph:
    order = list(range(len(names))) if order is None else list(order)
    ents = [f"http://{prefix}.ex/e{k}" for k in order]
    labels = [[(lang, names[k], 0)] for k in order]
    pos = {k: i for i, k in enumerate(order)}
    triples = [(pos[k], 0, pos[(k + 1) % len(names)]) for k in order]
    return KnowledgeGraph(entities=ents, labels=labels, triples=np.array(triples), relations=["http://x/near"])


def pairs_by_suffix(res):
    return sorted((a.rsplit("/", 1)[1], b.rsplit("/", 1)[1]) for a, b, _ in res.pairs())


def test_identical_names_align_perfectly(hashing_encoder):
    kg1 = make_kg("a", NAMES, "en")
    kg2 = make_kg("b", [n.upper() for n in NAMES], "fr", order=[3, 1, 7, 0, 5, 2, 6, 4])
    res = align(kg1, kg2, encoder=hashing_encoder, translator="identity", show_progress=False)
    assert len(res) == len(NAMES)
    assert all(a == b for a, b in pairs_by_suffix(res))
    assert res.scores.dtype == np.float32 and np.all(res.scores > 0.99)


def test_result_does_not_depend_on_entity_order(hashing_encoder):
    noisy = ["Pariss", "Lyonn", "Marseile", "Tolouse", "Nicee", "Nantess", "Strassburg", "Bordeau"]
    kg1 = make_kg("a", NAMES, "en")
    base = align(kg1, make_kg("b", noisy, "fr"), encoder=hashing_encoder, translator="identity", show_progress=False)
    rng = np.random.default_rng(0)
    for _ in range(3):
        perm = rng.permutation(len(NAMES))
        res = align(
            kg1.subgraph(rng.permutation(len(NAMES))),
            make_kg("b", noisy, "fr", order=perm),
            encoder=hashing_encoder,
            translator="identity",
            show_progress=False,
        )
        assert pairs_by_suffix(res) == pairs_by_suffix(base)


def test_sources_targets_restrict_the_problem(hashing_encoder):
    kg1, kg2 = make_kg("a", NAMES, "en"), make_kg("b", NAMES, "fr")
    res = align(
        kg1,
        kg2,
        sources=[0, 2, 4],
        targets=[4, 0, 2, 6],
        encoder=hashing_encoder,
        translator="identity",
        show_progress=False,
    )
    assert set(zip(res.rows.tolist(), res.cols.tolist())) == {(0, 0), (2, 2), (4, 4)}
    assert res.similarity.shape == (3, 4)
    for method in ("reexchange", "similarity"):
        ranking = res.ranking(2, method=method)
        assert ranking.shape == (3, 2)
        assert ranking[:, 0].tolist() == [0, 2, 4]
        assert set(ranking[:, 1].tolist()) <= {0, 2, 4, 6}


def test_reexchange_ranking_puts_the_assigned_partner_first(hashing_encoder):
    # "Lyon" is close to both "Lyon" and "Lyons"; the global matching gives "Lyons" to
    # "Lyonss" and the re-exchange ranking lists the matched partner first.
    kg1 = make_kg("a", ["Lyon", "Lyonss", "Paris"], "en")
    kg2 = make_kg("b", ["Lyon", "Lyons", "Paris"], "fr")
    res = align(kg1, kg2, encoder=hashing_encoder, translator="identity", show_progress=False)
    assigned = dict(zip(res.rows.tolist(), res.cols.tolist()))
    ranking = res.ranking(3)
    assert [ranking[i, 0] for i in range(3)] == [assigned[s] for s in res.sources.tolist()]
    assert sorted(ranking[0].tolist()) == [0, 1, 2]


def test_threshold_drops_low_pairs(hashing_encoder):
    kg1 = make_kg("a", NAMES[:4], "en")
    kg2 = make_kg("b", ["Paris", "Lyon", "Zzzzqqq", "Xxxyyy"], "fr")
    full = align(kg1, kg2, encoder=hashing_encoder, translator="identity", show_progress=False)
    good = {i: s for i, j, s in zip(full.rows.tolist(), full.cols.tolist(), full.scores.tolist()) if i == j and i < 2}
    bad = [s for i, j, s in zip(full.rows.tolist(), full.cols.tolist(), full.scores.tolist()) if i >= 2]
    assert len(good) == 2 and max(bad) < min(good.values())
    cut = (max(bad) + min(good.values())) / 2
    res = align(kg1, kg2, encoder=hashing_encoder, translator="identity", threshold=cut, show_progress=False)
    assert pairs_by_suffix(res) == [("e0", "e0"), ("e1", "e1")]
    assert np.all(res.scores >= cut)


def test_empty_graph_fails_before_any_model_loads(monkeypatch, hashing_encoder):
    import kgalign.aligner.encode as enc_mod

    def boom(*a, **k):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(enc_mod, "Encoder", boom)
    empty = KnowledgeGraph(entities=[], source="empty.ttl")
    with pytest.raises(EmptyGraphError, match="no entities"):
        align(empty, make_kg("b", NAMES, "fr"))


def test_bad_positions_and_config_are_rejected(hashing_encoder):
    kg1, kg2 = make_kg("a", NAMES, "en"), make_kg("b", NAMES, "fr")
    with pytest.raises(InputError, match="outside"):
        align(kg1, kg2, sources=[0, 99], encoder=hashing_encoder, translator="identity")
    with pytest.raises(InputError, match="duplicate"):
        align(kg1, kg2, targets=[1, 1], encoder=hashing_encoder, translator="identity")
    with pytest.raises(InputError, match="unknown configuration key"):
        AlignConfig.build({"tresh": 0.3})


def test_config_merges_nested_keys():
    cfg = AlignConfig.build({"matching": {"topk": 7}}, threshold=0.2)
    assert cfg.matching.topk == 7 and cfg.matching.method == "auto"
    assert cfg.threshold == 0.2


def test_main_language_is_the_most_frequent_tag():
    kg = KnowledgeGraph(
        entities=["a", "b", "c"],
        labels=[[("fr", "x", 0)], [("fr-ca", "y", 0), ("en", "z", 0)], [("en", "w", 0), ("fr", "v", 1)]],
    )
    assert main_language(kg) == "fr"


def test_a_language_the_graph_lacks_is_refused(hashing_encoder):
    kg1, kg2 = make_kg("a", NAMES, "en"), make_kg("b", NAMES, "fr-FR")
    with pytest.raises(InputError, match=r"no label in language 'de'.*en \(8\)"):
        align(kg1, kg2, lang1="de", encoder=hashing_encoder, translator="identity", show_progress=False)
    # a bare language matches its regional tags, case-insensitively
    res = align(kg1, kg2, lang1="EN", lang2="fr", encoder=hashing_encoder, translator="identity", show_progress=False)
    assert len(res) == len(NAMES)


def test_sparse_matching_path_agrees_with_the_dense_one(hashing_encoder):
    noisy = ["Pariss", "Lyonn", "Marseile", "Tolouse", "Nicee", "Nantess", "Strassburg", "Bordeau"]
    kg1, kg2 = make_kg("a", NAMES, "en"), make_kg("b", noisy, "fr", order=[5, 3, 0, 7, 1, 6, 4, 2])
    kw = dict(encoder=hashing_encoder, translator="identity", show_progress=False)
    dense = align(kg1, kg2, config={"matching": {"method": "dense"}}, **kw)
    sparse = align(kg1, kg2, config={"matching": {"method": "sparse", "topk": 3}}, **kw)
    assert pairs_by_suffix(sparse) == pairs_by_suffix(dense)
    assert all(a == b for a, b in pairs_by_suffix(dense))


def test_similarity_ranking_breaks_ties_by_the_given_target_order():
    from kgalign.aligner.result import topk_rows

    rng = np.random.default_rng(0)
    for _ in range(50):
        sim = rng.integers(0, 3, size=(5, 40)).astype(np.float32)  # many ties
        targets = rng.permutation(100)[:40]
        got = topk_rows(sim, targets, 7)
        ref = np.array([targets[np.lexsort((np.arange(40), -row))[:7]] for row in sim])
        assert (got == ref).all()
