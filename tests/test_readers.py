"""Gold/prediction readers, the OAEI writer/reader and ``kgalign evaluate`` on small files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgalign.cli import main
from kgalign.errors import InputError, OutputExistsError
from kgalign.evaluation.metrics import evaluate_alignment
from kgalign.io.oaei import read_oaei, write_oaei
from kgalign.io.readers import detect_format, read_alignment

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = SHARED / "datasets"

E = "http://en.example.org/"
F = "http://fr.example.org/"
GOLD = [(E + "a", F + "x"), (E + "b", F + "y"), (E + "c", F + "z"), (E + "d", F + "w")]
# predictions: a-x right, b-z wrong, c-z right, e-v not in gold; scores decide the threshold curve
PRED = [(E + "a", F + "x", 0.9), (E + "b", F + "z", 0.8), (E + "c", F + "z", 0.7), (E + "e", F + "v", 0.4)]


def _write_pred_all_formats(tmp_path: Path) -> dict[str, Path]:
    """The same predictions in every kgalign output format, through the lead's writers."""
    from kgalign.io import writers

    rows = [(s, t, c, "s-label", "t-label") for s, t, c in PRED]
    out = {}
    for fmt, name, fn in [
        ("tsv", "p.tsv", writers.write_tsv),
        ("json", "p.json", writers.write_json),
        ("sssom", "p.sssom.tsv", writers.write_sssom),
        ("turtle", "p.ttl", writers.write_turtle),
        ("nt", "p.nt", writers.write_ntriples),
    ]:
        fn(tmp_path / name, rows)
        out[fmt] = tmp_path / name
    write_oaei(tmp_path / "p.rdf", [(s, t, c) for s, t, c in PRED])
    out["oaei"] = tmp_path / "p.rdf"
    return out


def test_every_output_format_reads_back_the_same_pairs(tmp_path):
    paths = _write_pred_all_formats(tmp_path)
    for fmt, path in paths.items():
        assert detect_format(path) == fmt, fmt
        al = read_alignment(path)
        assert sorted(al.pairs) == sorted((s, t) for s, t, _ in PRED), fmt
        if al.scores is not None:  # RDF sameAs triples carry no score
            got = dict(zip(al.pairs, al.scores))
            for s, t, c in PRED:
                assert got[(s, t)] == pytest.approx(c, abs=1e-6), fmt


def test_evaluate_agrees_with_hand_computed_values_in_every_format(tmp_path):
    gold_tsv = tmp_path / "gold.tsv"
    gold_tsv.write_text("subject_id\tobject_id\n" + "".join(f"{s}\t{t}\n" for s, t in GOLD))
    gold = read_alignment(gold_tsv)
    # hand count: 4 distinct predicted pairs, 2 correct (a-x, c-z), 4 gold links
    for fmt, path in _write_pred_all_formats(tmp_path).items():
        m = evaluate_alignment(read_alignment(path), gold, threshold=0.75)
        assert (m["n_pred"], m["n_gold"], m["n_correct"]) == (4, 4, 2), fmt
        assert m["precision"] == 0.5 and m["recall"] == 0.5 and m["f1"] == 0.5
        assert m["accuracy"] == 0.5  # a and c right; b wrong; d unpredicted
        if fmt not in ("turtle", "nt"):
            # >= 0.75 keeps a-x (right) and b-z (wrong): P 1/2, R 1/4
            at = m["at_threshold"]
            assert at["precision"] == 0.5 and at["recall"] == 0.25
            # best F1 over thresholds: keeping a, b, c gives P 2/3, R 1/2 -> F1 4/7
            assert m["best_f1"] == pytest.approx(4 / 7)


