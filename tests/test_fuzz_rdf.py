"""Hostile RDF through every loader and every writer (issue 14).

Seeded generator of hostile inputs: IRIs with every character RFC 3987 forbids (raw and as
``\\u`` escapes), non-ASCII and percent escapes, literals with control characters and lone
surrogate escapes, huge literals, deeply nested blank nodes, cyclic RDF lists, in N-Triples,
Turtle, RDF/XML, JSON-LD, DBP15K and OpenEA layouts. Each input either

* loads, aligns, and every output format is written and read back by its standard reader
  (rdflib for Turtle / N-Triples / the OAEI RDF/XML, sssom-py for SSSOM when installed, the
  csv and json modules for TSV / JSON, kgalign's own readers for all), with no temporary file
  left; or
* raises a :class:`kgalign.errors.KgalignError` whose message names the file (and the line,
  for line-based formats), with no output written.

Anything else (a bare library exception, a partial file) fails the test. ``KGALIGN_FUZZ_N``
sets the number of inputs (default 48); benchmarks/README.md reports a longer run.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
from collections import Counter
from pathlib import Path

from conftest import HashingEncoder

N = int(os.environ.get("KGALIGN_FUZZ_N", "48"))
FORBIDDEN = [chr(c) for c in range(0x00, 0x21)] + list('<>"{}|\\^`') + [chr(0x7F), chr(0x85), chr(0x9F)]
FRIENDLY = list("abcXYZ019_-.~()!$&'*+,;=:@/#?") + ["é", "北京", "ß", "Ω", "%C3%A9", "%3F", "%E9", "%25"]
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"


class Hostile(random.Random):
    """A seeded generator; half of the inputs (``evil``) also get what must be refused."""

    def __init__(self, seed: int):
        super().__init__(seed)
        self.evil = self.random() < 0.5


def _local(rng: random.Random) -> str:
    parts = [rng.choice(FRIENDLY) for _ in range(rng.randint(1, 6))]
    if getattr(rng, "evil", True) and rng.random() < 0.35:
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(FORBIDDEN))
    return "".join(parts)


def _nt_escape_iri(iri: str, rng: random.Random) -> str:
    """Write forbidden characters raw or as \\u escapes (both must be rejected)."""
    out = []
    for ch in iri:
        if ch in FORBIDDEN and rng.random() < 0.5:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _literal(rng: random.Random) -> str:
    """N-Triples / Turtle string body (escaped)."""
    kind = rng.random()
    if kind < 0.1:
        return "y" * rng.choice([100_000, 1_000_000])  # huge
    chars = []
    for _ in range(rng.randint(0, 12)):
        r = rng.random()
        if r < 0.15:
            chars.append(f"\\u{rng.randint(0, 0x1F):04X}")  # control character
        elif r < 0.2 and getattr(rng, "evil", True):
            chars.append(f"\\u{rng.randint(0xD800, 0xDFFF):04X}")  # lone surrogate
        elif r < 0.25:
            chars.append(rng.choice(['\\"', "\\\\", "\\n", "\\t", "\\r"]))
        else:
            chars.append(rng.choice(["Paris", "Lyon", " ", "é", "北", "x", "0", "\u2028"]))
    return "".join(chars)


def _triples(rng: random.Random, ns: str) -> list[tuple[str, str, str | None, str | None]]:
    n = rng.randint(1, 6)
    ents = [ns + _local(rng) for _ in range(n)]
    out = []
    for e in ents:
        out.append((e, LABEL, None, _literal(rng)))
        if rng.random() < 0.6:
            out.append((e, ns + "rel", rng.choice(ents), None))
    return out


def write_nt(path: Path, rng, ns):
    lines = []
    for s, p, o, lit in _triples(rng, ns):
        obj = f"<{_nt_escape_iri(o, rng)}>" if o else f'"{lit}"'
        lines.append(f"<{_nt_escape_iri(s, rng)}> <{p}> {obj} .")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")


def write_ttl(path: Path, rng, ns):
    body = [f"@prefix ex: <{ns}> .", "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> ."]
    for s, p, o, lit in _triples(rng, ns):
        obj = f"<{_nt_escape_iri(o, rng)}>" if o else f'"{lit}"'
        body.append(f"<{_nt_escape_iri(s, rng)}> <{p}> {obj} .")
    r = rng.random()
    if r < 0.25:  # deep nesting
        depth = rng.choice([50, 400, 3000])
        body.append("ex:deep ex:p " + "[ ex:p " * depth + '"leaf"' + " ]" * depth + " .")
    elif r < 0.45:  # cyclic list
        body.append("ex:c ex:list _:l1 . _:l1 rdf:first ex:a ; rdf:rest _:l2 . _:l2 rdf:first ex:b ; rdf:rest _:l1 .")
        body.append('ex:a <http://www.w3.org/2000/01/rdf-schema#label> "A" .')
    elif r < 0.55:
        body.append("ex:col ex:p ( ex:a ( ex:b ( ex:c ) ) ) .")
    path.write_text("\n".join(body) + "\n", encoding="utf-8", errors="surrogatepass")


def _xml_attr(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def write_xml(path: Path, rng, ns):
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#" xmlns:ex="http://a.ex/">',
    ]
    for s, _p, o, lit in _triples(rng, ns):
        if o:
            out.append(
                f'<rdf:Description rdf:about="{_xml_attr(s)}"><ex:rel rdf:resource="{_xml_attr(o)}"/></rdf:Description>'
            )
        else:
            text = json.loads('"' + lit.replace("\u2028", " ") + '"') if len(lit) < 1000 else lit
            text = text.replace("&", "&amp;").replace("<", "&lt;")
            out.append(f'<rdf:Description rdf:about="{_xml_attr(s)}"><rdfs:label>{text}</rdfs:label></rdf:Description>')
    out.append("</rdf:RDF>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8", errors="surrogatepass")


def write_jsonld(path: Path, rng, ns):
    nodes = []
    for s, _p, o, lit in _triples(rng, ns):
        if o:
            nodes.append({"@id": s, ns + "rel": {"@id": o}})
        else:
            text = json.loads('"' + lit.replace("\u2028", " ") + '"') if len(lit) < 1000 else lit
            nodes.append({"@id": s, LABEL: text})
    path.write_text(json.dumps(nodes, ensure_ascii=True), encoding="utf-8")


def write_dbp15k(path: Path, rng, ns):
    path.mkdir()
    for k in (1, 2):
        ents = list(dict.fromkeys(ns.replace("a.ex", f"k{k}.ex") + _local(rng) for _ in range(rng.randint(1, 5))))
        (path / f"ent_ids_{k}").write_text("".join(f"{i}\t{e}\n" for i, e in enumerate(ents)), encoding="utf-8")
        (path / f"triples_{k}").write_text("0\t0\t0\n" if rng.random() < 0.5 else "", encoding="utf-8")
        (path / f"rel_ids_{k}").write_text(f"0\t{ns}rel\n", encoding="utf-8")


def write_openea(path: Path, rng, ns):
    path.mkdir()
    for k in (1, 2):
        base = ns.replace("a.ex", f"k{k}.ex")
        rows = [f"{base}{_local(rng)}\t{base}rel\t{base}{_local(rng)}" for _ in range(rng.randint(1, 4))]
        (path / f"rel_triples_{k}").write_text("\n".join(rows) + "\n", encoding="utf-8")
        attrs = [f'{base}{_local(rng)}\t{LABEL}\t"{_literal(rng)[:200]}"@en' for _ in range(rng.randint(0, 3))]
        (path / f"attr_triples_{k}").write_text("\n".join(attrs) + ("\n" if attrs else ""), encoding="utf-8")


KINDS = [
    ("nt", write_nt, ".nt", True),
    ("turtle", write_ttl, ".ttl", True),
    ("xml", write_xml, ".rdf", False),
    ("json-ld", write_jsonld, ".jsonld", False),
    ("dbp15k", write_dbp15k, "", True),
    ("openea", write_openea, "", True),
]
OUTPUTS = ["tsv", "json", "sssom", "turtle", "nt", "oaei"]


def _read_back(fmt: str, path: Path, n_pairs: int, sssom_parse) -> None:
    """Every output through its standard reader, then kgalign's own."""
    from rdflib import Graph

    from kgalign.io.readers import read_alignment

    if fmt in ("turtle", "nt"):
        g = Graph().parse(path, format=fmt)
        assert len(g) == n_pairs
    elif fmt == "oaei":
        Graph().parse(path, format="xml")
    elif fmt == "tsv":
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8")), delimiter="\t"))
        assert len(rows) == n_pairs + 1 and all(len(r) == len(rows[0]) for r in rows)
        assert len(path.read_text(encoding="utf-8").splitlines()) == n_pairs + 1
    elif fmt == "json":
        assert len(json.loads(path.read_text(encoding="utf-8"))["pairs"]) == n_pairs
    elif fmt == "sssom" and sssom_parse is not None:
        assert len(sssom_parse(path).df) == n_pairs
    assert len(read_alignment(path, format={"turtle": "turtle", "nt": "nt"}.get(fmt, fmt)).pairs) == n_pairs


