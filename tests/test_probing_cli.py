"""``kgalign probe`` on a hand-made DBP15K-format pair and on the real data, with tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from kgalign.cli import main  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
DBP = SHARED / "datasets" / "dbp15k"

PEOPLE = ["Alice", "Carol", "Dave", "Eve"]
CITIES = ["Paris", "London", "Rome"]


def write_pair(root: Path) -> Path:
    """A 7+7 entity DBP15K-format fr_en pair: lieuDeNaissance / birthPlace, all facts in both."""
    d = root / "fr_en"
    d.mkdir()
    names = PEOPLE + CITIES
    (d / "ent_ids_1").write_text("".join(f"{i}\thttp://fr.dbpedia.org/resource/{n}\n" for i, n in enumerate(names)))
    (d / "ent_ids_2").write_text("".join(f"{100 + i}\thttp://dbpedia.org/resource/{n}\n" for i, n in enumerate(names)))
    (d / "rel_ids_1").write_text("0\thttp://fr.dbpedia.org/property/lieuDeNaissance\n")
    (d / "rel_ids_2").write_text("1\thttp://dbpedia.org/property/birthPlace\n")
    born = [(0, 4), (1, 5), (2, 6), (3, 4)]
    (d / "triples_1").write_text("".join(f"{s}\t0\t{o}\n" for s, o in born))
    (d / "triples_2").write_text("".join(f"{100 + s}\t1\t{100 + o}\n" for s, o in born))
    (d / "ref_ent_ids").write_text("".join(f"{i}\t{100 + i}\n" for i in range(len(names))))
    return d


@pytest.fixture(scope="module")
def tiny_mlm(tmp_path_factory):
    from kgalign.lm.finetune import tiny_model, word_tokenizer

    path = tmp_path_factory.mktemp("mlm")
    tok = word_tokenizer([" ".join(PEOPLE + CITIES) + " was born in est né à ."])
    model = tiny_model("bert", len(tok), layers=1, hidden=32, heads=2, seed=0)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_cli_probe_writes_consistent_outputs(tmp_path, tiny_mlm):
    pair = write_pair(tmp_path)
    (tmp_path / "c_fr.txt").write_text("Alice est née à Paris .\nRien\n")
    (tmp_path / "c_en.txt").write_text("Alice was born in Paris\nCarol lived in London\n")
    out = tmp_path / "out"
    args = [
        "probe",
        str(pair),
        "--model",
        str(tiny_mlm),
        "--mode",
        "both",
        "--neurons",
        "--top-n",
        "8",
        "--corpus1",
        str(tmp_path / "c_fr.txt"),
        "--corpus2",
        str(tmp_path / "c_en.txt"),
        "--min-support",
        "1",
        "-o",
        str(out),
        "-q",
    ]
    assert main(args) == 0
    rows = json.loads((out / "facts.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    rels = json.loads((out / "relations.json").read_text())
    assert rels[0]["iri1"].endswith("lieuDeNaissance") and rels[0]["support"] == 4
    assert len(rows) == 8 and {r["lang"] for r in rows} == {"fr", "en"}
    for r in rows:
        assert r["rank"] >= 1 and r["n_candidates"] == 3 and not r["fallback"]
        assert r["correct"] == (r["rank"] == 1) and "[MASK]" in r["query"]
        assert r["fact_iris"]["where"] == "both" and "class" in r
    for lang in ("fr", "en"):
        mine = [r["correct"] for r in rows if r["lang"] == lang]
        assert summary["p_at_1"][lang]["micro"] == pytest.approx(np.mean(mine))
    # tracing: only Alice-Paris co-occurs, in both corpora (Carol-London? object is London: yes in en)
    inc = {(r["subject"], r["lang"]): r["in_corpus"] for r in rows}
    assert inc[("Alice", "fr")] and inc[("Alice", "en")] and inc[("Carol", "en")]
    assert not inc[("Carol", "fr")] and not inc[("Dave", "en")]
    # outputs are never overwritten without --force
    assert main(args) == 2
    assert main(args + ["--force"]) == 0


def test_cli_probe_errors(tmp_path, tiny_mlm):
    pair = write_pair(tmp_path)
    assert main(["probe", str(pair), "--model", str(tmp_path / "missing-model")]) == 2
    assert main(["probe", str(pair), "--model", str(tiny_mlm), "--corpus1", str(pair / "triples_1")]) == 2
    bad = tmp_path / "t.yaml"
    bad.write_text("relations: 3\n")
    assert main(["probe", str(pair), "--model", str(tiny_mlm), "--templates", str(bad)]) == 2


def test_cli_probe_fallback_template_is_flagged(tmp_path, tiny_mlm):
    pair = write_pair(tmp_path)
    t = tmp_path / "t.json"
    t.write_text(json.dumps({"relations": [{"id": "x", "match": ["nothing"], "templates": {"en": "[X] [Y] ."}}]}))
    out = tmp_path / "o"
    assert (
        main(
            [
                "probe",
                str(pair),
                "--model",
                str(tiny_mlm),
                "--templates",
                str(t),
                "--min-support",
                "1",
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    rows = json.loads((out / "facts.json").read_text())
    assert all(r["fallback"] for r in rows)
    assert {r["template"] for r in rows if r["lang"] == "en"} == {"The birth place of [X] is [Y] ."}


@pytest.mark.slow
@pytest.mark.skipif(not DBP.exists(), reason="shared datasets absent")
def test_cli_probe_on_dbp15k(tmp_path, tiny_mlm):
    out = tmp_path / "o"
    assert (
        main(
            [
                "probe",
                str(DBP / "fr_en"),
                "--model",
                str(tiny_mlm),
                "--relations",
                "3",
                "--max-facts",
                "20",
                "--candidates",
                "facts",
                "--gold",
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    rows = json.loads((out / "facts.json").read_text())
    assert len(rows) == 40 and {r["lang"] for r in rows} == {"fr", "en"}
    assert all(r["fact_iris"]["subject1"].startswith("http://fr.dbpedia.org/") for r in rows)


@pytest.mark.slow
@pytest.mark.skipif(not DBP.exists(), reason="shared datasets absent")
def test_demo_split_has_no_leak_and_runs(tmp_path):
    from kgalign.io import load_pair
    from kgalign.lm.probing import TemplateSet, bilingual_facts, build_queries
    from kgalign.lm.probing.demo import DemoConfig, run_demo, select_facts, verbalise

    cfg = DemoConfig(
        n_facts=90, n_relations=3, epochs=1, vocab_size=800, progress=False, compare_aligner=False, neuron_seeds=2
    )
    pair = load_pair(DBP / cfg.pair)
    fs = bilingual_facts(pair.kg1, pair.kg2, pair.links)
    groups = select_facts(fs, TemplateSet.load(), "fr", "en", cfg)
    assert set(groups.values()) == {"seen", "transfer", "unseen"}
    queries, _ = build_queries(fs, TemplateSet.load(), "fr", "en")
    queries = [q for q in queries if q.fact in groups]
    corpus = verbalise(queries, groups, "fr")
    fr, en = set(corpus["fr"]), set(corpus["en"])
    seen_objs = {(q.relation, q.object) for q in queries if q.lang == "fr" and groups[q.fact] == "seen"}
    for q in queries:
        sent, g = q.template.fill(q.subject, q.object), groups[q.fact]
        assert (sent in (fr if q.lang == "fr" else en)) == (g == "seen" or (g == "transfer" and q.lang == "en"))
        if q.lang == "fr" and g != "seen":
            assert (q.relation, q.object) in seen_objs  # held-out objects are known from seen facts
    s = run_demo(cfg, out_dir=tmp_path, echo=lambda *_: None)
    rows = json.loads((tmp_path / "facts.json").read_text())
    assert len(rows) == 2 * sum(s["n_facts"].values())
    patching = s["neurons"]["patching"]
    assert patching["n"]["same"] > 0 and 0.0 <= patching["flip_top_all"] <= 1.0
    assert (tmp_path / "p_at_1.png").read_bytes()[:4] == b"\x89PNG"
    for g in ("seen", "transfer", "unseen"):
        mine = [r for r in rows if r["lang"] == "fr" and r["group"] == g]
        assert s["p_at_1"][g] == pytest.approx(np.mean([r["rank"] == 1 for r in mine]))
        assert s["chance"][g] == pytest.approx(np.mean([1 / r["n_candidates"] for r in mine]))


def test_cli_probe_with_alignment_file(tmp_path, tiny_mlm):
    pair = write_pair(tmp_path)
    names = PEOPLE + CITIES
    # an alignment (as a kgalign result TSV would name them, by IRI) that leaves Dave unaligned
    tsv = tmp_path / "result.tsv"
    tsv.write_text(
        "".join(
            f"http://fr.dbpedia.org/resource/{n}\thttp://dbpedia.org/resource/{n}\t0.9\n" for n in names if n != "Dave"
        )
    )
    out = tmp_path / "o"
    assert (
        main(
            [
                "probe",
                str(pair),
                "--model",
                str(tiny_mlm),
                "--alignment",
                str(tsv),
                "--min-support",
                "1",
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    rows = json.loads((out / "facts.json").read_text())
    assert sorted({r["subject"] for r in rows}) == ["Alice", "Carol", "Eve"]


def test_cli_probe_links_come_from_the_aligner_unless_gold_is_asked(tmp_path, tiny_mlm):
    pair = write_pair(tmp_path)
    out_a, out_g = tmp_path / "a", tmp_path / "g"
    assert main(["probe", str(pair), "--model", str(tiny_mlm), "--min-support", "1", "-o", str(out_a), "-q"]) == 0
    assert (
        main(["probe", str(pair), "--model", str(tiny_mlm), "--min-support", "1", "--gold", "-o", str(out_g), "-q"])
        == 0
    )
    sa = json.loads((out_a / "summary.json").read_text())
    sg = json.loads((out_g / "summary.json").read_text())
    assert sa["links"]["source"] == "aligner" and "config" in sa["links"]
    assert sg["links"]["source"] == "gold" and "quality" not in sg["links"]
    q = sa["links"]["quality"]
    assert 0.0 <= q["precision"] <= 1.0 and q["n_links"] == sa["links"]["n_links"]
    # with every link right (same names on both sides) the aligner's facts are the gold facts
    if q["precision"] == 1.0 and q["recall"] == 1.0:
        assert sa["facts"] == sg["facts"]
    assert main(["probe", str(pair), "--model", str(tiny_mlm), "--gold", "--alignment", str(pair / "ref_ent_ids")]) == 2


def test_aligner_comparison_counts_lost_facts_as_misses(tmp_path, tiny_mlm, monkeypatch):
    """Gold and aligner P@1 over the same facts; a fact the links lose is a miss, never dropped."""
    from kgalign.io import load_pair
    from kgalign.lm.probing import TemplateSet, bilingual_facts, build_queries, demo_analysis, probe_queries
    from kgalign.lm.probing import links as links_mod
    from kgalign.lm.probing.lm import MaskedLMProber

    pair = load_pair(write_pair(tmp_path))
    fs = bilingual_facts(pair.kg1, pair.kg2, pair.links, min_support=1)
    templates = TemplateSet.load()
    queries, cands = build_queries(fs, templates, "fr", "en")
    groups = {k: "seen" for k in range(len(fs.facts))}
    prober = MaskedLMProber.from_pretrained(str(tiny_mlm), device="cpu")
    rows = probe_queries(prober, queries, cands)
    # links that swap Alice and Carol on the English side: their facts are lost or changed
    gold = np.asarray(pair.links)
    wrong = gold.copy()
    wrong[[0, 1], 1] = wrong[[1, 0], 1]
    monkeypatch.setattr(
        links_mod, "aligned_links", lambda p, s, **kw: (wrong, {"source": "aligner", "n_links": len(wrong)})
    )
    out = demo_analysis.aligner_comparison(
        pair, fs, groups, queries, rows, prober, templates, cands, "fr", "en", ("seen",)
    )
    assert out["recovered"]["of"] == len(fs.facts) and out["recovered"]["facts"] < len(fs.facts)
    ok_gold = {(r["fact"], r["lang"]): r["correct"] for r in rows}
    for lang in ("fr", "en"):
        assert out["p_at_1_gold"][lang]["seen"] == pytest.approx(np.mean([ok_gold[(k, lang)] for k in groups]))
        # never above gold in the language whose queries do not change (fr): only losses
        if lang == "fr":
            assert out["p_at_1_aligner"][lang]["seen"] <= out["p_at_1_gold"][lang]["seen"]
    # with the gold links themselves nothing is lost
    monkeypatch.setattr(
        links_mod, "aligned_links", lambda p, s, **kw: (gold, {"source": "aligner", "n_links": len(gold)})
    )
    same = demo_analysis.aligner_comparison(
        pair, fs, groups, queries, rows, prober, templates, cands, "fr", "en", ("seen",)
    )
    assert same["recovered"]["facts"] == len(fs.facts)
    assert same["p_at_1_aligner"] == same["p_at_1_gold"]
