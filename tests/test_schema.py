"""Schema structure: colour refinement, matched-neighbour agreement and the re-ranking stage."""

from __future__ import annotations

import numpy as np
import pytest

from kgalign.aligner import schema
from kgalign.kg import CLASS, INDIVIDUAL, OBJECT_PROPERTY, KnowledgeGraph

RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
RELS = [RDFS + "subClassOf", RDFS + "domain", RDFS + "range", OWL + "disjointWith"]


def _ontology(seed: int, n_classes: int = 40, n_props: int = 15):
    """A random class tree, object properties with a domain and a range, and disjoint siblings."""
    rng = np.random.default_rng(seed)
    n = n_classes + n_props
    kinds = np.array([CLASS] * n_classes + [OBJECT_PROPERTY] * n_props, np.int8)
    triples = [(c, 0, int(rng.integers(0, c))) for c in range(1, n_classes)]
    for p in range(n_classes, n):
        triples.append((p, 1, int(rng.integers(0, n_classes))))
        triples.append((p, 2, int(rng.integers(0, n_classes))))
    for _ in range(10):
        a, b = rng.choice(n_classes, 2, replace=False)
        triples.append((int(a), 3, int(b)))
    return kinds, np.array(triples, np.int64)


def _copy(kinds, triples, perm, flip_seed: int | None = None, prefix="b"):
    """The same graph under the entity permutation ``perm`` (new position of entity i: perm[i])."""
    n = len(kinds)
    tr = triples.copy()
    tr[:, 0], tr[:, 2] = perm[triples[:, 0]], perm[triples[:, 2]]
    if flip_seed is not None:  # a symmetric relation may be written either way round
        rng = np.random.default_rng(flip_seed)
        sym = (tr[:, 1] == 3) & (rng.random(len(tr)) < 0.5)
        tr[sym, 0], tr[sym, 2] = tr[sym, 2].copy(), tr[sym, 0].copy()
    k2 = np.empty(n, np.int8)
    k2[perm] = kinds
    return KnowledgeGraph(entities=[f"http://{prefix}/{i}" for i in range(n)], triples=tr, relations=RELS, kinds=k2)


def _kg(kinds, triples, prefix="a"):
    return KnowledgeGraph(
        entities=[f"http://{prefix}/{i}" for i in range(len(kinds))], triples=triples, relations=RELS, kinds=kinds
    )


def test_colours_are_invariant_under_permutation_and_symmetric_direction():
    kinds, tr = _ontology(0)
    perm = np.random.default_rng(1).permutation(len(kinds))
    a, b = _kg(kinds, tr), _copy(kinds, tr, perm, flip_seed=2)
    history = schema.colour_refinement(a, b)
    assert len(history) >= 3
    for c1, c2 in history:
        assert np.array_equal(c1, c2[perm])  # entity i of a and its image perm[i] in b
    src, tgt = np.arange(len(kinds)), np.arange(len(kinds))
    assert schema.structural_agreement(history, src, tgt) == pytest.approx(1.0)
    W = schema.colour_agreement(history, src, tgt)
    assert np.allclose(W[src, perm], 1.0)
    # refinement separates: some entity pairs disagree from round 1 on
    assert (W < 1).any()


def test_colour_refinement_of_different_structures_disagrees():
    kinds, tr = _ontology(0)
    kinds2, tr2 = _ontology(5)
    a, b = _kg(kinds, tr), _kg(kinds2, tr2, "b")
    idx = np.arange(len(kinds))
    q_diff = schema.structural_agreement(schema.colour_refinement(a, b), idx, idx)
    q_same = schema.structural_agreement(schema.colour_refinement(a, _kg(kinds, tr, "c")), idx, idx)
    assert q_same == pytest.approx(1.0)
    assert q_diff < 0.5


def test_relation_only_one_graph_uses_is_ignored():
    kinds, tr = _ontology(0)
    extra = np.array([[0, 4, 1], [2, 4, 3]], np.int64)  # a relation the other graph never uses
    a = _kg(kinds, tr)
    b = KnowledgeGraph(
        entities=[f"http://b/{i}" for i in range(len(kinds))],
        triples=np.vstack([tr, extra]),
        relations=RELS + [OWL + "onClass"],
        kinds=kinds,
    )
    history = schema.colour_refinement(a, b)
    for c1, c2 in history:
        assert np.array_equal(c1, c2)