def run_one(seed: int, tmp: Path, sssom_parse=None) -> str:
    """One hostile input through its loader and, when it loads, every writer. Returns the outcome."""
    import kgalign
    from kgalign.errors import KgalignError
    from kgalign.io import load_kg, load_pair
    from kgalign.io.atomic import commit_together
    from kgalign.io.writers import write_alignment, write_candidates

    rng = Hostile(seed)
    name, writer, suffix, line_based = KINDS[seed % len(KINDS)]
    src = tmp / f"in{seed}{suffix}"
    writer(src, rng, "http://a.ex/")
    outdir = tmp / f"out{seed}"
    outdir.mkdir()
    try:
        if name in ("dbp15k", "openea"):
            pair = load_pair(src)
            kg1, kg2 = pair.kg1, pair.kg2
        else:
            kg1 = load_kg(src)
            kg2 = kg1
    except KgalignError as exc:
        msg = str(exc)
        assert src.name in msg or any(p.name in msg for p in src.glob("*")) if src.is_dir() else src.name in msg, msg
        line = getattr(exc, "line", None)
        if line_based and type(exc).__name__ == "InputError" and "expected" not in msg:
            assert line is not None, msg
        assert not list(outdir.iterdir())
        return f"{name}: error (line named)" if line is not None else f"{name}: error (file named)"
    res = kgalign.align(kg1, kg2, encoder=HashingEncoder(dim=32), selftrain={"rounds": 1})
    with commit_together():
        for fmt in OUTPUTS:
            write_alignment(res, outdir / f"o.{fmt}", fmt=fmt)
        write_candidates(res, outdir / "cands.tsv", 3)
        res.save(outdir / "run")
    assert not [p for p in outdir.iterdir() if p.name.startswith(".")]
    for fmt in OUTPUTS:
        _read_back(fmt, outdir / f"o.{fmt}", len(res), sssom_parse)
    _read_back("sssom", outdir / "run" / "alignment.sssom.tsv", len(res), sssom_parse)
    cands = list(csv.reader(io.StringIO((outdir / "cands.tsv").read_text(encoding="utf-8")), delimiter="\t"))
    assert all(len(r) == 6 for r in cands)
    return f"{name}: aligned, {len(OUTPUTS) + 2} outputs read back"


