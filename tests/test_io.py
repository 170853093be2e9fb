"""RDF loaders: formats agree with each other, entity rules, errors, and the shared datasets."""

from __future__ import annotations

import gzip
import random
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kgalign.errors import InputError
from kgalign.io import detect_format, load_kg, normalise_format
from kgalign.kg import LABEL_PREDICATES

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = SHARED / "datasets"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/datasets is absent")

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


# ------------------------------------------------------------------ formats agree
def _random_graph(seed: int):
    """A random rdflib graph and the content a loader must find in it (built, not loaded)."""
    from rdflib import Graph, Literal, URIRef
    from rdflib.namespace import XSD

    rng = random.Random(seed)
    words = ["Paris", "Bête", "北京", "Москва", "André_Gide", "Where_Now%3F", "a/b", "x y"]
    ents = []
    for k in range(rng.randint(3, 9)):
        w = rng.choice(words).replace(" ", "_").replace("/", "_")
        ents.append(f"http://a.ex/resource/E{k}_{w}")
    rels = [f"http://a.ex/prop/r{k}" for k in range(3)]
    g = Graph()
    expected_triples, expected_labels, expected_attrs = set(), {e: set() for e in ents}, set()
    for e in ents:
        g.add((URIRef(e), URIRef(RDF_TYPE), URIRef("http://a.ex/class/Thing")))
    for _ in range(rng.randint(0, 12)):
        h, t, r = rng.choice(ents), rng.choice(ents), rng.choice(rels)
        g.add((URIRef(h), URIRef(r), URIRef(t)))
        expected_triples.add((h, r, t))
    langs = ["en", "EN", "fr", "es-ES", "zh", None]
    for e in ents:
        for _ in range(rng.randint(0, 3)):
            lang = rng.choice(langs)
            text = rng.choice(["Paris", "París", "北京", " spaced  out ", "", "   "])
            pred = rng.choice([RDFS_LABEL, SKOS + "prefLabel", SKOS + "altLabel"])
            g.add((URIRef(e), URIRef(pred), Literal(text, lang=lang)))
            clean = " ".join(text.split())
            if clean:
                expected_labels[e].add(((lang or "").lower(), clean, LABEL_PREDICATES.index(pred)))
        if rng.random() < 0.5:
            val = rng.randint(1000, 2000)
            g.add((URIRef(e), URIRef("http://a.ex/prop/year"), Literal(str(val), datatype=XSD.gYear)))
            expected_attrs.add((e, "http://a.ex/prop/year", str(val), ""))
    expected = {"entities": set(ents), "triples": expected_triples, "labels": expected_labels, "attrs": expected_attrs}
    return g, expected


def _content(kg):
    return {
        "entities": set(kg.entities),
        "triples": {(kg.entities[h], kg.relations[r], kg.entities[t]) for h, r, t in kg.triples.tolist()},
        "labels": {e: set(labs) for e, labs in zip(kg.entities, kg.labels)},
        "attrs": {(kg.entities[i], p, v, l) for i, p, v, l in kg.attributes},
    }


@pytest.mark.parametrize("seed", range(4))
def test_every_rdf_format_loads_the_same_graph(tmp_path, seed):
    g, expected = _random_graph(seed)
    for fmt, suffix in [("turtle", ".ttl"), ("nt", ".nt"), ("xml", ".rdf"), ("json-ld", ".jsonld")]:
        f = tmp_path / f"g{seed}{suffix}"
        g.serialize(destination=str(f), format=fmt, encoding="utf-8")
        kg = load_kg(f)
        assert _content(kg) == expected, fmt
        # the same file gzipped, and with the format given explicitly under another name
        gz = tmp_path / f"g{seed}{suffix}.gz"
        gz.write_bytes(gzip.compress(f.read_bytes()))
        assert _content(load_kg(gz)) == expected, fmt + ".gz"
        other = tmp_path / f"g{seed}_{fmt}.data"
        other.write_bytes(f.read_bytes())
        assert _content(load_kg(other, format=fmt)) == expected, fmt + " override"


