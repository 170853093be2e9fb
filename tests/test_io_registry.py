"""The format registry (kgalign.io.registry): lazy entries, names/aliases/suffixes, plug-ins."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from kgalign.errors import InputError
from kgalign.io import registry

REPO = Path(__file__).resolve().parents[1]

# The format tables of kgalign before the registry (commit 27bf4b1: kgalign/io/__init__.py
# _ALIASES/_SUFFIXES, readers.READ_FORMATS + read_alignment's "rdf" alias, writers.FORMATS/
# SUFFIX_FORMATS + ".sssom.tsv"), copied as they were: every one must still resolve the same.
OLD_GRAPH_ALIASES = {
    "ttl": "turtle",
    "turtle": "turtle",
    "nt": "nt",
    "ntriples": "nt",
    "n-triples": "nt",
    "xml": "xml",
    "rdf": "xml",
    "rdfxml": "xml",
    "rdf/xml": "xml",
    "rdf-xml": "xml",
    "owl": "xml",
    "json-ld": "json-ld",
    "jsonld": "json-ld",
    "json": "json-ld",
    "n3": "n3",
    "dbp15k": "dbp15k",
    "openea": "openea",
}
OLD_GRAPH_SUFFIXES = {
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".nt": "nt",
    ".ntriples": "nt",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".n3": "n3",
}
OLD_READ_FORMATS = ("tsv", "sssom", "dbp15k", "oaei", "json", "turtle", "nt")
OLD_WRITER_SUFFIXES = {
    ".tsv": "tsv",
    ".txt": "tsv",
    ".json": "json",
    ".ttl": "turtle",
    ".nt": "nt",
    ".rdf": "oaei",
    ".xml": "oaei",
    ".sssom.tsv": "sssom",
}
OLD_WRITE_FORMATS = ("tsv", "json", "sssom", "turtle", "nt", "oaei")


# ------------------------------------------------------------------------------ built-ins
@pytest.mark.parametrize("kind", list(registry.KINDS))
def test_every_entry_imports_and_every_suffix_and_alias_resolves(kind):
    entries = registry.entries(kind)
    assert entries, kind
    for entry in entries:
        assert callable(entry.load()), entry
        if entry.pair is not None:
            assert kind == "graph" and callable(entry.load("pair")), entry
        assert registry.get(kind, entry.name) is entry
        assert registry.get(kind, entry.name.upper()) is entry
        for alias in entry.aliases:
            assert registry.get(kind, alias) is entry, alias
        for suffix in entry.suffixes:
            assert registry.for_path(kind, f"some/dir/file{suffix}") is entry, suffix
            assert registry.for_path(kind, f"FILE{suffix.upper()}") is entry, suffix
    owners = [s for e in entries for s in e.suffixes]
    assert len(owners) == len(set(owners)), f"a {kind} suffix has two owners"


def test_old_names_aliases_and_suffixes_resolve_as_before():
    from kgalign.io.writers import output_format

    for alias, name in OLD_GRAPH_ALIASES.items():
        assert registry.get("graph", alias).name == name, alias
    for suffix, name in OLD_GRAPH_SUFFIXES.items():
        assert registry.for_path("graph", "g" + suffix).name == name, suffix
    for name in (*OLD_READ_FORMATS, "xml"):
        assert registry.get("reader", name).name == name
    assert registry.get("reader", "rdf").name == "xml"
    for name in OLD_WRITE_FORMATS:
        assert output_format("x.unknown", name) == name
    for suffix, name in OLD_WRITER_SUFFIXES.items():
        assert output_format("links" + suffix) == name, suffix
    assert set(OLD_GRAPH_ALIASES.values()) == set(registry.names("graph"))
    assert set(OLD_WRITE_FORMATS) == set(registry.names("writer"))


def test_unknown_names_list_the_known_ones():
    with pytest.raises(InputError) as err:
        registry.get("writer", "csv")
    for name in registry.names("writer"):
        assert name in str(err.value)
    with pytest.raises(InputError, match=r"\.sssom\.tsv"):
        registry.for_path("writer", "links.xyz", required=True)
    assert registry.for_path("writer", "links.xyz") is None
    assert registry.for_path("writer", ".tsv") is None  # a dot-file has no suffix
    with pytest.raises(ValueError, match="kind"):
        registry.names("parser")


def test_longest_suffix_wins():
    assert registry.for_path("writer", "a.sssom.tsv").name == "sssom"
    assert registry.for_path("writer", "a.tsv").name == "tsv"
    assert registry.for_path("reader", "a.sssom.tsv").name == "sssom"


def test_registration_refuses_taken_names_and_suffixes_and_bad_targets():
    with pytest.raises(ValueError, match="tsv"):
        registry.register("writer", "tab", "x:y", suffixes=(".tsv",))
    with pytest.raises(ValueError, match="turtle"):
        registry.register("graph", "ttl2", "x:y", aliases=("ttl",))
    with pytest.raises(ValueError, match="module:attribute"):
        registry.register("writer", "toy", "no_colon")
    with pytest.raises(ValueError, match="dot"):
        registry.register("writer", "toy", "x:y", suffixes=("toy",))
    assert "toy" not in registry.names("writer") and "tab" not in registry.names("writer")


def test_listing_formats_and_the_cli_import_no_format_module():
    # lazy like rdflib's plugin registry: names and click choices need no parser or writer module
    code = (
        "import sys, kgalign.io, kgalign.cli.align, kgalign.cli.evaluate, kgalign.io.oaei\n"
        "from kgalign.io import registry\n"
        "assert registry.names('graph') and registry.names('reader') and registry.names('writer')\n"
        "heavy = [m for m in ('rdflib', 'numpy', 'kgalign.io.rdf', 'kgalign.io.readers', 'kgalign.io.writers',"
        " 'kgalign.matching', 'kgalign.aligner') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_io_imports_only_base_modules():
    allowed = {
        "kgalign",
        "kgalign.errors",
        "kgalign.kg",
        "kgalign.labels",
        "kgalign._version",
        "kgalign.config",
    }  # config: the typed configuration and shared value validation
    bad = []
    for path in sorted((REPO / "kgalign" / "io").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                mods = [node.module]
            for m in mods:
                if m.startswith("kgalign") and m not in allowed and not m.startswith("kgalign.io"):
                    bad.append(f"{path.name}:{node.lineno} imports {m}")
    assert not bad, bad


def test_cli_help_lists_the_registered_formats(capsys):
    from kgalign.cli import main

    assert main(["align", "--help"]) == 0
    out = capsys.readouterr().out
    for name in (*registry.names("writer"), *registry.names("graph")):
        assert name in out, name
    assert main(["evaluate", "--help"]) == 0
    out = capsys.readouterr().out
    for name in registry.names("reader"):
        assert name in out, name


# ------------------------------------------------------------------------------ plug-ins
def toy_write(path, rows, *, force=False, predicate=None):
    """A toy writer: one JSON object per line, ``{"s", "o", "c"}``."""
    from kgalign.io.atomic import atomic_write
    from kgalign.io.writers import as_rows

    with atomic_write(path, force=force) as fh:
        for r in as_rows(rows, predicate):
            fh.write(json.dumps({"s": r.source, "o": r.target, "c": r.score}) + "\n")


def toy_read(path, fmt, encoding):
    """The toy format back as an Alignment."""
    from kgalign.io.readers import Alignment

    items = [json.loads(line) for line in Path(path).read_text(encoding=encoding).splitlines() if line.strip()]
    return Alignment(pairs=[(d["s"], d["o"]) for d in items], scores=np.array([d["c"] for d in items]))


@pytest.fixture
def toy_format():
    registry.register("writer", "toy", f"{__name__}:toy_write", suffixes=(".toy",), description="test writer")
    registry.register("reader", "toy", f"{__name__}:toy_read", aliases=("toyfmt",), suffixes=(".toy",))
    yield
    registry.unregister("writer", "toy")
    registry.unregister("reader", "toy")


class _KG:
    def __init__(self, entities):
        self.entities = entities

    def label(self, i, lang=None):
        return f"label of {self.entities[i]}"


def test_a_registered_writer_and_reader_are_used_by_suffix(tmp_path, toy_format):
    from kgalign.io.readers import detect_format, read_alignment
    from kgalign.io.writers import output_format, write_alignment

    result = SimpleNamespace(
        kg1=_KG(["http://a.ex/1", "http://a.ex/2", "http://a.ex/3"]),
        kg2=_KG(["http://b.ex/x", "http://b.ex/y", "http://b.ex/z"]),
        rows=np.array([0, 2]),
        cols=np.array([1, 0]),
        scores=np.array([0.75, 0.5]),
        config={},
    )
    out = tmp_path / "links.toy"
    assert output_format(out) == "toy"
    assert write_alignment(result, out) == "toy"
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == [
        {"s": "http://a.ex/1", "o": "http://b.ex/y", "c": 0.75},
        {"s": "http://a.ex/3", "o": "http://b.ex/x", "c": 0.5},
    ]
    assert detect_format(out) == "toy"
    al = read_alignment(out)
    assert al.format == "toy"
    assert al.pairs == [("http://a.ex/1", "http://b.ex/y"), ("http://a.ex/3", "http://b.ex/x")]
    assert al.scores.tolist() == [0.75, 0.5]
    renamed = tmp_path / "links.dat"
    renamed.write_text(out.read_text())
    assert read_alignment(renamed, format="toyfmt").pairs == al.pairs
    with pytest.raises(Exception, match="exists"):
        write_alignment(result, out)  # atomic_write's no-overwrite rule holds for plug-ins


CALLS = []


def toy_load(path, fmt, encoding):
    """A toy graph loader: N-Triples under another suffix, recording its calls."""
    from kgalign.io.rdf import load_rdf

    CALLS.append((Path(path).name, fmt))
    return load_rdf(path, "nt", encoding)


def test_a_registered_graph_format_is_used_by_load_kg(tmp_path):
    from kgalign.io import detect_format, load_kg, load_pair

    text = (
        '<http://a.ex/x> <http://www.w3.org/2000/01/rdf-schema#label> "X"@en .\n'
        "<http://a.ex/y> <http://a.ex/p> <http://a.ex/x> .\n"
    )
    (tmp_path / "g.nt").write_text(text)
    (tmp_path / "g.triples").write_text(text)
    registry.register("graph", "toy-nt", f"{__name__}:toy_load", suffixes=(".triples",))
    CALLS.clear()
    try:
        assert detect_format(tmp_path / "g.triples") == "toy-nt"
        kg = load_kg(tmp_path / "g.triples")
        assert CALLS == [("g.triples", "toy-nt")]
        with pytest.raises(InputError, match="holds one graph"):
            load_pair(tmp_path, format="toy-nt")
    finally:
        registry.unregister("graph", "toy-nt")
    ref = load_kg(tmp_path / "g.nt")
    assert kg.entities == ref.entities and kg.n_entities == 2
    with pytest.raises(InputError, match="--format"):
        load_kg(tmp_path / "g.triples")  # unregistered again


# ------------------------------------------------------------------------------ rows
def test_a_per_row_predicate_reaches_rdf_and_sssom(tmp_path):
    import rdflib

    from kgalign.io.writers import OWL_SAME_AS, Row, write_sssom, write_turtle

    eq_class = "http://www.w3.org/2002/07/owl#equivalentClass"
    rows = [
        Row("http://a.ex/C", "http://b.ex/K", 0.9, "C", "K", eq_class),
        ("http://a.ex/i", "http://b.ex/j", 0.8, "i", "j"),
    ]  # a plain tuple takes the default
    write_turtle(tmp_path / "a.ttl", rows)
    g = rdflib.Graph().parse(tmp_path / "a.ttl", format="turtle")
    assert {(str(s), str(p), str(o)) for s, p, o in g} == {
        ("http://a.ex/C", eq_class, "http://b.ex/K"),
        ("http://a.ex/i", OWL_SAME_AS, "http://b.ex/j"),
    }
    write_sssom(tmp_path / "a.sssom.tsv", rows)
    body = [ln.split("\t") for ln in (tmp_path / "a.sssom.tsv").read_text().splitlines() if not ln.startswith("#")]
    col = body[0].index("predicate_id")
    assert [r[col] for r in body[1:]] == ["owl:equivalentClass", "owl:sameAs"]


def test_as_int():
    from kgalign.config import as_int

    assert as_int(3, "k") == 3 and as_int(3.0, "k") == 3 and as_int(np.int64(4), "k") == 4
    assert as_int(10**30, "k") == 10**30
    for bad in (True, 2.5, float("nan"), float("inf"), "3", None):
        with pytest.raises(InputError, match="k must be an integer"):
            as_int(bad, "k")
    with pytest.raises(InputError, match=">= 1"):
        as_int(0, "k", minimum=1)