def test_neighbour_agreement_counts_matched_typed_neighbours():
    # a -> x (subClassOf) on both sides; under the matching x~x', a and a' agree on that relation
    rels = [RDFS + "subClassOf"]
    kinds = np.array([CLASS] * 3, np.int8)
    g1 = KnowledgeGraph(entities=["a", "x", "y"], triples=np.array([[0, 0, 1]]), relations=rels, kinds=kinds)
    g2 = KnowledgeGraph(entities=["a2", "x2", "y2"], triples=np.array([[0, 0, 1]]), relations=rels, kinds=kinds)
    adj1, adj2 = schema.typed_adjacency(g1), schema.typed_adjacency(g2)
    idx = np.arange(3)
    F = schema.neighbour_agreement(adj1, adj2, (np.array([1]), np.array([1])), idx, idx, 3, 3)
    assert F[0, 0] == pytest.approx(1.0)  # both have one "out" neighbour, and it is matched
    assert F[0, 1] == 0.0 and F[2, 2] == 0.0
    # matched to the wrong partner: no agreement
    F2 = schema.neighbour_agreement(adj1, adj2, (np.array([1]), np.array([2])), idx, idx, 3, 3)
    assert F2[0, 0] == 0.0


def _solve(S):
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment(S, maximize=True)


def test_refinement_recovers_what_structure_determines():
    kinds, tr = _ontology(3, n_classes=60, n_props=20)
    n = len(kinds)
    perm = np.random.default_rng(4).permutation(n)
    a, b = _kg(kinds, tr), _copy(kinds, tr, perm, flip_seed=5)
    rng = np.random.default_rng(6)
    sim = rng.normal(0.0, 0.1, (n, n)).astype(np.float32)
    sim[np.arange(n), perm] += 0.08  # a weak name signal
    forbidden = a.kinds[:, None] != b.kinds[None, :]
    sim[forbidden] = -5.0
    r0, c0 = _solve(sim)
    before = np.mean(c0 == perm[r0])
    src = tgt = np.arange(n)
    S, (r, c), info = schema.refine_alignment(a, b, sim, src, tgt, (r0, c0), _solve, forbidden=forbidden)
    after = np.mean(c == perm[r])
    assert info["agreement"] == pytest.approx(1.0)
    assert after > before + 0.3
    # every entity that refinement tells apart (its final colour class is one entity per side) is right
    c1, c2 = schema.colour_refinement(a, b)[-1]
    classes, counts = np.unique(c1, return_counts=True)
    single = set(classes[counts == 1].tolist())
    determined = [i for i in range(n) if c1[i] in single]
    assert len(determined) > n // 3
    got = dict(zip(r.tolist(), c.tolist()))
    assert all(got[i] == perm[i] for i in determined)
    assert S.shape == sim.shape and np.all(S[forbidden] == sim[forbidden])
    assert S[~forbidden].max() <= 1.0 and S[~forbidden].min() >= -1.0  # still a similarity in [-1, 1]


def test_refinement_leaves_different_ontologies_to_the_names():
    kinds, tr = _ontology(0)
    kinds2, tr2 = _ontology(9)
    n = len(kinds)
    a, b = _kg(kinds, tr), _kg(kinds2, tr2, "b")
    sim = np.random.default_rng(0).normal(0, 0.1, (n, n)).astype(np.float32)
    r0, c0 = _solve(sim)
    _, _, info = schema.refine_alignment(a, b, sim, np.arange(n), np.arange(n), (r0, c0), _solve, neighbours=0.0)
    assert info["agreement"] < 0.5


# ------------------------------------------------------------------ the stage in the pipeline
TTL = """\
@prefix ex: <{ns}> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Thing a owl:Class ; rdfs:label "{l0}"@{lang} .
ex:Event a owl:Class ; rdfs:label "{l1}"@{lang} ; rdfs:subClassOf ex:Thing .
ex:Person a owl:Class ; rdfs:label "{l2}"@{lang} ; rdfs:subClassOf ex:Thing .
ex:Author a owl:Class ; rdfs:label "{l3}"@{lang} ; rdfs:subClassOf ex:Person .
ex:Talk a owl:Class ; rdfs:label "{l4}"@{lang} ; rdfs:subClassOf ex:Event .
ex:Keynote a owl:Class ; rdfs:label "{l5}"@{lang} ; rdfs:subClassOf ex:Talk .
ex:gives a owl:ObjectProperty ; rdfs:label "{l6}"@{lang} ; rdfs:domain ex:Person ; rdfs:range ex:Talk .
ex:attends a owl:ObjectProperty ; rdfs:label "{l7}"@{lang} ; rdfs:domain ex:Person ; rdfs:range ex:Event .
"""
EN = ["thing", "event", "person", "author", "talk", "keynote", "gives", "attends"]
# labels that share no characters with the English ones (a script the encoder cannot read)
XX = ["ⴰⴱ", "ⴳⴷ", "ⴹⴻ", "ⴼⴽ", "ⵀⵃ", "ⵄⵅ", "ⵇⵉ", "ⵊⵍ"]