def test_latin1_encoding_option_matches_utf8(tmp_path):
    g, expected = _random_graph(11)
    text = g.serialize(format="nt")
    text = "".join(ch if ord(ch) < 256 else "?" for ch in text)  # representable in Latin-1
    (tmp_path / "u.nt").write_bytes(text.encode("utf-8"))
    (tmp_path / "l.nt").write_bytes(text.encode("latin-1"))
    assert _content(load_kg(tmp_path / "l.nt", encoding="latin-1")) == _content(load_kg(tmp_path / "u.nt"))


# ------------------------------------------------------------------ entity rules
SCHEMA_AND_DATA = """\
@prefix ex: <http://a.ex/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dc: <http://purl.org/dc/elements/1.1/> .
<http://a.ex/onto> a owl:Ontology ; rdfs:label "My ontology" .
ex:Person a owl:Class ; rdfs:label "Person"@en ; rdfs:subClassOf ex:Agent .
ex:knows a owl:ObjectProperty ; rdfs:label "knows" ; rdfs:domain ex:Person ; rdfs:range ex:Person .
ex:scheme a skos:ConceptScheme ; dc:title "Scheme" .
ex:alice a ex:Person ; rdfs:label "Alice"@en ; ex:knows ex:bob ; skos:inScheme ex:scheme ;
    ex:age 42 ; ex:friend [ rdfs:label "anonymous" ] .
ex:bob ex:knows ex:carol ; owl:sameAs ex:robert .
ex:carol dc:title "Dr Carol"@EN .
"""


def test_entity_rules_skip_vocabulary_classes_properties_and_headers(tmp_path):
    f = tmp_path / "mixed.ttl"
    f.write_text(SCHEMA_AND_DATA, encoding="utf-8")
    kg = load_kg(f)
    individuals = [e for i, e in enumerate(kg.entities) if kg.kind(i) == "individual"]
    assert individuals == ["http://a.ex/alice", "http://a.ex/bob", "http://a.ex/carol", "http://a.ex/robert"]
    # the declared vocabulary is there too, each with its kind (kgalign.io.owl); headers are not
    others = {e: kg.kind(i) for i, e in enumerate(kg.entities) if kg.kind(i) != "individual"}
    assert others == {
        "http://a.ex/Person": "class",
        "http://a.ex/Agent": "class",
        "http://a.ex/knows": "object_property",
    }
    c = _content(kg)
    ind = set(individuals)
    c["triples"] = {t for t in c["triples"] if t[0] in ind and t[2] in ind}
    assert c["triples"] == {
        ("http://a.ex/alice", "http://a.ex/knows", "http://a.ex/bob"),
        ("http://a.ex/bob", "http://a.ex/knows", "http://a.ex/carol"),
        ("http://a.ex/bob", "http://www.w3.org/2002/07/owl#sameAs", "http://a.ex/robert"),
    }
    assert c["attrs"] == {("http://a.ex/alice", "http://a.ex/age", "42", "")}
    # dc:title counts as a label (local name "title"), ranked after the listed predicates
    carol = kg.index["http://a.ex/carol"]
    assert kg.labels[carol] == [("en", "Dr Carol", len(LABEL_PREDICATES) + 1)]
    assert kg.label(kg.index["http://a.ex/alice"], "en") == "Alice"


def test_ontology_without_individuals_uses_classes(tmp_path):
    f = tmp_path / "onto.ttl"
    f.write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        '<http://o.ex/Person> a owl:Class ; rdfs:label "Person"@en .\n'
        '<http://o.ex/Student> a owl:Class ; rdfs:subClassOf <http://o.ex/Person> ; rdfs:label "Student"@en .\n',
        encoding="utf-8",
    )
    kg = load_kg(f)
    assert set(kg.entities) == {"http://o.ex/Person", "http://o.ex/Student"}
    assert sorted(kg.names("en")) == ["Person", "Student"]