def test_gold_formats_agree(tmp_path):
    tsv = tmp_path / "g.tsv"
    tsv.write_text("".join(f"{s}\t{t}\n" for s, t in GOLD))  # headerless
    write_oaei(tmp_path / "g.rdf", GOLD)
    (tmp_path / "g.sssom.tsv").write_text(
        '# curie_map:\n#   en: "http://en.example.org/"\n#   fr: "http://fr.example.org/"\n'
        '#   owl: "http://www.w3.org/2002/07/owl#"\n# mapping_set_id: https://example.org/m\n'
        "subject_id\tpredicate_id\tobject_id\tmapping_justification\tpredicate_modifier\n"
        + "".join(f"en:{s[len(E) :]}\towl:sameAs\tfr:{t[len(F) :]}\tsemapv:ManualMappingCuration\t\n" for s, t in GOLD)
        + "en:a\towl:sameAs\tfr:w\tsemapv:ManualMappingCuration\tNot\n"
    )  # negative mapping: skipped
    (tmp_path / "g.json").write_text(json.dumps([[s, t] for s, t in GOLD]))
    for name in ("g.tsv", "g.rdf", "g.sssom.tsv", "g.json"):
        al = read_alignment(tmp_path / name)
        assert sorted(al.pairs) == sorted(GOLD), name


def test_oaei_file_is_valid_rdf_and_keeps_odd_iris(tmp_path):
    import rdflib

    odd = [("http://a.org/x?y=1&z=<2>", "http://b.org/caf\u00e9's", 0.25), ("http://a.org/p", "http://b.org/q", 1.7)]
    path = tmp_path / "o.rdf"
    write_oaei(path, odd)
    al = read_oaei(path)
    assert [(c.entity1, c.entity2) for c in al.cells] == [(a, b) for a, b, _ in odd]
    assert [c.measure for c in al.cells] == [0.25, 1.0]  # clipped to the format's [0, 1]
    assert all(c.relation == "=" for c in al.cells)
    # differential: rdflib parses the same file as RDF/XML and finds the same cells
    g = rdflib.Graph().parse(path, format="xml")
    ns = "http://knowledgeweb.semanticweb.org/heterogeneity/alignment#"
    got = {
        (str(g.value(c, rdflib.URIRef(ns + "entity1"))), str(g.value(c, rdflib.URIRef(ns + "entity2"))))
        for c in g.subjects(rdflib.RDF.type, rdflib.URIRef(ns + "Cell"))
    }
    assert got == {(a, b) for a, b, _ in odd}
    with pytest.raises(OutputExistsError):
        write_oaei(path, odd)
    write_oaei(path, odd[:1], force=True)
    assert len(read_oaei(path).cells) == 1


def test_oaei_reader_errors_name_the_line(tmp_path):
    bad = tmp_path / "bad.rdf"
    bad.write_text(
        "<?xml version='1.0'?>\n<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>\n"
        "<Alignment><map>\n<Cell>\n<entity1 rdf:resource='http://a/1'/>\n</Cell></map></Alignment></rdf:RDF>\n"
    )
    with pytest.raises(InputError, match=r"bad\.rdf:4: Cell without entity2"):
        read_oaei(bad)
    broken = tmp_path / "broken.rdf"
    broken.write_text("<Alignment>\n<Cell>\n</Alignment>\n")
    with pytest.raises(InputError, match=r"broken\.rdf:3: not well-formed"):
        read_oaei(broken)
    measure = tmp_path / "m.rdf"
    measure.write_text(
        "<Alignment><Cell><entity1 resource='a'/><entity2 resource='b'/>\n<measure>high</measure></Cell></Alignment>"
    )
    with pytest.raises(InputError, match=r"m\.rdf:2: measure 'high'"):
        read_oaei(measure)


def test_oaei_non_equivalence_cells_are_not_counted(tmp_path):
    path = tmp_path / "rel.rdf"
    path.write_text(
        "<rdf:RDF xmlns='http://knowledgeweb.semanticweb.org/heterogeneity/alignment#' "
        "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><Alignment>"
        "<map><Cell><entity1 rdf:resource='http://e/a'/><entity2 rdf:resource='http://f/x'/><relation>=</relation></Cell></map>"
        "<map><Cell><entity1 rdf:resource='http://e/b'/><entity2 rdf:resource='http://f/y'/><relation>&lt;</relation></Cell></map>"
        "</Alignment></rdf:RDF>"
    )
    gold = read_alignment(path)
    assert gold.relations == ["=", "<"]
    pred = read_alignment(path)
    m = evaluate_alignment(pred, gold)
    assert (m["n_gold"], m["n_pred"], m["n_correct"]) == (1, 1, 1)
    assert any("not equivalences" in w for w in m["warnings"])


