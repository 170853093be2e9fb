"""The loading cases of ../shared/cases/README.md, each with exactly the behaviour written there.

The CLI side (exit status, ``--encoding``) is the CLI's; here the loader functions are checked,
plus a generalisation of each case (the whole kind of fault, not only the one file).
"""

from __future__ import annotations

import codecs
import math
import shutil
from pathlib import Path

import pytest

from kgalign.errors import EmptyGraphError, InputError, KgalignError
from kgalign.io import load_kg, load_pair

SHARED = Path(__file__).resolve().parents[2] / "shared"
CASES = SHARED / "cases"
pytestmark = pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases is absent")


def _all_names(kg):
    names = list(kg.names())
    for lang in kg.languages() + ["en", "fr", "xx"]:
        names += kg.names(lang)
    return names


def test_unicode_escape_iri():
    kg = load_kg(CASES / "unicode_escape_iri.ttl")
    target = [e for e in kg.entities if e.startswith("http://b.ex/")]
    assert target == ["http://b.ex/resource/Bête_(x)"]
    i = kg.index[target[0]]
    assert kg.label(i) == "Bête (x)"
    assert all("\\" not in n for n in _all_names(kg))
    assert all("\\" not in e for e in kg.entities)


def test_bom_nt_one_triple():
    kg = load_kg(CASES / "bom.nt")
    assert kg.entities == ["http://a.ex/e1"]
    # the one triple has a literal object: it is an attribute of e1
    assert kg.attributes == [(0, "http://a.ex/p", "v", "")]
    assert not any("\ufeff" in e for e in kg.entities)


@pytest.mark.parametrize(
    "suffix, body",
    [
        (".nt", '<http://a.ex/e1> <http://www.w3.org/2000/01/rdf-schema#label> "One"@en .\n'),
        (".ttl", '@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n<http://a.ex/e1> rdfs:label "One"@en .\n'),
        (
            ".rdf",
            '<?xml version="1.0" encoding="UTF-8"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            ' xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">\n<rdf:Description rdf:about="http://a.ex/e1">'
            '<rdfs:label xml:lang="en">One</rdfs:label></rdf:Description>\n</rdf:RDF>\n',
        ),
        (
            ".jsonld",
            '{"@id": "http://a.ex/e1", "http://www.w3.org/2000/01/rdf-schema#label": {"@value": "One", "@language": "en"}}',  # noqa: E501
        ),
    ],
)
def test_bom_stripped_for_every_text_format(tmp_path, suffix, body):
    plain, bom = tmp_path / ("plain" + suffix), tmp_path / ("bom" + suffix)
    plain.write_bytes(body.encode("utf-8"))
    bom.write_bytes(codecs.BOM_UTF8 + body.encode("utf-8"))
    a, b = load_kg(plain), load_kg(bom)
    assert a.entities == b.entities == ["http://a.ex/e1"]
    assert a.labels == b.labels == [[("en", "One", 1)]]


def test_bom_stripped_for_dbp15k_and_openea(tmp_path):
    d = tmp_path / "zh_en"
    shutil.copytree(CASES / "dbp15k_sparse_ids", d)
    for name in ("ent_ids_1", "triples_1", "ref_ent_ids"):
        (d / name).write_bytes(codecs.BOM_UTF8 + (d / name).read_bytes())
    pair = load_pair(d)
    assert pair.kg1.ids == ["5", "9"]
    o = tmp_path / "oe"
    shutil.copytree(CASES / "openea_attr_only_entity", o)
    (o / "rel_triples_1").write_bytes(codecs.BOM_UTF8 + (o / "rel_triples_1").read_bytes())
    assert load_pair(o).kg1.entities[0] == "http://a.ex/e1"


def test_nt_missing_dot_names_line_2():
    with pytest.raises(InputError) as err:
        load_kg(CASES / "nt_missing_dot.nt")
    assert str(err.value).startswith("nt_missing_dot.nt:2: ")
    assert err.value.line == 2


@pytest.mark.parametrize("bad_line", [1, 3, 7, 12])
def test_nt_error_line_anywhere(tmp_path, bad_line):
    lines = [f'<http://a.ex/e{k}> <http://a.ex/p> "v{k}" .' for k in range(1, 13)]
    lines[bad_line - 1] = lines[bad_line - 1][:-2]  # drop " ."
    f = tmp_path / "x.nt"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_kg(f)
    assert err.value.line == bad_line
    assert str(err.value).startswith(f"x.nt:{bad_line}: ")


def test_latin1_error_and_option():
    with pytest.raises(InputError) as err:
        load_kg(CASES / "latin1.nt")
    msg = str(err.value)
    assert err.value.line == 1 and msg.startswith("latin1.nt:1: ")
    assert "0xe9" in msg  # the bad byte
    assert "--encoding latin-1" in msg
    kg = load_kg(CASES / "latin1.nt", encoding="latin-1")
    assert kg.label(0) == "Meublé"


