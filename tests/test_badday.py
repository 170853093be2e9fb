"""Issue 14, items 1-6: no traceback, no clobbered file, standard readers, fast offline failure,
no quiet wrong answers. Each test failed on the code before the fix."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import DATASETS, HashingEncoder, need

from kgalign.cli import main

EN = """@prefix ex: <http://en.ex/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:paris rdfs:label "Paris"@en ; ex:in ex:france .
ex:france rdfs:label "France"@en .
ex:lyon rdfs:label "Lyon"@en ; ex:in ex:france .
ex:rome rdfs:label "Rome"@en ; ex:in ex:italy .
ex:italy rdfs:label "Italy"@en .
"""
FR = EN.replace("http://en.ex/", "http://fr.ex/").replace("@en", "@fr").replace('"Italy"', '"Italie"')


@pytest.fixture
def graphs(tmp_path, monkeypatch):
    import kgalign.aligner.encode as enc_mod

    monkeypatch.setattr(enc_mod, "Encoder", lambda *a, **k: HashingEncoder())
    a, b = tmp_path / "en.ttl", tmp_path / "fr.ttl"
    a.write_text(EN, encoding="utf-8")
    b.write_text(FR, encoding="utf-8")
    return a, b


def run(args, capsys):
    code = main([str(x) for x in args])
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------ 1. no traceback after the work
def test_item1_invalid_iri_is_exit_2_naming_file_and_line_before_any_work(tmp_path, capsys, monkeypatch):
    import kgalign.aligner.encode as enc_mod

    monkeypatch.setattr(enc_mod, "Encoder", lambda *a, **k: (_ for _ in ()).throw(AssertionError("model loaded")))
    f = tmp_path / "x.nt"
    f.write_text('<http://a.ex/e1> <http://a.ex/p> "ok" .\n<http://a.ex/x{1}> <http://a.ex/p> "bad" .\n')
    code, _, err = run(["align", f, f, "-o", tmp_path / "out.ttl", "-q"], capsys)
    assert code == 2 and "x.nt:2:" in err and "Traceback" not in err
    assert not (tmp_path / "out.ttl").exists()


@pytest.mark.parametrize(
    "iri",
    [
        'http://a.ex/x"1',
        "http://a.ex/x 1",
        "http://a.ex/x|1",
        "http://a.ex/x\\\\1",
        "http://a.ex/x^1",
        "http://a.ex/x`1",
        "http://a.ex/x}1",
    ],
)
def test_item6_one_iri_rule_in_turtle_ntriples_and_dbp15k(tmp_path, iri):
    from kgalign.errors import InputError
    from kgalign.io import load_kg

    ttl = tmp_path / "g.ttl"
    ttl.write_text(f'@prefix ex: <http://a.ex/> .\nex:ok ex:p "v" .\n<{iri}> ex:p "w" .\n')
    nt = tmp_path / "g.nt"
    nt.write_text(f'<http://a.ex/ok> <http://a.ex/p> "v" .\n<{iri}> <http://a.ex/p> "w" .\n')
    for f in (ttl, nt):
        with pytest.raises(InputError) as err:
            load_kg(f)
        assert err.value.line in (2, 3) and err.value.path == os.fspath(f)
    d = tmp_path / "pair"
    d.mkdir()
    (d / "ent_ids_1").write_text(f"0\thttp://a.ex/ok\n1\t{iri}\n")
    (d / "ent_ids_2").write_text("0\thttp://b.ex/ok\n")
    (d / "triples_1").write_text("")
    (d / "triples_2").write_text("")
    from kgalign.io import load_pair

    with pytest.raises(InputError) as err:
        load_pair(d)
    assert err.value.line == 2 and "ent_ids_1" in str(err.value)


def test_item6_invalid_iri_reported_once_with_its_line(tmp_path, caplog):
    import logging

    from kgalign.errors import InputError
    from kgalign.io import load_kg

    f = tmp_path / "w.ttl"
    f.write_text('@prefix ex: <http://a.ex/> .\nex:a ex:p "v" .\n\n<http://a.ex/b{x}> ex:p "w" .\n')
    with caplog.at_level(logging.WARNING), pytest.raises(InputError) as err:
        load_kg(f)
    assert err.value.line == 4
    assert not [r for r in caplog.records if "valid" in r.getMessage()]


def test_item1_writers_name_an_invalid_iri_of_a_graph_built_in_python(tmp_path):
    from kgalign.errors import InputError
    from kgalign.io.oaei import write_oaei_rows
    from kgalign.io.writers import Row, write_ntriples, write_sssom, write_turtle

    rows = [Row("http://a.ex/ok", "http://b.ex/ok", 0.9), Row("http://a.ex/x{1}", "http://b.ex/y", 0.8)]
    for i, w in enumerate((write_turtle, write_ntriples, write_sssom, write_oaei_rows)):
        out = tmp_path / f"o{i}"
        with pytest.raises(InputError, match=r"x\{1\}"):
            w(out, rows)
        assert not out.exists() and not list(tmp_path.glob(".*tmp"))


# ------------------------------------------------------------------ 2. --force replaces only regular files
def test_item2_force_never_replaces_a_symlink_fifo_device_or_an_input(tmp_path, capsys, graphs):
    a, b = graphs
    target = tmp_path / "real.tsv"
    target.write_text("keep\n")
    link = tmp_path / "link.tsv"
    link.symlink_to(target)
    fifo = tmp_path / "pipe.tsv"
    os.mkfifo(fifo)
    for out in (link, fifo, Path("/dev/null"), a):
        before = os.lstat(out)
        code, _, err = run(["align", a, b, "-o", out, "--output-format", "tsv", "--force", "-q"], capsys)
        assert code == 2 and "Traceback" not in err, (out, err)
        after = os.lstat(out)
        assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode) and after.st_ino == before.st_ino
    assert target.read_text() == "keep\n" and a.read_text(encoding="utf-8") == EN
    # the candidates file and --save-dir are checked the same way
    code, _, err = run(["align", a, b, "-o", tmp_path / "ok.tsv", "--candidates", b, "--force", "-q"], capsys)
    assert code == 2 and b.read_text(encoding="utf-8") == FR and not (tmp_path / "ok.tsv").exists()
    code, _, err = run(["align", a, b, "--save-dir", tmp_path, "--force", "-q"], capsys)
    assert code == 2 and a.exists() and b.exists()


def test_item2_atomic_write_refuses_special_files_even_with_force(tmp_path):
    from kgalign.errors import OutputError
    from kgalign.io.atomic import atomic_write

    link = tmp_path / "l"
    link.symlink_to(tmp_path / "elsewhere")
    for p in (link, Path("/dev/null"), tmp_path):
        with pytest.raises(OutputError):
            with atomic_write(p, force=True) as fh:
                fh.write("x")
    assert link.is_symlink() and not (tmp_path / "elsewhere").exists()
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


# ------------------------------------------------------------------ 3. standard readers read every output
def _rows():
    from kgalign.io.writers import Row

    return [
        Row("http://zh.dbpedia.org/resource/北京", "http://dbpedia.org/resource/Beijing", 0.9, "北京", "Beijing"),
        Row("http://dbpedia.org/resource/Bête_(x)", "http://fr.dbpedia.org/resource/Bête", 0.7, "Bête", "Bête"),
        Row("http://a.ex/HIStory:_Past,_Book_I", "http://b.ex/Q%C3%A9", 0.5, "a\x0bb\u2028c", "d"),
    ]


def test_item3_sssom_is_read_whole_by_sssom_py_and_matches_unicode_gold(tmp_path):
    sssom_parsers = pytest.importorskip("sssom.parsers")
    from kgalign.evaluation.metrics import evaluate_alignment
    from kgalign.io.iri import uri_to_iri
    from kgalign.io.readers import read_alignment
    from kgalign.io.writers import write_sssom, write_tsv

    rows = _rows()
    out = tmp_path / "a.sssom.tsv"
    write_sssom(out, rows)
    msdf = sssom_parsers.parse_sssom_table(out)
    assert len(msdf.df) == len(rows)  # before: the non-ASCII mappings were dropped
    conv = msdf.converter
    got = {
        (uri_to_iri(conv.expand(s)), uri_to_iri(conv.expand(o))) for s, o in zip(msdf.df.subject_id, msdf.df.object_id)
    }
    assert got == {(r.source, r.target) for r in rows if "%" not in r.target} | {
        (r.source, uri_to_iri(r.target)) for r in rows if "%" in r.target
    }
    gold = tmp_path / "gold.tsv"  # raw Unicode IRIs, as the DBP15K gold
    write_tsv(gold, rows)
    m = evaluate_alignment(read_alignment(out), read_alignment(gold))
    assert m["n_correct"] == len(rows) and m["f1"] == 1.0


def test_item3_dbp15k_gold_round_trips_through_sssom_py(tmp_path):
    sssom_parsers = pytest.importorskip("sssom.parsers")
    from kgalign.io import load_pair
    from kgalign.io.writers import Row, write_sssom

    pair = load_pair(need(DATASETS / "dbp15k" / "zh_en"))
    links = pair.links[np.random.default_rng(0).permutation(len(pair.links))[:600]]
    rows = [Row(pair.kg1.entities[i], pair.kg2.entities[j], 1.0) for i, j in links.tolist()]
    assert sum(not r.source.isascii() for r in rows) > 300
    out = tmp_path / "zh.sssom.tsv"
    write_sssom(out, rows)
    assert len(sssom_parsers.parse_sssom_table(out).df) == len(rows)


@pytest.mark.parametrize("fmt", ["turtle", "nt", "oaei"])
def test_item3_rdf_outputs_round_trip_through_rdflib(tmp_path, fmt):
    from rdflib import Graph, URIRef

    from kgalign.io import registry

    rows = _rows()
    out = tmp_path / f"a.{fmt}"
    registry.get("writer", fmt).load()(out, rows)
    g = Graph().parse(out, format="xml" if fmt == "oaei" else fmt)
    if fmt == "oaei":  # Alignment API: Cell entity1/entity2 resources
        ns = "http://knowledgeweb.semanticweb.org/heterogeneity/alignment#"
        pairs = {
            (str(g.value(c, URIRef(ns + "entity1"))), str(g.value(c, URIRef(ns + "entity2"))))
            for c in g.subjects(URIRef(ns + "entity1"), None)
        }
    else:
        pairs = {(str(s), str(o)) for s, _, o in g}
    assert pairs == {(r.source, r.target) for r in rows}


# ------------------------------------------------------------------ 4. outputs committed together
def test_item4_interrupted_run_commits_no_output_and_the_rerun_succeeds(tmp_path, capsys, graphs, monkeypatch):
    import kgalign.io.writers as writers

    a, b = graphs
    out, cands, save = tmp_path / "o.tsv", tmp_path / "c.tsv", tmp_path / "run"
    real = writers.write_candidates

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(writers, "write_candidates", interrupted)
    code = main(["align", str(a), str(b), "-o", str(out), "--candidates", str(cands), "--save-dir", str(save), "-q"])
    assert code != 0  # Ctrl-C while writing the candidates, after the -o file was written
    assert not out.exists() and not cands.exists() and not save.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    monkeypatch.setattr(writers, "write_candidates", real)
    code, _, err = run(["align", a, b, "-o", out, "--candidates", cands, "--save-dir", save, "-q"], capsys)
    assert code == 0, err
    assert out.exists() and cands.exists() and (save / "alignment.sssom.tsv").exists()


def test_item4_a_late_conflict_leaves_every_target_untouched(tmp_path):
    from kgalign.errors import OutputExistsError
    from kgalign.io.atomic import atomic_write, commit_together

    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    with pytest.raises(OutputExistsError):
        with commit_together():
            with atomic_write(first) as fh:
                fh.write("a")
            with atomic_write(second) as fh:
                fh.write("b")
            second.write_text("someone else")  # appears between the check and the commit
    assert not first.exists() and second.read_text() == "someone else"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt"]


# ------------------------------------------------------------------ 5. offline failure in seconds
def test_item5_uncached_encoder_fails_in_seconds_before_the_graphs_load(tmp_path, capsys, monkeypatch):
    import kgalign.io as kio

    monkeypatch.setattr(kio, "load_kg", lambda *a, **k: (_ for _ in ()).throw(AssertionError("graphs loaded")))
    f = tmp_path / "g.nt"
    f.write_text('<http://a.ex/e1> <http://a.ex/p> "ok" .\n')
    for env in ({"HF_HUB_OFFLINE": "1"}, {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"}):
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        for opt in (["--encoder", "no-such-org/no-such-encoder"], ["--translator", "mt:no-such-org/no-such-mt"]):
            t0 = time.perf_counter()
            code, _, err = run(["align", f, f, *opt, "-q"], capsys)
            assert code == 2 and "neither a local folder nor in the Hugging Face cache" in err, err
            assert time.perf_counter() - t0 < 30  # the retrying loader took 60-80 s


def test_item5_probe_checks_its_pair_directory_before_the_model(tmp_path, capsys, monkeypatch):
    pytest.importorskip("transformers")
    import kgalign.lm.probing.lm as lm

    monkeypatch.setattr(
        lm.MaskedLMProber,
        "from_pretrained",
        classmethod(lambda *a, **k: (_ for _ in ()).throw(AssertionError("model loaded"))),
    )
    code, _, err = run(["probe", tmp_path / "missing", "--model", "bert-base-multilingual-cased"], capsys)
    assert code == 2 and "missing" in err and "does not exist" in err


def test_item5_is_cached_reads_the_local_cache_only(tmp_path, monkeypatch):
    from kgalign.aligner.hub import ensure_available, is_cached

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert is_cached(str(tmp_path))  # a local folder
    assert not is_cached("no-such-org/no-such-model")
    ensure_available(str(tmp_path))
    from kgalign.errors import InputError

    with pytest.raises(InputError, match="HF_HUB_OFFLINE"):
        ensure_available("no-such-org/no-such-model")


# ------------------------------------------------------------------ 6. quiet wrong answers
def test_item6_numeric_iris_are_not_names(tmp_path, hashing_encoder):
    import kgalign
    from kgalign.io import load_kg

    # graph 1: entity 7 and entity 9 unlabelled with numeric IRIs; graph 2 the same numbers
    # for other things. Structure says 7 <-> 9 (each hangs off the same labelled hub).
    a = tmp_path / "a.nt"
    b = tmp_path / "b.nt"
    a.write_text(
        '<http://a.ex/hub> <http://www.w3.org/2000/01/rdf-schema#label> "Hub" .\n'
        "<http://a.ex/7> <http://a.ex/p> <http://a.ex/hub> .\n"
    )
    b.write_text(
        '<http://b.ex/hub> <http://www.w3.org/2000/01/rdf-schema#label> "Hub" .\n'
        "<http://b.ex/9> <http://b.ex/p> <http://b.ex/hub> .\n"
    )
    kg1, kg2 = load_kg(a), load_kg(b)
    assert kg1.label(kg1.index["http://a.ex/7"]) == ""  # before: "7", a name that matches any "7"
    res = kgalign.align(kg1, kg2, encoder=hashing_encoder)
    pairs = dict((s, o) for s, o, _ in res.pairs())
    assert pairs["http://a.ex/hub"] == "http://b.ex/hub"


def test_item6_empty_prediction_file_is_an_error(tmp_path, capsys):
    pred, gold = tmp_path / "p.tsv", tmp_path / "g.tsv"
    pred.write_text("source\ttarget\n")
    gold.write_text("source\ttarget\nhttp://a.ex/1\thttp://b.ex/1\n")
    code, _, err = run(["evaluate", pred, gold], capsys)
    assert code == 2 and "p.tsv" in err


def test_item6_turtle_missing_dot_names_the_statement_line(tmp_path):
    from kgalign.errors import InputError
    from kgalign.io import load_kg

    f = tmp_path / "s.ttl"
    f.write_text('@prefix ex: <http://a.ex/> .\nex:e1 ex:p "ok" .\nex:e2 ex:p "x"\nex:e3 ex:p "y" .\n')
    with pytest.raises(InputError) as err:
        load_kg(f)
    assert err.value.line == 3


def test_item6_missing_output_folder_is_an_error(tmp_path, capsys, graphs):
    a, b = graphs
    code, _, err = run(["align", a, b, "-o", tmp_path / "no_such_dir" / "o.tsv", "-q"], capsys)
    assert code == 2 and "does not exist" in err and not (tmp_path / "no_such_dir").exists()
    code, _, err = run(["align", a, b, "--candidates", tmp_path / "nodir" / "c.tsv", "-q"], capsys)
    assert code == 2 and "does not exist" in err and "Traceback" not in err


def test_item6_huge_label_is_cut_in_names_and_outputs(tmp_path, hashing_encoder):
    import kgalign
    from kgalign.io import load_kg
    from kgalign.io.writers import write_alignment

    big = "x" * 2_000_000
    a = tmp_path / "a.nt"
    a.write_text(
        f'<http://a.ex/1> <http://www.w3.org/2000/01/rdf-schema#label> "{big}" .\n'
        '<http://a.ex/2> <http://www.w3.org/2000/01/rdf-schema#label> "two" .\n'
    )
    kg = load_kg(a)
    assert len(kg.label(0)) <= 1000
    res = kgalign.align(kg, kg, encoder=hashing_encoder)
    out = tmp_path / "o.tsv"
    write_alignment(res, out)
    assert out.stat().st_size < 10_000  # before: the 2 MB label twice per row
