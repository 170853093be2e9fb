"""KnowledgeGraph model and label rules (local names, language matching, fallback order)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgalign.kg import LABEL_PREDICATES, KGPair, KnowledgeGraph
from kgalign.labels import clean_label, lang_matches, local_name, normalise_lang, select_label


# ------------------------------------------------------------------ local names
@pytest.mark.parametrize(
    "iri, name",
    [
        ("http://a.ex/Andr%C3%A9_Gide", "André Gide"),
        ("http://dbpedia.org/resource/Where_Now%3F", "Where Now?"),
        ("http://dbpedia.org/resource/John_Lennon/Plastic_Ono_Band", "John Lennon/Plastic Ono Band"),
        ("http://b.ex/resource/Singer_Y/Band_X", "Singer Y/Band X"),
        ("http://zh.dbpedia.org/resource/民族陣線_(法國)", "民族陣線 (法國)"),
        ("http://www.wikidata.org/entity/Q42", "Q42"),
        ("http://a.ex/onto#Some_Class", "Some Class"),
        ("http://a.ex/things/thing/", "thing"),
        ("http://a.ex/Caf%E9", "Café"),  # a Latin-1 escape, not valid UTF-8
        ("http://a.ex/a%2Fb", "a/b"),
        ("urn:isbn:0451450523", "0451450523"),
        ("http://dbpedia.org/resource/", "http://dbpedia.org/resource/"),  # nothing left: the IRI
    ],
)
def test_local_name(iri, name):
    assert local_name(iri) == name


def test_local_name_never_keeps_underscores_or_outer_spaces():
    for iri in ["http://a.ex/_x_", "http://a.ex/a__b", "http://a.ex/%20a%20"]:
        n = local_name(iri)
        assert "_" not in n and n == n.strip() and "  " not in n


# ------------------------------------------------------------------ languages and labels
def test_lang_matches():
    assert lang_matches("es-ES", "es") and lang_matches("ES", "es") and lang_matches("es_ES", "ES")
    assert lang_matches("es-es", "es-ES")
    assert not lang_matches("es", "es-ES")  # a regional request matches only itself
    assert not lang_matches("est", "es")  # a prefix is not a language
    assert not lang_matches("", "es") and not lang_matches("en", "")
    assert normalise_lang(None) == "" and normalise_lang(" EN_gb ") == "en-gb"


def test_clean_label():
    assert clean_label("  a \n b\t") == "a b"
    assert clean_label("") is None and clean_label(" \t\n") is None and clean_label(None) is None


def test_select_label_fallback_order():
    labels = [
        ("fr", "Paris-fr", 1),
        ("", "Paris-untagged", 1),
        ("de", "Paris-de", 1),
        ("es-es", "París-ES", 1),
        ("es", "París", 3),
        ("en", "Paris-alt", 5),
        ("en", "Paris", 0),
    ]
    assert select_label(labels, "en") == "Paris"  # preferred predicate wins within a tag
    assert select_label(labels, "es") == "París"  # exact tag before regional, whatever the predicate
    assert select_label(labels, "es-ES") == "París-ES"
    assert select_label(labels, "it") == "Paris-untagged"  # then untagged
    assert select_label([x for x in labels if x[0]], "it") == "Paris-de"  # then others sorted by tag
    assert select_label([], "en") is None


label_item = st.tuples(
    st.sampled_from(["", "en", "EN", "en-gb", "fr", "es-ES", "zh"]),
    st.text(min_size=1, max_size=5),
    st.integers(0, len(LABEL_PREDICATES)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(label_item, max_size=8), st.sampled_from([None, "en", "EN", "es", "fr", "de"]))
def test_select_label_properties(labels, lang):
    got = select_label(labels, lang)
    if not labels:
        assert got is None
        return
    candidates = [x for x in labels if x[1] == got]
    assert candidates  # it is one of the labels
    chosen_tags = {normalise_lang(t) for t, txt, _ in labels if txt == got}
    if lang and any(lang_matches(t, lang) for t, _, _ in labels):
        assert any(lang_matches(t, lang) for t in chosen_tags)
    elif any(t == "" for t, _, _ in labels):
        assert "" in chosen_tags
    # independent of the order the labels were stored in, up to exact ties
    rev = select_label(list(reversed(labels)), lang)
    key = lambda t: (normalise_lang(t[0]), t[2])  # noqa: E731
    best = {key(x) for x in labels if x[1] == got}
    assert any(key(x) in best for x in labels if x[1] == rev)


# ------------------------------------------------------------------ the model
def _random_kg(rng: np.random.Generator, n: int = 12, m: int = 30) -> KnowledgeGraph:
    tr = np.stack([rng.integers(0, n, m), rng.integers(0, 3, m), rng.integers(0, n, m)], axis=1)
    return KnowledgeGraph(
        entities=[f"http://a.ex/resource/E_{i}" for i in range(n)],
        labels=[[("en", f"e {i}", 0)] if i % 2 else [] for i in range(n)],
        triples=tr,
        relations=["r0", "r1", "r2"],
        attributes=[(i, "http://a.ex/p", str(i), "") for i in range(0, n, 3)],
        ids=[str(100 + i) for i in range(n)],
        source="mem",
    )


@pytest.mark.parametrize("seed", range(3))
def test_adjacency_degrees_and_networkx_agree(seed):
    kg = _random_kg(np.random.default_rng(seed))
    a = kg.adjacency()
    assert a.shape == (kg.n_entities, kg.n_entities) and a.dtype == np.float32
    assert (a != a.T).nnz == 0
    assert np.array_equal(np.asarray(a.sum(axis=1)).ravel().astype(np.int64), kg.degrees())
    d = kg.adjacency(symmetric=False).toarray()
    dense = np.zeros_like(d)
    for h, _, t in kg.triples.tolist():
        dense[h, t] += 1
    assert np.array_equal(d, dense)
    g = kg.to_networkx()
    assert g.number_of_nodes() == kg.n_entities and g.number_of_edges() == len(kg.triples)
    edges = sorted((u, v, data["relation"]) for u, v, data in g.edges(data=True))
    assert edges == sorted((kg.entities[h], kg.entities[t], kg.relations[r]) for h, r, t in kg.triples.tolist())


def test_subgraph_keeps_facts_among_kept_entities():
    kg = _random_kg(np.random.default_rng(7))
    keep = np.array([5, 0, 9, 3, 11, 2])
    sub = kg.subgraph(keep)
    assert sub.entities == [kg.entities[i] for i in keep] and sub.ids == [kg.ids[i] for i in keep]
    kept = set(keep.tolist())
    want = sorted((kg.entities[h], r, kg.entities[t]) for h, r, t in kg.triples.tolist() if h in kept and t in kept)
    got = sorted((sub.entities[h], r, sub.entities[t]) for h, r, t in sub.triples.tolist())
    assert got == want
    assert [sub.label(i) for i in range(len(keep))] == [kg.label(i) for i in keep]
    assert {(sub.entities[i], v) for i, _, v, _ in sub.attributes} == {
        (kg.entities[i], v) for i, _, v, _ in kg.attributes if i in kept
    }


def test_labels_index_and_validation():
    kg = _random_kg(np.random.default_rng(1))
    assert kg.label(1) == "e 1" and kg.label(0) == "E 0"  # fallback: local name
    assert kg.index["http://a.ex/resource/E_4"] == 4 and kg.index["104"] == 4
    assert kg.languages() == ["en"] and len(kg) == 12
    empty = KnowledgeGraph(entities=["http://a.ex/x"])
    assert empty.triples.shape == (0, 3) and empty.degrees().tolist() == [0]
    assert empty.adjacency().nnz == 0
    with pytest.raises(ValueError):
        KnowledgeGraph(entities=["a", "b"], labels=[[]])
    with pytest.raises(ValueError):
        KnowledgeGraph(entities=["a"], ids=["1", "2"])
    pair = KGPair(kg, kg, links=np.array([[1, 2]]))
    assert pair.link_iris() == [(kg.entities[1], kg.entities[2])]
    assert KGPair(kg, kg).link_iris() == []
