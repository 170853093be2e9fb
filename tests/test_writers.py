"""Output formats: atomic writes, --force, and round trips through independent parsers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kgalign.errors import InputError, OutputExistsError
from kgalign.io.atomic import atomic_write
from kgalign.io.writers import (
    output_format,
    write_json,
    write_ntriples,
    write_sssom,
    write_tsv,
    write_turtle,
)

ROWS = [
    ("http://dbpedia.org/resource/Paris", "http://fr.dbpedia.org/resource/Paris", 0.93, "Paris", "Paris"),
    ("http://kg-en.example.org/silk/c0001", "http://kg-fr.example.org/soie/c0007", 0.5, "Silk\tthread", "Fil de soie"),
    ("http://zh.dbpedia.org/resource/北京", "http://dbpedia.org/resource/Beijing", 1.2, "北京", "Beijing"),
    ("http://a.ex/has space", "http://b.ex/x#y", -0.1, "odd", "odd"),
]


def test_atomic_write_refuses_existing_file_without_force(tmp_path):
    out = tmp_path / "links.tsv"
    out.write_text("precious\n")
    with pytest.raises(OutputExistsError):
        write_tsv(out, ROWS)
    assert out.read_text() == "precious\n"
    write_tsv(out, ROWS, force=True)
    assert out.read_text().startswith("source\ttarget")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "x.tsv"
    with pytest.raises(RuntimeError):
        with atomic_write(out) as fh:
            fh.write("partial")
            raise RuntimeError("boom")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name,fmt",
    [
        ("a.tsv", "tsv"),
        ("a.sssom.tsv", "sssom"),
        ("a.json", "json"),
        ("a.ttl", "turtle"),
        ("a.nt", "nt"),
        ("a.rdf", "oaei"),
    ],
)
def test_output_format_by_suffix(name, fmt):
    assert output_format(name) == fmt


def test_output_format_unknown_suffix():
    with pytest.raises(InputError, match="output format"):
        output_format("links.xyz")
    assert output_format("links.xyz", "json") == "json"


def test_tsv_rows_have_no_embedded_tabs(tmp_path):
    out = tmp_path / "a.tsv"
    write_tsv(out, ROWS)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(ROWS) + 1
    assert all(len(line.split("\t")) == 6 for line in lines)  # ... target_label, predicate


def test_json_round_trip(tmp_path):
    out = tmp_path / "a.json"
    write_json(out, ROWS)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [(p["source"], p["target"]) for p in data["pairs"]] == [(r[0], r[1]) for r in ROWS]


def _read_sssom(path: Path):
    meta_lines, body = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        (meta_lines if line.startswith("#") else body).append(line)
    meta = yaml.safe_load("\n".join(line[1:] for line in meta_lines))
    header = body[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in body[1:]]
    return meta, header, rows


def test_sssom_metadata_and_curies_expand_to_the_iris(tmp_path):
    from kgalign.io.iri import uri_to_iri

    out = tmp_path / "a.sssom.tsv"
    with pytest.raises(InputError, match="has space"):  # not an IRI (RFC 3987): named, nothing written
        write_sssom(out, ROWS)
    assert not out.exists()
    valid = [r for r in ROWS if " " not in r[0]]
    write_sssom(out, valid)
    meta, header, rows = _read_sssom(out)
    for key in ("curie_map", "mapping_set_id", "license"):
        assert key in meta
    for col in (
        "subject_id",
        "subject_label",
        "predicate_id",
        "object_id",
        "object_label",
        "mapping_justification",
        "confidence",
        "mapping_tool",
    ):
        assert col in header
    cmap = meta["curie_map"]

    def expand(curie):
        prefix, local = curie.split(":", 1)
        return cmap[prefix] + local

    assert all(expand(r["subject_id"]).isascii() and expand(r["object_id"]).isascii() for r in rows)  # URIs
    assert [(uri_to_iri(expand(r["subject_id"])), uri_to_iri(expand(r["object_id"]))) for r in rows] == [
        (r[0], r[1]) for r in valid
    ]
    assert {expand(r["predicate_id"]) for r in rows} == {"http://www.w3.org/2002/07/owl#sameAs"}
    assert {r["mapping_justification"] for r in rows} == {"semapv:SemanticSimilarityThresholdMatching"}
    conf = [float(r["confidence"]) for r in rows]
    assert all(0.0 <= c <= 1.0 for c in conf)


@pytest.mark.parametrize("writer,fmt", [(write_turtle, "turtle"), (write_ntriples, "nt")])
def test_rdf_outputs_parse_back(tmp_path, writer, fmt):
    from rdflib import Graph, URIRef
    from rdflib.namespace import OWL

    rows = [r for r in ROWS if " " not in r[0]]
    out = tmp_path / ("a.ttl" if fmt == "turtle" else "a.nt")
    writer(out, rows)
    g = Graph().parse(out, format=fmt)
    assert set(g) == {(URIRef(s), OWL.sameAs, URIRef(o)) for s, o, *_ in rows}