def test_entity_order_does_not_depend_on_string_hashing(tmp_path):
    g, _ = _random_graph(5)
    files = []
    for suffix, fmt in [(".ttl", "turtle"), (".jsonld", "json-ld")]:
        f = tmp_path / ("h" + suffix)
        g.serialize(destination=str(f), format=fmt, encoding="utf-8")
        files.append(str(f))
    code = (
        "from kgalign.io import load_kg\n"
        f"for f in {files!r}:\n"
        "    kg = load_kg(f)\n"
        "    print(kg.entities, kg.relations, kg.triples.tolist(), kg.labels, kg.attributes)\n"
    )
    outs = []
    for seed in ("1", "2"):
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1] and outs[0].count("\n") == 2


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("bad_line", [2, 5, 9])
def test_turtle_syntax_error_names_the_line(tmp_path, bad_line):
    lines = ["@prefix ex: <http://a.ex/> ."] + [f"ex:e{k} ex:p ex:o{k} ." for k in range(2, 11)]
    lines[bad_line - 1] = f"ex:e{bad_line} ex:p ex:o ex:extra ."
    f = tmp_path / "bad.ttl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_kg(f)
    assert err.value.line == bad_line
    assert str(err.value).startswith(f"bad.ttl:{bad_line}: ")


def test_turtle_unbound_prefix(tmp_path):
    f = tmp_path / "p.ttl"
    f.write_text("@prefix ex: <http://a.ex/> .\nex:a ex:b ex:c .\nzz:a ex:b ex:c .\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_kg(f)
    assert err.value.line == 3


def test_rdfxml_error_names_the_line(tmp_path):
    f = tmp_path / "bad.rdf"
    f.write_text(
        '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '<rdf:Description rdf:about="http://a.ex/x">\n<open>\n</rdf:Description>\n</rdf:RDF>\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        load_kg(f)
    assert err.value.line == 5 and str(err.value).startswith("bad.rdf:5: ")


def test_rdfxml_declared_encoding_wins(tmp_path):
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">\n'
        '<rdf:Description rdf:about="http://a.ex/m"><rdfs:label xml:lang="FR">Meublé</rdfs:label>'
        "</rdf:Description>\n</rdf:RDF>\n"
    )
    f = tmp_path / "l.rdf"
    f.write_bytes(body.encode("latin-1"))
    assert load_kg(f).label(0, "fr") == "Meublé"
    assert load_kg(f, encoding="latin-1").label(0, "fr") == "Meublé"
    # a file that claims UTF-8 but is Latin-1: our error (line, byte, --encoding), then the override
    wrong = tmp_path / "w.rdf"
    wrong.write_bytes(body.replace("ISO-8859-1", "UTF-8").encode("latin-1"))
    with pytest.raises(InputError, match="--encoding latin-1") as err:
        load_kg(wrong)
    assert err.value.line == 3 and "0xe9" in str(err.value)
    assert load_kg(wrong, encoding="latin-1").label(0, "fr") == "Meublé"


def test_jsonld_errors(tmp_path):
    bad = tmp_path / "bad.jsonld"
    bad.write_text('{"@id": "http://a.ex/x",\n  "http://a.ex/p": "v",\n}', encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_kg(bad)
    assert err.value.line == 3
    remote = tmp_path / "remote.jsonld"
    remote.write_text('{"@context": "http://context.invalid/ctx.jsonld", "@id": "http://a.ex/x", "name": "X"}')
    with pytest.raises(InputError, match="@context"):
        load_kg(remote)


def test_format_detection_and_errors(tmp_path):
    assert normalise_format("TTL") == "turtle" and normalise_format("ntriples") == "nt"
    assert normalise_format("rdf/xml") == "xml" and normalise_format("jsonld") == "json-ld"
    with pytest.raises(InputError, match="unknown format"):
        normalise_format("csv")
    for name, fmt in [
        ("a.ttl", "turtle"),
        ("a.NT", "nt"),
        ("a.owl", "xml"),
        ("a.json", "json-ld"),
        ("a.ttl.gz", "turtle"),
        ("ent_ids_2", "dbp15k"),
    ]:
        (tmp_path / name).write_text("")
        assert detect_format(tmp_path / name) == fmt
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(InputError, match="--format"):
        load_kg(tmp_path / "a.txt")
    with pytest.raises(InputError, match="no such file"):
        load_kg(tmp_path / "missing.ttl")
    with pytest.raises(InputError, match="unknown encoding"):
        load_kg(tmp_path / "a.ttl", encoding="no-such-codec")


def test_pair_directory_given_to_load_kg(tmp_path):
    (tmp_path / "ent_ids_1").write_text("0\thttp://a.ex/x\n")
    with pytest.raises(InputError, match="load_pair"):
        load_kg(tmp_path)


# ------------------------------------------------------------------ shared datasets
def _oracle(path, fmt):
    from rdflib import Graph

    g = Graph()
    g.parse(str(path), format=fmt)
    return g


@needs_data
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_silknow(lang):
    from rdflib import URIRef
    from rdflib.namespace import RDF, SKOS

    path = DATA / "silknow" / f"silknow_{lang}.ttl"
    kg = load_kg(path)
    g = _oracle(path, "turtle")
    concepts = {str(s) for s in g.subjects(RDF.type, SKOS.Concept)}
    assert kg.n_entities == 666 and set(kg.entities) == concepts
    assert kg.languages() == [lang]
    for i, iri in enumerate(kg.entities):
        pref = [str(o) for o in g.objects(URIRef(iri), SKOS.prefLabel) if o.language == lang]
        alt = [str(o) for o in g.objects(URIRef(iri), SKOS.altLabel) if o.language == lang]
        # one French concept (c0274) has no label at all: its name is the IRI's last segment
        want = pref[0] if pref else (alt[0] if alt else iri.rsplit("/", 1)[1])
        assert kg.label(i, lang) == want
        assert kg.label(i) == want
    n_rel = sum(1 for p in (SKOS.broader, SKOS.narrower, SKOS.related) for _ in g.triples((None, p, None)))
    assert len(kg.triples) == n_rel
    # gold IRIs are entities of the right side
    col = 0 if lang == "en" else 1
    gold = [line.split("\t")[col] for line in (DATA / "silknow" / "gold_en_fr.tsv").read_text().split("\n")[1:] if line]
    assert len(gold) == 666 and all(iri in kg.index for iri in gold)


@needs_data
def test_inspire_label_selection_across_languages(tmp_path):
    path = DATA / "inspire" / "inspire-theme.rdf"
    kg = load_kg(path)
    # independent oracle: the XML itself
    ns = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "skos": SKOS}
    xml_lang = "{http://www.w3.org/XML/1998/namespace}lang"
    root = ET.parse(path).getroot()
    concepts = root.findall("skos:Concept", ns)
    assert len(concepts) == 34 and kg.n_entities == 34
    langs = set()
    for c in concepts:
        i = kg.index[c.get(f"{{{ns['rdf']}}}about")]
        for pl in c.findall("skos:prefLabel", ns):
            lang = pl.get(xml_lang)
            langs.add(lang)
            assert kg.label(i, lang) == " ".join(pl.text.split())
            assert kg.label(i, lang.upper()) == kg.label(i, lang)
    assert len(langs) == 23
    assert set(kg.languages()) == langs | {""}  # untagged altLabels
    # a bare language matches regional tags: retag Spanish as es-ES
    text = path.read_text(encoding="utf-8")
    spanish = {
        c.get(f"{{{ns['rdf']}}}about"): pl.text
        for c in concepts
        for pl in c.findall("skos:prefLabel", ns)
        if pl.get(xml_lang) == "es"
    }
    regional = tmp_path / "inspire-es-ES.rdf"
    regional.write_text(re.sub(r'xml:lang="es"', 'xml:lang="es-ES"', text), encoding="utf-8")
    kg2 = load_kg(regional)
    assert "es-es" in kg2.languages() and "es" not in kg2.languages()
    for iri, label in spanish.items():
        i = kg2.index[iri]
        assert kg2.label(i, "es") == " ".join(label.split())
        assert kg2.label(i, "ES-es") == kg2.label(i, "es")


# ------------------------------------------------------------------ robustness
@pytest.mark.parametrize("fmt, suffix", [("turtle", ".ttl"), ("nt", ".nt"), ("xml", ".rdf"), ("json-ld", ".jsonld")])
def test_mangled_files_load_or_raise_kgalign_errors(tmp_path, fmt, suffix):
    """Random byte damage never lets a bare library exception out."""
    from kgalign.errors import KgalignError

    g, _ = _random_graph(3)
    base = g.serialize(format=fmt, encoding="utf-8")
    rng = random.Random(fmt)
    f = tmp_path / ("m" + suffix)
    for _ in range(25):
        b = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(b))
            op = rng.random()
            if op < 0.4:
                b[pos] = rng.choice(b'<>"\\.;,@^_:# \n{}[]\xff\xc3az09')
            elif op < 0.7:
                del b[pos : pos + rng.randint(1, 10)]
            else:
                b[pos:pos] = bytes([rng.choice(b'<>"\\.;,@^_:# \n{}[]')])
        f.write_bytes(bytes(b))
        try:
            load_kg(f)
        except KgalignError as exc:
            assert str(exc).startswith("m" + suffix)