def fuzz(n: int, tmp: Path, sssom_parse=None) -> Counter:
    return Counter(run_one(seed, tmp, sssom_parse) for seed in range(n))


def test_hostile_rdf_through_every_loader_and_writer(tmp_path, caplog):
    import logging

    try:
        from sssom.parsers import parse_sssom_table
    except ImportError:  # the SSSOM check is skipped; every other reader still runs
        parse_sssom_table = None
    caplog.set_level(logging.ERROR)
    outcomes = fuzz(N, tmp_path, parse_sssom_table)
    print(dict(sorted(outcomes.items())))
    # both outcomes occur for the line-based formats: the generator is hostile, not hopeless
    assert any("aligned" in k for k in outcomes) and any("error" in k for k in outcomes)
    assert sum(outcomes.values()) == N


def test_generator_produces_every_hostile_kind(tmp_path):
    """The generator reaches forbidden characters, surrogates, controls, huge literals, nesting, cycles."""
    texts = []
    for seed in range(60):
        rng = Hostile(seed)
        f = tmp_path / f"g{seed}.ttl"
        write_ttl(f, rng, "http://a.ex/")
        texts.append(f.read_text(encoding="utf-8", errors="surrogatepass"))
    blob = "\n".join(texts)
    assert "\\uD8" in blob or "\\uDB" in blob or "\\uDF" in blob
    assert "\\u000" in blob and "[ ex:p " * 50 in blob and "rdf:rest _:l1" in blob
    assert any(len(t) > 100_000 for t in texts)
    forbidden = re.compile(r'<[^>\n]*(?:[{}|^`"\x00-\x1f]|\\u00(?:7[BDCbdc]|5[EeCc]|60|22|[01][0-9A-Fa-f]))')
    assert sum(bool(forbidden.search(t)) for t in texts) > 10