def test_tsv_errors_name_file_and_line(tmp_path):
    p = tmp_path / "bad.tsv"
    p.write_text("source\ttarget\tscore\nhttp://a\thttp://b\t0.5\nhttp://c\n")
    with pytest.raises(InputError, match=r"bad\.tsv:3: expected at least 3"):
        read_alignment(p)
    p.write_text("source\ttarget\tscore\nhttp://a\thttp://b\tnan\n")
    with pytest.raises(InputError, match=r"bad\.tsv:2: score is NaN"):
        read_alignment(p)
    q = tmp_path / "ref_ent_ids"
    q.write_text("1\t2\n3\tx\n")
    with pytest.raises(InputError, match=r"ref_ent_ids:2: expected two integer ids"):
        read_alignment(q)
    j = tmp_path / "p.json"
    j.write_text('{"pairs": [\n{"source": "a"}\n')
    with pytest.raises(InputError, match=r"p\.json:3: not valid JSON"):
        read_alignment(j)


def test_ranked_candidates_give_ranking_metrics(tmp_path):
    gold = read_alignment(_tsv(tmp_path / "g.tsv", GOLD))
    # candidates by hand: a: x first (rank 1); b: z, y (rank 2); c: not listed; d: q, r, w (rank 3)
    cands = {
        E + "a": [F + "x", F + "y"],
        E + "b": [[F + "z", 0.9], [F + "y", 0.8]],
        E + "d": [{"target": F + "q"}, {"target": F + "r"}, {"target": F + "w"}],
    }
    p = tmp_path / "c.json"
    p.write_text(
        json.dumps(
            {
                "pairs": [
                    {
                        "source": s,
                        "target": v[0]
                        if isinstance(v[0], str)
                        else v[0][0]
                        if isinstance(v[0], list)
                        else v[0]["target"],
                    }
                    for s, v in cands.items()
                ],
                "candidates": cands,
            }
        )
    )
    m = evaluate_alignment(read_alignment(p), gold, ks=(1, 2, 3))
    assert m["hits@1"] == 0.25 and m["hits@2"] == 0.5 and m["hits@3"] == 0.75
    assert m["mrr"] == pytest.approx((1 + 1 / 2 + 0 + 1 / 3) / 4)
    assert m["censored"] == 1 and m["mr"] == pytest.approx((1 + 2 + 4 + 3) / 4)
    # the same candidates as a TSV with a rank column, rows shuffled
    rows = [
        (E + "d", F + "w", 3),
        (E + "a", F + "y", 2),
        (E + "b", F + "z", 1),
        (E + "d", F + "q", 1),
        (E + "a", F + "x", 1),
        (E + "b", F + "y", 2),
        (E + "d", F + "r", 2),
    ]
    t = tmp_path / "c.tsv"
    t.write_text("source\ttarget\trank\n" + "".join(f"{s}\t{o}\t{r}\n" for s, o, r in rows))
    m2 = evaluate_alignment(read_alignment(t), gold, ks=(1, 2, 3))
    for key in ("hits@1", "hits@2", "hits@3", "mrr", "mr", "precision", "recall"):
        assert m2[key] == pytest.approx(m[key]), key


def _tsv(path: Path, pairs) -> Path:
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs))
    return path


@pytest.mark.skipif(not (DATA / "dbp15k" / "zh_en").is_dir(), reason="shared datasets absent")
def test_dbp15k_gold_accepts_ids_and_iris(tmp_path):
    d = DATA / "dbp15k" / "zh_en"
    gold = read_alignment(d)
    assert gold.format == "dbp15k" and len(gold) == 15000
    ids = [ln.split("\t") for ln in (d / "ref_ent_ids").read_text().splitlines()[:10]]
    ent1 = dict(ln.split("\t", 1) for ln in (d / "ent_ids_1").read_text(encoding="utf-8").splitlines())
    ent2 = dict(ln.split("\t", 1) for ln in (d / "ent_ids_2").read_text(encoding="utf-8").splitlines())
    # the first 10 links, half by id and half by IRI, plus one wrong pair by id
    pred = [(a, b) for a, b in ids[:5]] + [(ent1[a], ent2[b]) for a, b in ids[5:]] + [(ids[0][0], ids[1][1])]
    m = evaluate_alignment(read_alignment(_tsv(tmp_path / "p.tsv", pred), format="tsv"), gold)
    assert (m["n_correct"], m["n_pred"], m["n_gold"]) == (10, 11, 15000)
    assert m["accuracy"] == pytest.approx(9 / 15000)  # source 0 has two predicted targets: not 1-to-1