def test_invalid_iris_are_an_error_naming_the_line(tmp_path, caplog):
    import logging

    f = tmp_path / "w.nt"
    f.write_text(
        "<http://a.ex/x> <http://a.ex/p> <http://a.ex/y> .\n"
        + "".join(f'<http://a.ex/bad{{iri}}{k}> <http://a.ex/p> "v" .\n' for k in range(5))
    )
    with caplog.at_level(logging.WARNING), pytest.raises(InputError) as err:
        load_kg(f)
    assert err.value.line == 2 and "w.nt:2:" in str(err.value) and "'{'" in str(err.value)
    assert not any("does not look like a valid URI" in r.getMessage() for r in caplog.records)


def test_spinner_path_gives_the_same_graph_and_errors(tmp_path, monkeypatch):
    import kgalign.io.rdf as rdf

    g, expected = _random_graph(2)
    f = tmp_path / "s.ttl"
    g.serialize(destination=str(f), format="turtle", encoding="utf-8")
    monkeypatch.setattr(rdf, "SPINNER_BYTES", 0)  # parse in a worker thread with a spinner
    assert _content(load_kg(f)) == expected
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://a.ex/> .\nex:a ex:b ex:c ex:d .\n")
    with pytest.raises(InputError) as err:
        load_kg(bad)
    assert err.value.line == 2


