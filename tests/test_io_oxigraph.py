"""The pyoxigraph engine (kgalign.io.oxigraph) against the rdflib path: same graph, same errors.

Differential: every N-Triples, Turtle and RDF/XML file of ../shared/cases and ../shared/datasets
(below 5 MB) and the RDF snippets below load to identical entities (order included), labels,
kinds, relations, relation triples and attributes, or fail with the same error class, file and
line. The whole test suite can be run through both engines too: ``KGALIGN_DIFF_OXIGRAPH=1``
(tests/conftest.py) makes every rdflib load compare itself with the oxigraph engine.
"""

from __future__ import annotations

import gzip
import os

import pytest
from conftest import CASES, DATASETS

from kgalign.errors import KgalignError
from kgalign.io import load_kg, registry

pytest.importorskip("pyoxigraph")

from kgalign.io.oxigraph import load_oxigraph  # noqa: E402
from kgalign.io.rdf import load_rdf  # noqa: E402

SUFFIX_FORMAT = {".nt": "nt", ".ttl": "turtle", ".rdf": "xml", ".owl": "xml"}


def _rdf_files():
    out = []
    for root in (CASES, DATASETS):
        if root.is_dir():
            for p in sorted(root.rglob("*")):
                if p.suffix.lower() in SUFFIX_FORMAT and p.is_file() and p.stat().st_size < 5_000_000:
                    out.append(p)
    return out


def outcome(loader, path, fmt, encoding="utf-8"):
    """Everything a loader decides, or the error it raises (class, file, line)."""
    try:
        kg = loader(path, fmt, encoding)
    except KgalignError as exc:
        where = os.path.basename(getattr(exc, "path", "") or "")
        return ("error", type(exc).__name__, where, getattr(exc, "line", None))
    return (kg.entities, kg.labels, kg.kinds.tolist(), kg.relations, kg.triples.tolist(), kg.attributes)


def assert_same(path, fmt):
    a = outcome(load_rdf, path, fmt)
    b = outcome(load_oxigraph, path, fmt)
    if a[0] == "error" or b[0] == "error":
        assert a == b
        return
    for name, x, y in zip(("entities", "labels", "kinds", "relations", "triples", "attributes"), a, b):
        assert x == y, f"{path}: {name} differ"


FILES = _rdf_files()


@pytest.mark.skipif(not FILES, reason="no shared RDF files")
@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_graph_as_rdflib_on_shared_files(path):
    assert_same(path, SUFFIX_FORMAT[path.suffix.lower()])