def test_evaluate_cli(tmp_path, capsys):
    gold = _tsv(tmp_path / "gold.tsv", GOLD)
    pred = tmp_path / "p.rdf"
    write_oaei(pred, [(s, t, c) for s, t, c in PRED])
    out_json = tmp_path / "m.json"
    assert main(["evaluate", str(pred), str(gold), "--threshold", "0.75", "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    assert "precision  0.5000" in text and "recall     0.5000" in text
    m = json.loads(out_json.read_text())
    assert m["at_threshold"]["recall"] == 0.25
    capsys.readouterr()
    assert main(["evaluate", str(pred), str(gold), "--json", str(out_json)]) == 2  # exists, no --force
    assert "precision" not in capsys.readouterr().out  # refused before any metric is printed
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\n\tc\n")
    assert main(["evaluate", str(bad), str(gold)]) == 2
    assert "bad.tsv:2" in capsys.readouterr().err


def test_no_overlap_warns(tmp_path):
    gold = read_alignment(_tsv(tmp_path / "g.tsv", GOLD))
    swapped = read_alignment(_tsv(tmp_path / "p.tsv", [(t, s) for s, t in GOLD]))
    m = evaluate_alignment(swapped, gold)
    assert m["n_correct"] == 0 and any("swapped" in w for w in m["warnings"])


def test_evaluate_cli_prints_ranking_metrics(tmp_path, capsys):
    gold = _tsv(tmp_path / "g.tsv", GOLD)
    # TSV with several rows per source and scores: candidates ordered by descending score
    rows = [(E + "a", F + "y", 0.2), (E + "a", F + "x", 0.9), (E + "b", F + "y", 0.7), (E + "b", F + "z", 0.8)]
    p = tmp_path / "p.tsv"
    p.write_text("source\ttarget\tscore\n" + "".join(f"{s}\t{t}\t{c}\n" for s, t, c in rows))
    assert main(["evaluate", str(p), str(gold), "--ks", "1,2"]) == 0
    out = capsys.readouterr().out
    # ranks by hand: a -> x first (1), b -> y second (2), c and d absent (censored)
    assert "hits@1     0.2500" in out and "hits@2     0.5000" in out
    assert f"mrr        {(1 + 0.5) / 4:.4f}" in out


def test_bad_ranks_name_the_line_and_shallow_lists_say_so(tmp_path, capsys):
    gold = tmp_path / "g.tsv"
    gold.write_text("a\tx\nb\ty\n")
    for body, needle in (
        ("a\tx\t0\t0.9\n", "r.tsv:2"),
        ("a\tx\t1\t0.9\na\ty\t-2\t0.8\n", "r.tsv:3"),
        ("a\tx\t1\t0.9\na\ty\t1\t0.8\n", "two candidates at rank 1"),
        ("a\tx\t1.5\t0.9\n", "whole number"),
    ):
        bad = tmp_path / "r.tsv"
        bad.write_text("source\ttarget\trank\tscore\n" + body)
        assert main(["evaluate", str(bad), str(gold)]) == 2
        assert needle in capsys.readouterr().err
    ok = tmp_path / "ok.tsv"
    ok.write_text("source\ttarget\trank\tscore\na\tx\t1\t0.9\na\ty\t2\t0.8\nb\tx\t1\t0.7\nb\ty\t2\t0.6\n")
    assert main(["evaluate", str(ok), str(gold), "--ks", "1,2,5"]) == 0
    out = capsys.readouterr().out
    assert "hits@5" in out and "at most 2 candidates per source" in out
    assert "at most" not in next(line for line in out.splitlines() if line.startswith("hits@2"))