def _write(tmp_path, name, ns, labels, lang):
    f = tmp_path / name
    f.write_text(TTL.format(ns=ns, lang=lang, **{f"l{i}": x for i, x in enumerate(labels)}), encoding="utf-8")
    return f


@pytest.mark.filterwarnings("ignore:.*Tifinagh")
def test_pipeline_uses_structure_for_ontologies_and_not_for_instance_graphs(tmp_path, hash_encoder):
    from kgalign.aligner.pipeline import align
    from kgalign.evaluation.protocol import present
    from kgalign.io import load_kg

    a = load_kg(_write(tmp_path, "a.ttl", "http://a.ex/", EN, "en"))
    # the same ontology with two labels swapped and two unreadable: the names mislead
    b_labels = EN[:3] + [EN[5], XX[4], EN[3]] + [XX[6], EN[7]]
    b = load_kg(_write(tmp_path, "b.ttl", "http://b.ex/", b_labels, "en"))
    truth = {f"http://a.ex/{x}": f"http://b.ex/{x}" for x in ["Thing", "Event", "Person", "Author", "Talk", "Keynote"]}
    truth.update({"http://a.ex/gives": "http://b.ex/gives", "http://a.ex/attends": "http://b.ex/attends"})

    def pairs(res, kg1, kg2, p1=None, p2=None):
        p1 = np.arange(kg1.n_entities) if p1 is None else p1
        p2 = np.arange(kg2.n_entities) if p2 is None else p2
        return {(kg1.entities[p1[i]], kg2.entities[p2[j]]) for i, j in zip(res.rows.tolist(), res.cols.tolist())}

    off = align(a, b, encoder=hash_encoder, show_progress=False, schema={"enabled": False}, translator="identity")
    on = align(a, b, encoder=hash_encoder, show_progress=False, translator="identity")
    assert off.info["schema"] == {"used": False, "why": "off"}
    assert on.info["schema"]["used"] and on.info["schema"]["agreement"] == pytest.approx(1.0)
    right_off = len(pairs(off, a, b) & set(truth.items()))
    right_on = len(pairs(on, a, b) & set(truth.items()))
    assert right_on == len(truth) > right_off
    # the result does not depend on the order in which the entities are presented
    pres = present(a, b, np.arange(a.n_entities), np.arange(b.n_entities), seed=3)
    shuffled = align(pres.kg1, pres.kg2, encoder=hash_encoder, show_progress=False, translator="identity")
    assert pairs(shuffled, a, b, pres.perm1, pres.perm2) == pairs(on, a, b)
    # per-kind counts follow the new matching
    assert sum(v["pairs"] for v in on.info["kinds"].values()) == len(on.rows)
    # abstention on the re-ranked score: pairs below schema.min_score are withdrawn and counted
    from kgalign.config import SchemaConfig

    assert on.info["schema"]["withdrawn"] == 0 and np.all(on.scores >= SchemaConfig().min_score)
    assert on.info["schema"]["withdrawn_properties"] == 0  # gives ~ gives: Person ~ Person supports it
    strict = align(a, b, encoder=hash_encoder, show_progress=False, translator="identity", schema={"min_score": 0.8})
    kept = on.scores >= 0.8
    assert strict.info["schema"]["withdrawn"] == int((~kept).sum()) > 0
    assert len(strict.rows) == int(kept.sum()) and pairs(strict, a, b) <= pairs(on, a, b)
    keep_all = align(a, b, encoder=hash_encoder, show_progress=False, translator="identity", schema={"min_score": None})
    assert "withdrawn" not in keep_all.info["schema"] and len(keep_all.rows) == len(on.rows)

    # an instance graph (individuals only, no schema triples) is not touched
    g1 = KnowledgeGraph(entities=["x", "y"], labels=[[("en", "x", 0)], [("en", "y", 0)]], kinds=[INDIVIDUAL] * 2)
    g2 = KnowledgeGraph(entities=["x2", "y2"], labels=[[("en", "x", 0)], [("en", "y", 0)]])
    res = align(g1, g2, encoder=hash_encoder, show_progress=False, translator="identity")
    assert res.info["schema"]["used"] is False


