"""Entity kinds, OWL schema structure, per-kind alignment and per-kind outputs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from kgalign.io import load_kg
from kgalign.kg import KINDS, KnowledgeGraph

MF = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "multifarm"
OWL = "http://www.w3.org/2002/07/owl#"

ONTO = """\
@prefix ex: <http://o.ex/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:Person a owl:Class ; rdfs:label "{person}"@{lang} .
ex:Author a owl:Class ; rdfs:label "{author}"@{lang} ; rdfs:subClassOf ex:Person ;
    rdfs:subClassOf [ a owl:Restriction ; owl:onProperty ex:writes ; owl:someValuesFrom ex:Paper ] .
ex:Paper a owl:Class ; rdfs:label "{paper}"@{lang} ; owl:disjointWith ex:Person .
ex:writes a owl:ObjectProperty ; rdfs:label "{writes}"@{lang} ; rdfs:domain ex:Author ;
    rdfs:range [ owl:unionOf ( ex:Paper ex:Person ) ] .
ex:title a owl:DatatypeProperty ; rdfs:label "{title}"@{lang} ; rdfs:domain ex:Paper ; rdfs:range xsd:string .
ex:note a owl:AnnotationProperty ; rdfs:label "note"@{lang} .
ex:alice a ex:Person ; rdfs:label "Alice" .
"""


def _onto(
    tmp_path, name, ns, lang="en", person="Person", author="Author", paper="Paper", writes="writes", title="title"
):
    f = tmp_path / name
    text = ONTO.format(lang=lang, person=person, author=author, paper=paper, writes=writes, title=title)
    f.write_text(text.replace("http://o.ex/", ns), encoding="utf-8")
    return f


def _kind_of(kg):
    return {e: kg.kind(i) for i, e in enumerate(kg.entities)}


def test_loader_classifies_kinds(tmp_path):
    kg = load_kg(_onto(tmp_path, "o.ttl", "http://o.ex/"))
    kinds = _kind_of(kg)
    assert kinds == {
        "http://o.ex/Person": "class",
        "http://o.ex/Author": "class",
        "http://o.ex/Paper": "class",
        "http://o.ex/writes": "object_property",
        "http://o.ex/title": "datatype_property",
        "http://o.ex/note": "annotation_property",
        "http://o.ex/alice": "individual",
    }
    assert kg.kind_counts() == {
        "individual": 1,
        "class": 3,
        "object_property": 1,
        "datatype_property": 1,
        "annotation_property": 1,
    }


def test_schema_axioms_become_relation_triples(tmp_path):
    kg = load_kg(_onto(tmp_path, "o.ttl", "http://o.ex/"))
    e = lambda x: f"http://o.ex/{x}"  # noqa: E731
    got = {(kg.entities[h], kg.relations[r].rsplit("#", 1)[-1], kg.entities[t]) for h, r, t in kg.triples.tolist()}
    assert (e("Author"), "subClassOf", e("Person")) in got
    assert (e("Paper"), "disjointWith", e("Person")) in got
    assert (e("writes"), "domain", e("Author")) in got
    assert (e("title"), "domain", e("Paper")) in got
    # restriction and union (blank nodes) connect the named entities around them
    assert (e("Author"), "onProperty", e("writes")) in got
    assert (e("Author"), "someValuesFrom", e("Paper")) in got
    assert {(e("writes"), "unionOf", e("Paper")), (e("writes"), "unionOf", e("Person"))} <= got
    assert (e("alice"), "type", e("Person")) in got  # rdf:type towards a class that is an entity
    assert not any(x.startswith("http://www.w3.org/") for x in kg.entities)  # xsd:string is no entity


def test_punning_declaration_wins(tmp_path):
    f = tmp_path / "pun.ttl"
    f.write_text(
        "@prefix ex: <http://p.ex/> .\n@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "ex:Species a owl:Class .\n"
        "ex:Lion a owl:Class , ex:Species , owl:NamedIndividual ; ex:livesIn ex:savanna .\n"
        "ex:leo a ex:Lion .\n",
        encoding="utf-8",
    )
    kg = load_kg(f)
    kinds = _kind_of(kg)
    assert kinds["http://p.ex/Lion"] == "class"  # declared a class: never an individual too
    assert kg.entities.count("http://p.ex/Lion") == 1
    assert kinds["http://p.ex/leo"] == kinds["http://p.ex/savanna"] == "individual"
    lion = kg.index["http://p.ex/Lion"]
    # its individual-side assertions stay as structure
    rel = {
        (kg.relations[r].rsplit("/", 1)[-1].rsplit("#", 1)[-1], kg.entities[t])
        for h, r, t in kg.triples.tolist()
        if h == lion
    }
    assert ("type", "http://p.ex/Species") in rel and ("livesIn", "http://p.ex/savanna") in rel


def test_unlabelled_ontology_warns_and_uses_local_names(tmp_path, caplog):
    f = tmp_path / "bare.ttl"
    f.write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "<http://b.ex#c-0660054-4138714> a owl:Class .\n"
        "<http://b.ex#c-1111111-2222222> a owl:Class ; rdfs:subClassOf <http://b.ex#c-0660054-4138714> .\n"
        "<http://b.ex#Speaker> a owl:Class .\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING):
        kg = load_kg(f)
    assert kg.n_entities == 3
    msg = " ".join(r.getMessage() for r in caplog.records)
    assert "3 of 3 entities have no label" in msg and "2 of them look opaque" in msg
    assert kg.label(kg.index["http://b.ex#Speaker"]) == "Speaker"


def test_silknow_concepts_keep_their_entities():
    base = Path(__file__).resolve().parents[1] / "kgalign" / "data" / "silknow"
    kg = load_kg(base / "silknow_en.ttl")
    from kgalign.io.readers import read_alignment

    gold = read_alignment(base / "gold_en_fr.tsv")
    assert set(kg.entities) == {s for s, _ in gold.pairs}  # the 666 concepts, nothing else
    assert kg.kind_counts() == {"concept": 666}


def test_default_kind_is_individual_and_subgraph_keeps_kinds():
    kg = KnowledgeGraph(entities=["a", "b", "c"])
    assert kg.kinds.tolist() == [0, 0, 0] and kg.kind(1) == "individual"
    kg2 = KnowledgeGraph(entities=["a", "b", "c"], kinds=np.array([1, 2, 0]))
    assert kg2.subgraph([2, 0]).kinds.tolist() == [0, 1]
    with pytest.raises(ValueError):
        KnowledgeGraph(entities=["a"], kinds=[len(KINDS)])


def test_parse_kinds_and_config():
    from kgalign.aligner.kinds import parse_kinds
    from kgalign.config import AlignConfig
    from kgalign.errors import InputError

    assert parse_kinds("classes,properties") == (1, 2, 3, 5)
    assert parse_kinds(["individuals"]) == (0,)
    assert 4 not in parse_kinds(None)  # annotation properties are not aligned by default
    with pytest.raises(InputError, match="unknown entity kind 'klasses'"):
        AlignConfig.build(kinds="klasses")


def test_align_never_pairs_different_kinds(tmp_path, hash_encoder):
    from kgalign.aligner.pipeline import align

    # the labels invite cross-kind mistakes: the property "writes" is labelled like the class "Paper"
    a = load_kg(_onto(tmp_path, "a.ttl", "http://a.ex/"))
    b = load_kg(_onto(tmp_path, "b.ttl", "http://b.ex/", writes="Paper", title="Person"))
    res = align(a, b, encoder=hash_encoder, show_progress=False)
    assert len(res) > 0
    for i, j in zip(res.rows.tolist(), res.cols.tolist()):
        assert a.kind(i) == b.kind(j)
    kinds = res.info["kinds"]
    assert set(kinds) == {"individual", "class", "object_property", "datatype_property"}  # annotation: off
    assert "annotation_property" in res.info["kinds_skipped"]
    assert kinds["class"]["pairs"] == 3
    # selection
    res2 = align(a, b, encoder=hash_encoder, show_progress=False, kinds="classes")
    assert {a.kind(i) for i in res2.rows.tolist()} == {"class"}
    ranking = res.ranking(3, method="similarity")
    assert ranking.shape == (len(res.sources), 3)


def test_labels_in_a_language_the_other_side_lacks(tmp_path, hash_encoder):
    from kgalign.aligner.pipeline import align

    a = load_kg(
        _onto(
            tmp_path,
            "a.ttl",
            "http://a.ex/",
            lang="de",
            person="Person",
            author="Autor",
            paper="Papier",
            writes="schreibt",
            title="Titel",
        )
    )
    b = load_kg(_onto(tmp_path, "b.ttl", "http://b.ex/", lang="en"))
    res = align(a, b, encoder=hash_encoder, show_progress=False, kinds="classes,properties")
    got = {(a.entities[i].rsplit("/", 1)[-1], b.entities[j].rsplit("/", 1)[-1]) for i, j in zip(res.rows, res.cols)}
    assert ("Person", "Person") in got and ("title", "title") in got and ("writes", "writes") in got


def test_writers_carry_the_relation_of_each_kind(tmp_path, hash_encoder):
    from rdflib import Graph, URIRef

    from kgalign.aligner.pipeline import align
    from kgalign.io.oaei import read_oaei
    from kgalign.io.writers import write_alignment

    a = load_kg(_onto(tmp_path, "a.ttl", "http://a.ex/"))
    b = load_kg(_onto(tmp_path, "b.ttl", "http://b.ex/"))
    res = align(a, b, encoder=hash_encoder, show_progress=False)
    want = {
        "individual": OWL + "sameAs",
        "class": OWL + "equivalentClass",
        "object_property": OWL + "equivalentProperty",
        "datatype_property": OWL + "equivalentProperty",
    }
    expected = {(a.entities[i], want[a.kind(i)], b.entities[j]) for i, j in zip(res.rows.tolist(), res.cols.tolist())}
    assert len({p for _, p, _ in expected}) == 3
    write_alignment(res, tmp_path / "o.ttl")
    g = Graph().parse(tmp_path / "o.ttl", format="turtle")
    assert {(str(s), str(p), str(o)) for s, p, o in g} == expected
    write_alignment(res, tmp_path / "o.sssom.tsv")
    lines = (tmp_path / "o.sssom.tsv").read_text().splitlines()
    body = [ln.split("\t") for ln in lines if not ln.startswith("#")]
    col = body[0].index("predicate_id")
    assert {r[col] for r in body[1:]} == {"owl:sameAs", "owl:equivalentClass", "owl:equivalentProperty"}
    write_alignment(res, tmp_path / "o.tsv")
    rows = [ln.split("\t") for ln in (tmp_path / "o.tsv").read_text().splitlines()]
    assert rows[0][-1] == "predicate" and {(r[0], r[-1], r[1]) for r in rows[1:]} == expected
    data = json.loads(write_alignment(res, tmp_path / "o.json") and (tmp_path / "o.json").read_text())
    assert {(p["source"], p["predicate"], p["target"]) for p in data["pairs"]} == expected
    # OAEI: relation "=" with the entity IRIs, and valid RDF as the Alignment API reads it
    write_alignment(res, tmp_path / "o.rdf")
    al = read_oaei(tmp_path / "o.rdf")
    assert {(c.entity1, c.entity2) for c in al.cells} == {(s, o) for s, _, o in expected}
    assert {c.relation for c in al.cells} == {"="}
    rdf = Graph().parse(tmp_path / "o.rdf", format="xml")
    ns = "http://knowledgeweb.semanticweb.org/heterogeneity/alignment#"
    assert len(set(rdf.subjects(URIRef(ns + "entity1"), None))) == len(expected)


# ------------------------------------------------------------------ MultiFarm
needs_mf = pytest.mark.skipif(not (MF / "ref").is_dir(), reason="MultiFarm data not available")


def _ekaw_de_en(tmp_path, reference: bool = True):
    """A MultiFarm-layout folder with the de and en ekaw ontologies (and their reference)."""
    import shutil

    root = tmp_path / "mf"
    (root / "ont").mkdir(parents=True)
    (root / "ref" / "de-en").mkdir(parents=True)
    for o in ("ekaw-de", "ekaw-en"):
        shutil.copy(MF / "ont" / f"{o}.owl", root / "ont")
    if reference:
        shutil.copy(MF / "ref" / "de-en" / "ekaw-ekaw-de-en.rdf", root / "ref" / "de-en")
    return root


@needs_mf
def test_multifarm_ontology_kinds_match_the_reference():
    from kgalign.evaluation.multifarm import reference_links

    kg1, kg2 = load_kg(MF / "ont" / "edas-de.owl"), load_kg(MF / "ont" / "edas-en.owl")
    gold, missing = reference_links(kg1, kg2, MF / "ref" / "de-en" / "edas-edas-de-en.rdf")
    assert len(gold) == 153 and missing == []  # quirky namespace and "xsd:float" measures read fine
    assert {kg1.kind(kg1.index[x]) for x, _ in gold} == {"class", "object_property", "datatype_property"}
    assert all(kg1.kind(kg1.index[x]) == kg2.kind(kg2.index[y]) for x, y in gold)
    n_vocab = sum(kg1.kind(i) != "individual" for i in range(kg1.n_entities))
    assert n_vocab == 153  # every class and property of edas is an entity


@needs_mf
def test_multifarm_reference_with_absent_entities_is_counted(tmp_path, hash_encoder):

    from kgalign.aligner.pipeline import align
    from kgalign.evaluation.multifarm import find_tasks, run_task

    root = _ekaw_de_en(tmp_path, reference=False)
    text = (MF / "ref" / "de-en" / "ekaw-ekaw-de-en.rdf").read_text(encoding="utf-8")
    ghost = (
        '<map>\n\t<Cell>\n\t\t<entity1 rdf:resource="http://ekaw_de#ghost"/>\n'
        '\t\t<entity2 rdf:resource="http://ekaw_en#ghost"/>\n'
        '\t\t<measure rdf:datatype="xsd:float">1.0</measure>\n\t\t<relation>=</relation>\n\t</Cell>\n</map>\n'
    )
    (root / "ref" / "de-en" / "ekaw-ekaw-de-en.rdf").write_text(
        text.replace("</Alignment>", ghost + "</Alignment>"), encoding="utf-8"
    )
    (task,) = find_tasks(root)
    assert task["same"] and task["lang1"] == "de"
    kg1, kg2 = load_kg(task["ont1"]), load_kg(task["ont2"])
    r0 = run_task(task, kg1, kg2, aligner=align, config=None, seed=0, encoder=hash_encoder)
    r1 = run_task(task, kg1, kg2, aligner=align, config=None, seed=1, encoder=hash_encoder)
    assert r0["ref_missing"] == 1 and r0["n_gold"] == 106  # the ghost is counted, the rest scored
    # no order leak: another presentation of both graphs gives the same pairs
    assert {(a, b) for a, b, _ in r0["pairs"]} == {(a, b) for a, b, _ in r1["pairs"]}
    assert r0["f1"] == r1["f1"]


def _by_position(kg1, kg2, *, sources, targets, **_):
    """A planted order leak: pairs the i-th shown source with the i-th shown target."""
    from types import SimpleNamespace

    n = min(len(sources), len(targets))
    return SimpleNamespace(rows=sources[:n], cols=targets[:n], scores=np.ones(n, np.float32), info={})


def _by_sorted_iri(kg1, kg2, *, sources, targets, **_):
    """Order-independent: pairs the entities in the order of their IRIs."""
    from types import SimpleNamespace

    s = sorted(sources.tolist(), key=lambda i: kg1.entities[i])
    t = sorted(targets.tolist(), key=lambda j: kg2.entities[j])
    n = min(len(s), len(t))
    return SimpleNamespace(rows=np.array(s[:n]), cols=np.array(t[:n]), scores=np.ones(n, np.float32), info={})


@needs_mf
def test_multifarm_permutation_check_is_reported_and_fails_on_an_order_leak(tmp_path, capsys):

    from kgalign.cli import main

    root = _ekaw_de_en(tmp_path)
    args = ["-q", "benchmark", "multifarm", "--data-dir", str(root), "--permutation-check", "--no-plots"]
    assert main([*args, "--output-dir", str(tmp_path / "ok"), "--aligner", "test_kinds:_by_sorted_iri"]) == 0
    out = capsys.readouterr()
    assert "seed 1: 0 pairs differ" in out.err and "the pairs of all 1 tasks are identical" in out.out
    rec = json.loads((tmp_path / "ok" / "results.json").read_text())
    assert rec["permutation_check"] == {"seed": 1, "tasks": 1, "differing": [], "passed": True}
    assert main([*args, "--output-dir", str(tmp_path / "leak"), "--aligner", "test_kinds:_by_position"]) == 2
    out = capsys.readouterr()
    assert "permutation self-check failed" in out.err and "ekaw-ekaw-de-en" in out.err
    assert "changed in 1 of 1 tasks" in (tmp_path / "leak" / "results.md").read_text()


CLASSES_ONLY = """\
@prefix ex: <http://b.ex/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Person a owl:Class ; rdfs:label "Person"@en .
ex:Paper a owl:Class ; rdfs:label "Paper"@en .
ex:Author a owl:Class ; rdfs:label "Author"@en ; rdfs:subClassOf ex:Person .
"""


def test_cli_names_the_kinds_it_did_not_align(tmp_path, capsys):
    """A kind one side lacks is left out, and the summary says so (not only the info log)."""
    from kgalign.cli import main

    a = _onto(tmp_path, "a.ttl", "http://a.ex/")
    b = tmp_path / "b.ttl"  # classes only: no properties, no individual
    b.write_text(CLASSES_ONLY, encoding="utf-8")
    assert main(["-q", "align", str(a), str(b), "-o", str(tmp_path / "o.tsv")]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("kinds: "))
    assert line.startswith("kinds: class 3 x 3 -> 3 pairs; not aligned")
    assert "object_property 1 x 0" in line and "datatype_property 1 x 0" in line and "individual 1 x 0" in line


def test_sssom_and_oaei_outputs_record_what_the_run_chose(tmp_path, hash_encoder):
    """Issue 13 item 4: the SSSOM header and the OAEI alignment carry the kinds, each side's
    translator/fallback/resources, the encoder and the schema stage; both stay readable."""
    sssom_parsers = pytest.importorskip("sssom.parsers")
    from rdflib import Graph, URIRef

    from kgalign.aligner.pipeline import align
    from kgalign.io.oaei import KGALIGN_NS, read_oaei
    from kgalign.io.writers import write_alignment

    a = load_kg(_onto(tmp_path, "a.ttl", "http://a.ex/"))
    b = load_kg(_onto(tmp_path, "b.ttl", "http://b.ex/"))
    res = align(a, b, encoder=hash_encoder, show_progress=False)

    def check(rec):
        assert rec["kinds"] == {
            k: {x: v[x] for x in ("sources", "targets", "pairs")} for k, v in res.info["kinds"].items()
        }
        assert rec["side1"]["translator"] == res.info["choice"]["side1"]["translator"]
        assert rec["encoder"]["name"] == res.info["choice"]["encoder"]
        assert rec["schema"] == res.info["schema"] and rec["sources"] == [str(a.source), str(b.source)]
        assert "senses" in res.info["views"] and rec["senses"] == res.info["senses"]

    write_alignment(res, tmp_path / "o.sssom.tsv")
    msdf = sssom_parsers.parse_sssom_table(tmp_path / "o.sssom.tsv")
    assert len(msdf.df) == len(res)
    check(json.loads(msdf.metadata["other"]))

    write_alignment(res, tmp_path / "o.rdf")
    al = read_oaei(tmp_path / "o.rdf")
    assert len(al.cells) == len(res) and al.onto1 and al.onto1.endswith("/a.ttl")
    g = Graph().parse(tmp_path / "o.rdf", format="xml")
    (run,) = list(g.objects(None, URIRef(KGALIGN_NS + "run")))
    check(json.loads(str(run)))


def test_oaei_onto1_onto2_are_the_declared_ontology_iris(tmp_path, hash_encoder):
    """An input that declares an owl:Ontology is named by its IRI in the OAEI alignment (as the
    OAEI references do); one that declares none by its file URI."""
    from kgalign.aligner.pipeline import align
    from kgalign.io.oaei import read_oaei
    from kgalign.io.writers import write_alignment

    fa = _onto(tmp_path, "a.ttl", "http://a.ex/")
    fa.write_text(
        fa.read_text(encoding="utf-8") + "\n<http://a.ex/onto> a <http://www.w3.org/2002/07/owl#Ontology> .\n",
        encoding="utf-8",
    )
    a, b = load_kg(fa), load_kg(_onto(tmp_path, "b.ttl", "http://b.ex/"))
    assert a.ontology == "http://a.ex/onto" and b.ontology == ""
    assert a.subgraph([0, 1]).ontology == a.ontology
    assert "http://a.ex/onto" not in a.index  # the header is no entity
    res = align(a, b, encoder=hash_encoder, show_progress=False)
    write_alignment(res, tmp_path / "o.rdf")
    al = read_oaei(tmp_path / "o.rdf")
    assert al.onto1 == "http://a.ex/onto" and al.onto2.endswith("/b.ttl")


def test_cli_says_when_the_schema_stage_did_not_run_on_vocabulary(tmp_path, capsys):
    """Classes without any schema triple: the summary says the structure was not used, and why."""
    from kgalign.cli import main

    flat = CLASSES_ONLY.replace(" ; rdfs:subClassOf ex:Person", "")
    a, b = tmp_path / "a.ttl", tmp_path / "b.ttl"
    a.write_text(flat.replace("http://b.ex/", "http://a.ex/"), encoding="utf-8")
    b.write_text(flat, encoding="utf-8")
    assert main(["-q", "align", str(a), str(b), "-o", str(tmp_path / "o.tsv")]) == 0
    out = capsys.readouterr().out
    assert "schema structure: not used (no schema triples on both sides)" in out


@needs_mf
def test_multifarm_benchmark_leaves_the_encoder_to_the_automatic_choice(tmp_path, monkeypatch):

    from kgalign.evaluation import multifarm

    root = _ekaw_de_en(tmp_path)
    seen = []

    def aligner(kg1, kg2, *, sources, targets, encoder=None, **_):
        seen.append(encoder)
        return _by_sorted_iri(kg1, kg2, sources=sources, targets=targets)

    multifarm.run_multifarm(root, aligner=aligner)
    assert seen == [None]  # not a default encoder built up front (it would be recorded as "given")
    built = []
    monkeypatch.setattr("kgalign.aligner.encode.Encoder", lambda *a, **k: built.append(a) or "enc")
    seen.clear()
    multifarm.run_multifarm(root, aligner=aligner, config={"encoder": "some/model"})
    assert seen == ["enc"] and built == [("some/model",)]
