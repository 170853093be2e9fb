"""DBP15K and OpenEA directory loaders: sizes, id mapping, translations, permutation, errors."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from kgalign.errors import EmptyGraphError, InputError
from kgalign.io import load_kg, load_pair
from kgalign.io.openea import parse_value
from kgalign.labels import local_name

SHARED = Path(__file__).resolve().parents[2] / "shared"
DBP = SHARED / "datasets" / "dbp15k"
CASES = SHARED / "cases"
needs_dbp = pytest.mark.skipif(not DBP.is_dir(), reason="../shared/datasets/dbp15k is absent")
needs_cases = pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases is absent")


def _rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


# ------------------------------------------------------------------ the real DBP15K
@pytest.fixture(scope="module")
def zh_en():
    return load_pair(DBP / "zh_en")


@needs_dbp
def test_zh_en_documented_sizes_and_id_mapping(zh_en):
    d = DBP / "zh_en"
    p = zh_en
    assert (p.kg1.n_entities, p.kg2.n_entities) == (19388, 19572)
    assert p.links.shape == (15000, 2) and p.links.dtype == np.int64
    assert (p.lang1, p.lang2) == ("zh", "en")
    # independent reading of the raw files
    ent1 = {i: iri for i, iri in _rows(d / "ent_ids_1")}
    ent2 = {i: iri for i, iri in _rows(d / "ent_ids_2")}
    assert dict(zip(p.kg1.ids, p.kg1.entities)) == ent1
    assert dict(zip(p.kg2.ids, p.kg2.entities)) == ent2
    gold = {(ent1[a], ent2[b]) for a, b in _rows(d / "ref_ent_ids")}
    assert set(p.link_iris()) == gold
    rel1 = {i: iri for i, iri in _rows(d / "rel_ids_1")}
    raw = {(ent1[h], rel1[r], ent1[t]) for h, r, t in _rows(d / "triples_1")}
    kg = p.kg1
    got = {(kg.entities[h], kg.relations[r], kg.entities[t]) for h, r, t in kg.triples.tolist()}
    assert got == raw and len(kg.triples) == len(_rows(d / "triples_1"))
    assert all(r.startswith("http://zh.dbpedia.org/property/") for r in kg.relations)


@needs_dbp
def test_zh_en_translations_are_keyed_by_display_name(zh_en):
    p = zh_en
    raw = json.loads((DBP / "zh_en" / "translated_names.json").read_text(encoding="utf-8"))
    by_id = {str(i): " ".join(toks) for i, toks in raw}
    # what the pipeline feeds the translator is kg.label(i): each kg1 name finds its translation
    names = p.kg1.names()
    hits = sum(p.translations.get(n) == by_id[ident] for n, ident in zip(names, p.kg1.ids))
    clashes = {n for n in names if names.count(n) > 1} if len(set(names)) < len(names) else set()
    assert hits >= len(names) - len(clashes)
    assert all(n in p.translations for n in names)
    # the key is the local name after /resource/, percent-decoded, underscores as spaces
    i = p.kg1.ids.index("2")
    assert p.kg1.entities[i] == "http://zh.dbpedia.org/resource/民族陣線_(法國)"
    assert names[i] == "民族陣線 (法國)" and p.translations[names[i]] == "national front france"


@needs_dbp
@pytest.mark.parametrize("name, sizes", [("ja_en", (19814, 19780)), ("fr_en", (19661, 19993))])
def test_other_pairs_documented_sizes(name, sizes):
    p = load_pair(DBP / name)
    assert (p.kg1.n_entities, p.kg2.n_entities) == sizes
    assert len(p.links) == 15000 and (p.lang1, p.lang2) == tuple(name.split("_"))
    assert len(p.kg1.triples) == len(_rows(DBP / name / "triples_1"))


@needs_dbp
def test_one_side_from_its_ent_ids_file(zh_en):
    kg = load_kg(DBP / "zh_en" / "ent_ids_2")
    assert kg.entities == zh_en.kg2.entities and kg.ids == zh_en.kg2.ids
    assert np.array_equal(kg.triples, zh_en.kg2.triples) and kg.relations == zh_en.kg2.relations


# ------------------------------------------------------------------ invariants on a small copy
def _write_dbp(d: Path, seed: int, shuffle: bool) -> None:
    """A random DBP15K-format directory with sparse ids (lines shuffled when asked)."""
    rng = random.Random(seed)
    d.mkdir()
    ids1 = rng.sample(range(0, 500), 30)
    ids2 = rng.sample(range(600, 2000), 35)
    rid1 = rng.sample(range(0, 50), 4)
    rid2 = rng.sample(range(60, 120), 5)
    ent1 = [f"{i}\thttp://zh.dbpedia.org/resource/名{i}_x/y%3F" for i in ids1]
    ent2 = [f"{i}\thttp://dbpedia.org/resource/N{i}_(z)" for i in ids2]
    tr1 = [f"{rng.choice(ids1)}\t{rng.choice(rid1)}\t{rng.choice(ids1)}" for _ in range(60)]
    tr2 = [f"{rng.choice(ids2)}\t{rng.choice(rid2)}\t{rng.choice(ids2)}" for _ in range(70)]
    ref = [f"{a}\t{b}" for a, b in zip(rng.sample(ids1, 20), rng.sample(ids2, 20))]
    rel1 = [f"{r}\thttp://zh.dbpedia.org/property/p{r}" for r in rid1]
    rel2 = [f"{r}\thttp://dbpedia.org/property/q{r}" for r in rid2]
    names = [[i, ["t", str(i)]] for i in ids1 + ids2]
    for lines in (ent1, ent2, tr1, tr2, ref, rel1, rel2, names):
        if shuffle:
            rng.shuffle(lines)
    for fname, lines in [
        ("ent_ids_1", ent1),
        ("ent_ids_2", ent2),
        ("triples_1", tr1),
        ("triples_2", tr2),
        ("ref_ent_ids", ref),
        ("rel_ids_1", rel1),
        ("rel_ids_2", rel2),
    ]:
        (d / fname).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (d / "translated_names.json").write_text(json.dumps(names, ensure_ascii=False), encoding="utf-8")


def _as_iris(p):
    def kg_content(kg):
        return (
            set(zip(kg.ids, kg.entities)),
            sorted((kg.entities[h], kg.relations[r], kg.entities[t]) for h, r, t in kg.triples.tolist()),
        )

    return kg_content(p.kg1), kg_content(p.kg2), set(p.link_iris()), p.translations


@pytest.mark.parametrize("seed", range(3))
def test_dbp15k_line_order_does_not_matter(tmp_path, seed):
    _write_dbp(tmp_path / "a", seed, shuffle=False)
    _write_dbp(tmp_path / "b", seed, shuffle=True)
    a, b = load_pair(tmp_path / "a"), load_pair(tmp_path / "b")
    assert _as_iris(a) == _as_iris(b)
    # translations: display name -> joined tokens, for both sides
    for kg in (a.kg1, a.kg2):
        for i, ident in enumerate(kg.ids):
            assert a.translations[kg.label(i)] == f"t {ident}"
    assert a.lang1 is None  # directory name "a" names no languages


def test_dbp15k_without_rel_ids_names_relations_by_id(tmp_path):
    _write_dbp(tmp_path / "x", 7, shuffle=False)
    for f in ("rel_ids_1", "rel_ids_2", "translated_names.json", "ref_ent_ids"):
        (tmp_path / "x" / f).unlink()
    p = load_pair(tmp_path / "x")
    assert p.links is None and p.translations is None
    raw = {tuple(r) for r in _rows(tmp_path / "x" / "triples_1")}
    kg = p.kg1
    assert {(kg.ids[h], kg.relations[r], kg.ids[t]) for h, r, t in kg.triples.tolist()} == raw


def test_dbp15k_sup_and_ref_links_are_merged(tmp_path):
    _write_dbp(tmp_path / "x", 3, shuffle=False)
    d = tmp_path / "x"
    ref = _rows(d / "ref_ent_ids")
    (d / "sup_ent_ids").write_text("\n".join("\t".join(r) for r in ref[:5]) + "\n")
    (d / "ref_ent_ids").write_text("\n".join("\t".join(r) for r in ref[5:]) + "\n")
    p = load_pair(d)
    assert len(p.links) == len(ref)


@pytest.mark.parametrize(
    "fname, line_no, content, match",
    [
        ("triples_1", 3, "999999\t{r}\t{e}", "entity id 999999"),
        ("triples_1", 2, "{e}\t{r}", "3 tab-separated"),
        ("triples_1", 4, "{e}\tx\t{e}", "integer"),
        ("triples_2", 1, "{e2}\t424242\t{e2}", "relation id 424242"),
        ("ent_ids_1", 2, "abc\thttp://x", "not an integer"),
        ("ent_ids_2", 3, "{e2}\thttp://dup", "repeats line"),
        ("ref_ent_ids", 5, "{e2}\t{e}", "graph-1 entity id"),
    ],
)
def test_dbp15k_bad_lines_are_named(tmp_path, fname, line_no, content, match):
    _write_dbp(tmp_path / "x", 1, shuffle=False)
    d = tmp_path / "x"
    e = _rows(d / "ent_ids_1")[0][0]
    e2 = _rows(d / "ent_ids_2")[0][0]
    r = _rows(d / "rel_ids_1")[0][0]
    lines = (d / fname).read_text().split("\n")
    lines[line_no - 1] = content.format(e=e, e2=e2, r=r)
    (d / fname).write_text("\n".join(lines))
    with pytest.raises(InputError, match=match) as err:
        load_pair(d)
    assert err.value.line == line_no and str(err.value).startswith(f"{fname}:{line_no}: ")


def test_dbp15k_errors_for_missing_and_empty(tmp_path):
    with pytest.raises(InputError, match="neither a DBP15K pair"):
        load_pair(tmp_path)
    (tmp_path / "ent_ids_1").write_text("")
    (tmp_path / "ent_ids_2").write_text("1\thttp://a\n")
    with pytest.raises(EmptyGraphError, match="no entities found"):
        load_pair(tmp_path)
    with pytest.raises(InputError, match="not a directory|DBP15K or OpenEA"):
        load_pair(tmp_path / "ent_ids_2")


def test_dbp15k_latin1_ent_ids(tmp_path):
    _write_dbp(tmp_path / "x", 2, shuffle=False)
    d = tmp_path / "x"
    (d / "ent_ids_1").write_bytes("1\thttp://fr.dbpedia.org/resource/Meublé\n".encode("latin-1"))
    (d / "triples_1").write_text("1\t{}\t1\n".format(_rows(d / "rel_ids_1")[0][0]))
    (d / "ref_ent_ids").unlink()
    with pytest.raises(InputError, match="--encoding latin-1") as err:
        load_pair(d)
    assert err.value.line == 1
    p = load_pair(d, encoding="latin-1")
    assert p.kg1.label(0) == "Meublé"


# ------------------------------------------------------------------ OpenEA
def test_openea_values_languages_and_links(tmp_path):
    d = tmp_path / "EN_FR_15K_V1"
    d.mkdir()
    (d / "rel_triples_1").write_text("http://a.ex/e1\thttp://a.ex/near\thttp://a.ex/e2\n")
    (d / "rel_triples_2").write_text("http://b.ex/f1\thttp://b.ex/near\thttp://b.ex/f2\n")
    (d / "attr_triples_1").write_text(
        'http://a.ex/e1\thttp://www.w3.org/2000/01/rdf-schema#label\t"Paris"@EN\n'
        'http://a.ex/e1\thttp://a.ex/population\t"2148000"^^<http://www.w3.org/2001/XMLSchema#integer>\n'
        "http://a.ex/e4\thttp://a.ex/motto\tFluctuat nec mergitur\n"
        'http://a.ex/e2\thttp://a.ex/name\t"  "\n'
    )
    (d / "attr_triples_2").write_text('http://b.ex/f1\thttp://b.ex/nom\t"Paris"@fr\n')
    (d / "ent_links").write_text("http://a.ex/e1\thttp://b.ex/f1\nhttp://a.ex/e4\thttp://b.ex/f2\n")
    p = load_pair(d)
    assert (p.lang1, p.lang2) == ("en", "fr")
    assert p.kg1.entities == ["http://a.ex/e1", "http://a.ex/e2", "http://a.ex/e4"]
    assert p.kg1.label(0, "en") == "Paris" and p.kg1.labels[1] == []  # blank name is missing
    assert set(p.kg1.attributes) == {
        (0, "http://a.ex/population", "2148000", ""),
        (2, "http://a.ex/motto", "Fluctuat nec mergitur", ""),
    }
    assert p.kg2.attributes == [(0, "http://b.ex/nom", "Paris", "fr")]  # "nom" is no label predicate
    assert p.link_iris() == [("http://a.ex/e1", "http://b.ex/f1"), ("http://a.ex/e4", "http://b.ex/f2")]
    # swapped or unknown link columns are named
    (d / "ent_links").write_text("http://a.ex/e1\thttp://b.ex/f1\nhttp://b.ex/f2\thttp://a.ex/e2\n")
    with pytest.raises(InputError, match="swapped") as err:
        load_pair(d)
    assert err.value.line == 2
    (d / "ent_links").write_text("http://a.ex/zz\thttp://b.ex/f1\n")
    with pytest.raises(InputError, match="not in graph 1"):
        load_pair(d)
    (d / "rel_triples_2").write_text("http://b.ex/f1\thttp://b.ex/near\n")
    with pytest.raises(InputError) as err:
        load_pair(d)
    assert str(err.value).startswith("rel_triples_2:1: ")


def test_openea_value_parsing():
    assert parse_value('"Lyon"') == ("Lyon", "")
    assert parse_value('"Lyon"@FR-fr') == ("Lyon", "fr-fr")
    assert parse_value('"say \\"hi\\"\\u00e9"') == ('say "hi"é', "")
    assert parse_value('"1.83"^^<http://www.w3.org/2001/XMLSchema#double>') == ("1.83", "")
    assert parse_value("1956-07-09") == ("1956-07-09", "")
    assert parse_value('"unterminated') == ('"unterminated', "")


@needs_cases
def test_openea_case_matches_rdf_loader_semantics(tmp_path):
    """The same facts written as N-Triples give the same names as the OpenEA files."""
    p = load_pair(CASES / "openea_attr_only_entity")
    nt = tmp_path / "g.nt"
    nt.write_text(
        '<http://a.ex/e1> <http://a.ex/near> <http://a.ex/e2> .\n<http://a.ex/e3> <http://a.ex/name> "Lyon" .\n'
    )
    kg = load_kg(nt)
    assert dict(zip(kg.entities, kg.names())) == dict(zip(p.kg1.entities, p.kg1.names()))
    assert {local_name(e) for e in p.kg1.entities} == {"e1", "e2", "e3"}


def test_dbp15k_crlf_line_ends(tmp_path):
    _write_dbp(tmp_path / "a", 4, shuffle=False)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    for f in (tmp_path / "b").iterdir():
        if f.name != "translated_names.json":
            f.write_bytes(f.read_bytes().replace(b"\n", b"\r\n"))
    assert _as_iris(load_pair(tmp_path / "a")) == _as_iris(load_pair(tmp_path / "b"))