def test_exact_ties_are_broken_by_iris_not_by_entity_order():
    # two sibling classes with the same label, disjoint with each other: a symmetric tie the
    # neighbour term would otherwise lock in whichever way the first matching broke it
    rels = [RDFS + "subClassOf", OWL + "disjointWith"]
    tr = np.array([[1, 0, 0], [2, 0, 0], [1, 1, 2], [3, 0, 1], [4, 0, 2]], np.int64)
    kinds = np.full(5, CLASS, np.int8)
    a = KnowledgeGraph(entities=[f"http://a/{i}" for i in range(5)], triples=tr, relations=rels, kinds=kinds)
    sim = np.eye(5, dtype=np.float32) * 0.5
    sim[1, 2] = sim[2, 1] = sim[1, 1] = sim[2, 2] = 0.4  # "1" and "2" carry the same label
    sim[3, 4] = sim[4, 3] = sim[3, 3] = sim[4, 4] = 0.3  # and so do their children
    found = set()
    for perm in (np.arange(5), np.array([0, 2, 1, 4, 3]), np.array([4, 3, 2, 1, 0])):
        tr2 = tr.copy()
        tr2[:, 0], tr2[:, 2] = perm[tr[:, 0]], perm[tr[:, 2]]
        b = KnowledgeGraph(
            entities=[f"http://b/{int(np.flatnonzero(perm == i)[0])}" for i in range(5)],
            triples=tr2,
            relations=rels,
            kinds=kinds,
        )
        s2 = np.empty_like(sim)
        s2[:, perm] = sim
        for start in ((np.arange(5), perm), (np.arange(5), perm[[0, 2, 1, 4, 3]])):
            _, (r, c), _ = schema.refine_alignment(a, b, s2, np.arange(5), np.arange(5), start, _solve)
            found.add(frozenset((a.entities[i], b.entities[j]) for i, j in zip(r.tolist(), c.tolist())))
    assert len(found) == 1


def test_property_pairs_need_a_matched_class_among_their_domains_and_ranges():
    from kgalign.kg import DATATYPE_PROPERTY

    rels = [RDFS + "domain", RDFS + "range", OWL + "unionOf"]
    # first: classes A B C, object property p (A -> B), datatype property d (domain C), u (no domain)
    k1 = np.array([CLASS, CLASS, CLASS, OBJECT_PROPERTY, DATATYPE_PROPERTY, OBJECT_PROPERTY], np.int8)
    a = KnowledgeGraph(
        entities=list("ABCpdu"), triples=np.array([[3, 0, 0], [3, 1, 1], [4, 0, 2]]), relations=rels, kinds=k1
    )
    # second: the same, but q's domain is a union of A' and C' (blank node: unionOf edges)
    b = KnowledgeGraph(
        entities=["A'", "B'", "C'", "q", "e", "v"],
        triples=np.array([[3, 2, 0], [3, 2, 2], [4, 0, 2], [5, 0, 1]]),
        relations=rels,
        kinds=k1,
    )
    rows = np.array([0, 1, 2, 3, 4, 5])
    cols = np.array([0, 1, 2, 3, 4, 5])
    keep = np.ones(6, bool)
    # p ~ q: A ~ A' is kept and A' is in q's union domain: supported; d ~ e: C ~ C'; u has no domain
    assert schema.unsupported_properties(a, b, rows, cols, keep).tolist() == [False] * 6
    # without the class pairs A ~ A' and C ~ C' nothing supports p ~ q and d ~ e
    keep2 = keep.copy()
    keep2[[0, 2]] = False
    assert schema.unsupported_properties(a, b, rows, cols, keep2).tolist() == [False, False, False, True, True, False]
    # a property matched to one whose domain holds only unmatched classes
    got = schema.unsupported_properties(a, b, np.array([3, 0, 1]), np.array([5, 0, 1]), np.ones(3, bool))
    assert got.tolist() == [False, False, False]  # p (A -> B) ~ v (domain B'): B ~ B' supports it
    got = schema.unsupported_properties(a, b, np.array([3, 1]), np.array([5, 0]), np.ones(2, bool))
    assert got.tolist() == [True, False]  # only B ~ A' is matched: neither A nor B reaches B'