def test_bad_byte_line_number_later_in_file(tmp_path):
    text = "".join(f'<http://a.ex/e{k}> <http://a.ex/p> "v{k}" .\n' for k in range(1, 6))
    data = text.encode("utf-8") + '<http://a.ex/m> <http://a.ex/p> "Caf\xe9" .\n'.encode("latin-1")
    f = tmp_path / "x.ttl"
    f.write_bytes(data)
    with pytest.raises(InputError) as err:
        load_kg(f)
    assert err.value.line == 6 and "0xe9" in str(err.value)


def test_lang_tag_case():
    kg = load_kg(CASES / "lang_tag_case.ttl")
    assert kg.label(0, "en") == "Paris"
    assert kg.label(0, "es") == "París"
    assert kg.label(0, "EN") == "Paris" and kg.label(0, "es-es") == "París"
    assert sorted(kg.languages()) == ["en", "es-es"]  # tags stored lower-cased


def test_percent_escapes():
    kg = load_kg(CASES / "percent_escapes.nt")
    assert sorted(kg.names()) == ["André Gide", "Where Now?"]


def test_slash_in_local_name_ent_ids():
    kg = load_kg(CASES / "slash_in_local_name_ent_ids", format="dbp15k")
    assert kg.ids == ["10", "11"]
    assert kg.label(kg.index["11"]) == "Singer Y/Band X"
    assert kg.label(kg.index["10"]) == "Band X"


def test_empty_labels_are_missing():
    kg = load_kg(CASES / "empty_labels.ttl")
    e1, e2 = kg.index["http://a.ex/e1"], kg.index["http://a.ex/e2"]
    assert kg.labels[e1] == []  # "" and "   " dropped
    assert kg.label(e2) == "Lyon" and kg.label(e2, "en") == "Lyon"
    assert kg.label(e1) == "e1" and kg.label(e1, "en") == "e1"  # fallback: local name
    for name in _all_names(kg):
        assert name.strip() == name and name
        assert name.lower() != "nan"
    for _, _, value, _ in kg.attributes:
        assert value.strip()
    for labs in kg.labels:
        for _, text, _ in labs:
            assert text.strip() and not (isinstance(text, float) and math.isnan(text))


def test_openea_attr_only_entity():
    pair = load_pair(CASES / "openea_attr_only_entity")
    assert pair.kg1.n_entities == 3 and pair.kg2.n_entities == 3
    i, j = pair.kg1.index["http://a.ex/e3"], pair.kg2.index["http://b.ex/f3"]
    assert pair.kg1.label(i) == pair.kg2.label(j) == "Lyon"
    # e3 / f3 appear in no relation triple but are entities
    assert i not in set(pair.kg1.triples[:, [0, 2]].ravel().tolist())


def test_dbp15k_sparse_ids():
    pair = load_pair(CASES / "dbp15k_sparse_ids")
    assert pair.kg1.ids == ["5", "9"] and pair.kg2.ids == ["12", "40"]
    by_id = {(pair.kg1.ids[i], pair.kg2.ids[j]) for i, j in pair.links.tolist()}
    assert by_id == {("5", "12"), ("9", "40")}
    assert set(pair.link_iris()) == {
        ("http://a.ex/resource/Alpha", "http://b.ex/resource/Alpha"),
        ("http://a.ex/resource/Beta", "http://b.ex/resource/Beta"),
    }
    # positions are positions, not ids: they index the entity lists
    assert pair.links.max() < 2
    # relation triple 5 -0-> 9 maps to the IRIs of ids 5 and 9
    h, _, t = pair.kg1.triples[0].tolist()
    assert (pair.kg1.ids[h], pair.kg1.ids[t]) == ("5", "9")


def test_empty_kg_fails_at_load_time():
    with pytest.raises(EmptyGraphError, match="no entities found") as err:
        load_kg(CASES / "empty_kg.ttl")
    assert "empty_kg.ttl" in str(err.value)


def test_empty_kg_fails_before_any_model_library_is_imported():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from kgalign.io import load_kg\n"
        "from kgalign.errors import EmptyGraphError\n"
        "try:\n"
        f"    load_kg({str(CASES / 'empty_kg.ttl')!r})\n"
        "except EmptyGraphError:\n"
        "    print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "name, body",
    [
        (
            "only_schema.ttl",
            "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
            "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
            "owl:Thing rdf:type owl:Class .\n",
        ),
        ("blank.nt", '_:b1 <http://a.ex/p> "v" .\n'),
        ("empty.nt", "\n# nothing\n"),
        ("empty.jsonld", "[]"),
    ],
)
def test_other_empty_graphs(tmp_path, name, body):
    f = tmp_path / name
    f.write_text(body, encoding="utf-8")
    with pytest.raises(EmptyGraphError, match="no entities found"):
        load_kg(f)


def test_errors_are_kgalign_errors_never_bare():
    """Every case either loads or raises a KgalignError naming the file."""
    for f in sorted(CASES.iterdir()):
        if f.name == "README.md":
            continue
        try:
            if f.is_dir():
                load_pair(f)
            else:
                load_kg(f, format="dbp15k" if "ent_ids" in f.name else None)
        except KgalignError as exc:
            assert f.name in str(exc)