SNIPPETS = {
    "blank_axioms.ttl": """@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix : <http://a.ex/> .
:Paper a owl:Class ; rdfs:label "Paper"@en ; rdfs:subClassOf [ a owl:Restriction ;
    owl:onProperty :writtenBy ; owl:someValuesFrom :Author ] .
:Author a owl:Class ; rdfs:subClassOf [ owl:unionOf ( :Person :Group ) ] .
:writtenBy a owl:ObjectProperty ; rdfs:domain :Paper ; rdfs:range :Author .
:year a owl:DatatypeProperty ; rdfs:range <http://www.w3.org/2001/XMLSchema#integer> .
:p1 a :Paper ; :writtenBy :a1 ; :year "2001"^^<http://www.w3.org/2001/XMLSchema#integer> ; rdfs:label "P one"@EN-gb .
:a1 a :Author ; <http://xmlns.com/foaf/0.1/name> "Ann" , "  " ; :note "x\\ny" .
""",
    "relative.ttl": '<e1> <p> <e2> . <e2> <http://www.w3.org/2000/01/rdf-schema#label> "two"@de .\n',
    "dupes.nt": "<http://a.ex/b> <http://a.ex/p> <http://a.ex/a> .\n<http://a.ex/a> <http://a.ex/p> <http://a.ex/b> .\n"
    "<http://a.ex/b> <http://a.ex/p> <http://a.ex/a> .\n_:x <http://a.ex/p> <http://a.ex/c> .\n"
    '<http://a.ex/c> <http://www.w3.org/2000/01/rdf-schema#label> "c\\u00e9" .\n',
    "bad_turtle.ttl": "@prefix : <http://a.ex/> .\n:a :p :b .\n:b :p \n",
    "bad_turtle_dot.ttl": "@prefix : <http://a.ex/> .\n:a :p :b .\n:b :p :c \n:d :p :e .\n",
    "bad_turtle_string.ttl": '@prefix : <http://a.ex/> .\n:a :p "open .\n:b :p :c .\n',
    "bad_xml.rdf": '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    '<rdf:Description rdf:about="http://a.ex/a">\n</rdf:RDF>\n',
    "bad_iri.nt": "<http://a.ex/a> <http://a.ex/p> <http://a.ex/b> .\n"
    "<http://a.ex/a> <http://a.ex/p> http://a.ex/c .\n",
    "schema.rdf": """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"
  xmlns:owl="http://www.w3.org/2002/07/owl#">
 <owl:Class rdf:about="http://a.ex/A"><rdfs:label xml:lang="fr">Un A</rdfs:label>
  <rdfs:subClassOf><owl:Restriction><owl:onProperty rdf:resource="http://a.ex/r"/>
   <owl:allValuesFrom rdf:resource="http://a.ex/B"/></owl:Restriction></rdfs:subClassOf></owl:Class>
 <owl:Class rdf:about="http://a.ex/B"/>
 <rdf:Description rdf:about="http://a.ex/x"><rdf:type rdf:resource="http://a.ex/A"/></rdf:Description>
</rdf:RDF>
""",
    "empty.ttl": "@prefix : <http://a.ex/> .\n",
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_same_graph_as_rdflib_on_snippets(tmp_path, name):
    path = tmp_path / name
    path.write_text(SNIPPETS[name], encoding="utf-8")
    assert_same(path, SUFFIX_FORMAT[path.suffix])


def test_snippets_exercise_the_rules(tmp_path):
    # the differential above is only worth something if the snippets give non-trivial graphs
    path = tmp_path / "blank_axioms.ttl"
    path.write_text(SNIPPETS["blank_axioms.ttl"], encoding="utf-8")
    kg = load_oxigraph(path, "turtle")
    kind = {e: kg.kind(i) for i, e in enumerate(kg.entities)}
    assert kind["http://a.ex/Paper"] == kind["http://a.ex/Author"] == "class"
    assert kind["http://a.ex/p1"] == kind["http://a.ex/a1"] == "individual"
    assert kind["http://a.ex/writtenBy"] == "object_property"
    assert kind["http://a.ex/year"] == "datatype_property"
    assert "http://www.w3.org/2002/07/owl#someValuesFrom" in kg.relations  # through a blank node
    assert kg.label(kg.index["http://a.ex/p1"], "en") == "P one"


def test_gzip_bom_and_latin1(tmp_path):
    text = '<http://a.ex/a> <http://www.w3.org/2000/01/rdf-schema#label> "Café" .\n'
    gz = tmp_path / "g.nt.gz"
    gz.write_bytes(gzip.compress(b"\xef\xbb\xbf" + text.encode()))
    lat = tmp_path / "l.ttl"
    lat.write_bytes(text.encode("latin-1"))
    for path, fmt, enc in ((gz, "nt", "utf-8"), (lat, "turtle", "latin-1")):
        a, b = load_rdf(path, fmt, enc), load_oxigraph(path, fmt, enc)
        assert a.labels == b.labels == [[("", "Café", 1)]]


def test_rdfxml_declared_encoding(tmp_path):
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">\n<rdf:Description rdf:about="http://a.ex/m">'
        '<rdfs:label xml:lang="FR">Meublé</rdfs:label></rdf:Description>\n</rdf:RDF>\n'
    )
    declared, wrong = tmp_path / "l.rdf", tmp_path / "w.rdf"
    declared.write_bytes(body.encode("latin-1"))
    wrong.write_bytes(body.replace("ISO-8859-1", "UTF-8").encode("latin-1"))
    for path in (declared, wrong):
        for enc in ("utf-8", "latin-1"):
            a, b = outcome(load_rdf, path, "xml", enc), outcome(load_oxigraph, path, "xml", enc)
            assert a == b, (path.name, enc)
    assert outcome(load_oxigraph, declared, "xml", "utf-8")[1] == [[("fr", "Meublé", 1)]]


def test_engine_option(tmp_path):
    path = tmp_path / "g.nt"
    path.write_text("<http://a.ex/a> <http://a.ex/p> <http://a.ex/b> .\n", encoding="utf-8")
    for engine in ("rdflib", "oxigraph", "auto"):
        assert load_kg(path, engine=engine).entities == ["http://a.ex/a", "http://a.ex/b"]
    with pytest.raises(KgalignError, match="unknown engine"):
        load_kg(path, engine="jena")
    js = tmp_path / "g.jsonld"
    js.write_text('{"@id": "http://a.ex/a", "http://a.ex/p": {"@id": "http://a.ex/b"}}', encoding="utf-8")
    with pytest.raises(KgalignError, match="engine 'oxigraph' reads"):
        load_kg(js, engine="oxigraph")
    entry = registry.get("graph", "nt")
    assert registry.engine_for(entry, "auto", path) is entry.load()  # small file: the rdflib path