TRICKY_NT = r"""<http://a.ex/s> <http://a.ex/p> "esc \" \\ \n \t \u00E9 \U0001F600" .
<http://a.ex/B\u00EAte> <http://a.ex/p> <http://a.ex/o> .
_:b1 <http://a.ex/p> "x"@en-GB .
<http://a.ex/s> <http://a.ex/p> _:b1 .
  <http://a.ex/s>	<http://a.ex/p>   "1"^^<http://www.w3.org/2001/XMLSchema#integer>   .   # comment
# full comment
<http://a.ex/s> <http://a.ex/p> "dup" .
<http://a.ex/s> <http://a.ex/p> "dup" .
<http://a.ex/s> <http://a.ex/p> "" .
<http://a.ex/s> <http://www.w3.org/2000/01/rdf-schema#label> "Ünïcödé 北京"@ZH-hans .
"""


def test_fast_ntriples_reader_agrees_with_rdflib(tmp_path):
    from rdflib import Graph

    from kgalign.io.rdf import rdflib_triples, read_ntriples

    g = Graph(store="SimpleMemory")
    g.parse(data=TRICKY_NT, format="nt")
    ours = read_ntriples(TRICKY_NT, "t.nt")

    def norm(ts):
        return [(a, b, c, None if d is None else (d[0], (d[1] or "").lower())) for a, b, c, d in ts]

    theirs = norm(rdflib_triples(g))
    assert len(ours) == len(theirs) == len(set(theirs))  # duplicates dropped
    assert set(norm(ours)) == set(theirs)
    assert ("http://a.ex/Bête", "http://a.ex/p", "http://a.ex/o", None) in ours
    f = tmp_path / "t.nt"
    f.write_text(TRICKY_NT, encoding="utf-8")
    kg = load_kg(f)
    assert kg.label(kg.index["http://a.ex/s"], "zh") == "Ünïcödé 北京"
    assert ('esc " \\ \n \t é \U0001f600') in {v for _, _, v, _ in kg.attributes}
    # the grammar does not require blanks between terms (rdflib's parser does)
    assert read_ntriples("<http://a.ex/s><http://a.ex/p><http://a.ex/o>.\n", "t.nt") == [
        ("http://a.ex/s", "http://a.ex/p", "http://a.ex/o", None)
    ]
