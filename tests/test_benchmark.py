"""Benchmark protocols: the permutation self-check catches planted leaks; honest runs pass."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from kgalign.cli import main
from kgalign.evaluation import PermutationCheckError, present, run_protocol, subsample_pair
from kgalign.evaluation import metrics as ev
from kgalign.kg import KGPair, KnowledgeGraph
from kgalign.profiling import StageTimer

SHARED = Path(__file__).resolve().parents[2] / "shared"
DBP = SHARED / "datasets" / "dbp15k"


# ------------------------------------------------------------------ fake aligners
def _result(kg1, kg2, sources, targets, sim, rows, cols, timer, *, with_similarity=True):
    sources, targets = np.asarray(sources), np.asarray(targets)
    out = SimpleNamespace(
        sources=sources,
        targets=targets,
        rows=sources[rows],
        cols=targets[cols],
        scores=sim[rows, cols].astype(np.float32),
        stages=timer.as_dict() if timer else {},
        config={"fake": True},
        device="cpu",
    )
    if with_similarity:
        out.similarity = sim
    else:

        def ranking(k, sim=sim, targets=targets):
            order = np.argsort(-sim, axis=1, kind="stable")[:, :k]
            return targets[order]

        out.ranking = ranking
    return out


def _match(sim, threshold=None):
    from scipy.optimize import linear_sum_assignment

    r, c = linear_sum_assignment(-sim)
    if threshold is not None:
        keep = sim[r, c] >= threshold
        r, c = r[keep], c[keep]
    return r, c


def label_aligner(
    kg1, kg2, *, sources=None, targets=None, translations=None, config=None, timer=None, with_similarity=True
):
    """Honest: similarity from the entities' labels only (order of presentation irrelevant)."""
    timer = timer or StageTimer()
    with timer.stage("similarity"):
        n1 = [kg1.label(i) for i in sources]
        n2 = [kg2.label(j) for j in targets]
        sim = np.array([[_label_sim(a, b) for b in n2] for a in n1], dtype=np.float32)
    with timer.stage("matching"):
        r, c = _match(sim, (config or {}).get("threshold"))
    return _result(kg1, kg2, sources, targets, sim, r, c, timer, with_similarity=with_similarity)


def _label_sim(a: str, b: str) -> float:
    """1 for equal labels, else a deterministic pseudo-random value in [0, 0.5) from the labels."""
    if a == b:
        return 1.0
    import zlib

    return (zlib.crc32(f"{a}|{b}".encode()) % 1000) / 2000.0


def ranking_only_aligner(kg1, kg2, **kw):
    return label_aligner(kg1, kg2, with_similarity=False, **kw)


def gold_order_leak(kg1, kg2, *, sources=None, targets=None, translations=None, config=None, timer=None):
    """Leaky: pairs sources[i] with targets[i] (right only if the lists come in gold order)."""
    n = min(len(sources), len(targets))
    sim = np.eye(len(sources), len(targets), dtype=np.float32)  # a scorer: 1 for (sources[i], targets[i])
    return _result(kg1, kg2, sources, targets, sim, np.arange(n), np.arange(n), timer)


def position_leak(kg1, kg2, *, sources=None, targets=None, translations=None, config=None, timer=None):
    """Leaky: pairs the sources and targets sorted by graph position (DBP15K files are in gold order)."""
    s_order, t_order = np.argsort(sources, kind="stable"), np.argsort(targets, kind="stable")
    n = min(len(sources), len(targets))
    sim = np.zeros((len(sources), len(targets)), dtype=np.float32)
    sim[s_order[:n], t_order[:n]] = 1.0
    return _result(kg1, kg2, sources, targets, sim, s_order[:n], t_order[:n], timer)


def tfidf_aligner(kg1, kg2, *, sources=None, targets=None, translations=None, config=None, timer=None):
    """Honest and fast on DBP15K subsets: char n-gram TF-IDF of the translated names."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    timer = timer or StageTimer()
    tr = translations or {}
    with timer.stage("similarity"):
        n1 = [tr.get(kg1.label(i), kg1.label(i)).lower() for i in sources]
        n2 = [kg2.label(j).replace("_", " ").lower() for j in targets]
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3)).fit(sorted(set(n1 + n2)))
        sim = (vec.transform(n1) @ vec.transform(n2).T).toarray().astype(np.float32)
        sim = np.round(sim, 5)  # float sums differ in the last bits under reordering
    with timer.stage("matching"):
        r, c = _match(sim, (config or {}).get("threshold"))
    return _result(kg1, kg2, sources, targets, sim, r, c, timer)


# ------------------------------------------------------------------ synthetic pair
def synthetic_pair(n_links=40, n_dangling=10, n_noisy=8, seed=3) -> KGPair:
    """kg2 entity of link k carries kg1's label, except for ``n_noisy`` links; files in gold order."""
    rng = np.random.default_rng(seed)
    n = n_links + n_dangling
    lab1 = [f"w{i}" for i in range(n)]
    lab2 = [f"w{i}" if i < n_links - n_noisy else f"v{i}" for i in range(n_links)] + [
        f"d{i}" for i in range(n_dangling)
    ]
    t1 = np.stack([rng.integers(0, n, 120), rng.integers(0, 3, 120), rng.integers(0, n, 120)], axis=1)
    kg1 = KnowledgeGraph([f"http://a/{i}" for i in range(n)], [[("en", t, 0)] for t in lab1], t1, ["r0", "r1", "r2"])
    kg2 = KnowledgeGraph(
        [f"http://b/{i}" for i in range(n)], [[("en", t, 0)] for t in lab2], t1.copy(), ["r0", "r1", "r2"]
    )
    links = np.stack([np.arange(n_links), np.arange(n_links)], axis=1)
    return KGPair(kg1, kg2, links)


def test_present_is_a_consistent_relabelling():
    pair = synthetic_pair()
    pres = present(pair.kg1, pair.kg2, pair.links[:, 0], pair.links[:, 1], seed=7)
    assert sorted(pres.perm1.tolist()) == list(range(pair.kg1.n_entities))
    assert [pres.kg1.entities[k] for k in range(pair.kg1.n_entities)] == [pair.kg1.entities[p] for p in pres.perm1]
    # the same triples, relabelled
    orig = {tuple(t) for t in pair.kg1.triples.tolist()}
    shown = {(int(pres.perm1[h]), r, int(pres.perm1[t])) for h, r, t in pres.kg1.triples.tolist()}
    assert shown == orig
    assert sorted(pres.perm1[pres.sources].tolist()) == sorted(pair.links[:, 0].tolist())
    # shuffled: the shown lists are not in gold order
    assert not np.array_equal(pres.perm2[pres.targets], pair.links[:, 1])


@pytest.mark.parametrize("leak", [gold_order_leak, position_leak])
@pytest.mark.parametrize("protocol", ["closed", "open"])
def test_planted_leak_is_caught(leak, protocol):
    pair = synthetic_pair()
    links = pair.links
    # the leak is real: given the natural (gold) order it scores perfectly ...
    res = leak(pair.kg1, pair.kg2, sources=links[:, 0], targets=links[:, 1])
    assert ev.one_to_one_accuracy(zip(res.rows.tolist(), res.cols.tolist()), links) == 1.0
    # ... and the benchmark refuses to report it
    with pytest.raises(PermutationCheckError, match="permutation self-check failed"):
        run_protocol(leak, pair, protocol, seed=0)


@pytest.mark.parametrize("aligner", [label_aligner, ranking_only_aligner])
def test_honest_aligner_passes_and_metrics_match_direct_computation(aligner):
    pair = synthetic_pair()
    links = pair.links
    out = run_protocol(aligner, pair, "closed", seed=11)
    assert out["permutation_check"]["passed"] and out["permutation_check"]["partner_disagreement"] == 0.0
    # differential: run the aligner once on the natural order and score by hand
    res = aligner(pair.kg1, pair.kg2, sources=links[:, 0], targets=links[:, 1])
    pred = list(zip(res.rows.tolist(), res.cols.tolist()))
    assert out["accuracy"] == pytest.approx(ev.one_to_one_accuracy(pred, links))
    assert out["precision"] == pytest.approx(ev.pair_prf(pred, links)["precision"])
    sim = np.array([[_label_sim(pair.kg1.label(i), pair.kg2.label(j)) for j in links[:, 1]] for i in links[:, 0]])
    ranks = ev.ranks_from_scores(sim, np.arange(len(links)))
    assert out["hits@1"] == pytest.approx(ev.hits_at(ranks, 1))
    assert out["hits@10"] == pytest.approx(ev.hits_at(ranks, 10))
    if aligner is label_aligner:  # exact pessimistic ranks from the similarity matrix
        assert out["mrr"] == pytest.approx(ev.mean_reciprocal_rank(ranks))
    else:  # ranks read from a ranked list: ties broken by the (shuffled) list order
        opt = ev.ranks_from_scores(sim, np.arange(len(links)), tie="optimistic")
        assert ev.mean_reciprocal_rank(ranks) <= out["mrr"] <= ev.mean_reciprocal_rank(opt)
    # the labels decide: 32 of 40 links share labels, the 8 noisy ones cannot be ranked first
    assert out["hits@1"] == pytest.approx(32 / 40)
    for key in ("hits@1", "hits@10", "mrr", "accuracy", "precision", "recall", "f1"):
        assert key in out
    assert set(out["stages"]) >= {"similarity", "matching"}
    assert all({"seconds", "peak_rss_mb"} <= set(v) for v in out["stages"].values())
    assert sum(b["n"] for b in out["curves"]["by_degree"]) == len(links)
    assert np.mean([b["accuracy"] * b["n"] for b in out["curves"]["by_degree"]]) * len(
        out["curves"]["by_degree"]
    ) / len(links) == pytest.approx(out["accuracy"])


def test_open_protocol_counts_dangling_pairs_as_errors():
    pair = synthetic_pair()
    out = run_protocol(label_aligner, pair, "open", seed=5)
    n1 = pair.kg1.n_entities
    assert out["n_sources"] == n1 and out["n_links"] == 40
    # without a threshold every source is matched: 50 pairs, 32 correct
    assert out["n_pred"] == n1 and out["n_correct"] == 32
    assert out["precision"] == pytest.approx(32 / 50) and out["recall"] == pytest.approx(32 / 40)
    # abstention: a threshold drops the pseudo-random pairs and raises precision to 1
    out_t = run_protocol(label_aligner, pair, "open", seed=5, config={"threshold": 0.9})
    assert out_t["precision"] == 1.0 and out_t["recall"] == pytest.approx(32 / 40)


def test_subsample_pair_keeps_links_consistent():
    pair = synthetic_pair(n_links=40, n_dangling=10)
    sub = subsample_pair(pair, 12, seed=1, dangling=0.5)
    assert len(sub.links) == 12 and sub.kg1.n_entities == 18
    for i, j in sub.links.tolist():
        # linked entities keep their index suffix in this synthetic pair
        assert sub.kg1.entities[i].rsplit("/", 1)[1] == sub.kg2.entities[j].rsplit("/", 1)[1]


# ------------------------------------------------------------------ CLI on a DBP15K subset
needs_dbp = pytest.mark.skipif(not (DBP / "zh_en").is_dir(), reason="shared datasets absent")


@needs_dbp
def test_cli_benchmark_subset_writes_results_and_plots(tmp_path, capsys):
    out = tmp_path / "res"
    args = [
        "benchmark",
        "dbp15k",
        "--pair",
        "zh_en",
        "--data-dir",
        str(DBP),
        "--limit",
        "300",
        "--aligner",
        f"{__name__}:tfidf_aligner",
        "--output-dir",
        str(out),
        "--no-isolate",
    ]
    rc = main(args)
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    data = json.loads((out / "results.json").read_text())
    for protocol in ("closed", "open"):
        r = data["results"]["zh_en"][protocol]
        for key in ("hits@1", "hits@10", "mrr", "accuracy", "precision", "recall", "f1", "stages"):
            assert key in r, key
        assert "load" in r["stages"] and all({"seconds", "peak_rss_mb"} <= set(v) for v in r["stages"].values())
        assert r["permutation_check"]["passed"]
        assert 0.0 <= r["hits@1"] <= r["hits@10"] <= 1.0
    assert data["results"]["zh_en"]["closed"]["n_links"] == 300
    assert data["data"]["zh_en"]["matches_manifest"]
    for key in ("versions", "git_commit", "seed", "device", "config", "machine"):
        assert key in data
    assert "| zh_en | closed |" in cap.out and (out / "results.md").is_file()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) == 8 and all((out / p).stat().st_size > 1000 for p in pngs)
    # existing results are not overwritten without --force
    assert main(args) == 2


@needs_dbp
def test_cli_benchmark_fails_loudly_on_a_leak(tmp_path, capsys):
    out = tmp_path / "res"
    rc = main(
        [
            "benchmark",
            "dbp15k",
            "--pair",
            "zh_en",
            "--data-dir",
            str(DBP),
            "--limit",
            "200",
            "--protocol",
            "closed",
            "--aligner",
            f"{__name__}:position_leak",
            "--output-dir",
            str(out),
            "--no-plots",
        ]
    )
    assert rc == 2
    assert "permutation self-check failed" in capsys.readouterr().err
    assert not (out / "results.json").exists()


def test_outputs_without_matplotlib_skip_plots_with_a_note(tmp_path, monkeypatch):
    from kgalign.evaluation import plots
    from kgalign.evaluation.dbp15k import write_outputs

    pair = synthetic_pair()
    record = {"results": {"syn": {"closed": run_protocol(label_aligner, pair, "closed")}}, "versions": {}}

    def no_mpl(*a, **k):
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(plots, "plot_results", no_mpl)
    written = write_outputs(record, tmp_path)
    assert "matplotlib" in written["note"] and written["plots"] == []
    data = json.loads((tmp_path / "results.json").read_text())  # strict JSON (no NaN)
    assert data["results"]["syn"]["closed"]["hits@1"] == record["results"]["syn"]["closed"]["hits@1"]
    assert "| syn | closed |" in (tmp_path / "results.md").read_text()


@needs_dbp
def test_checksums_and_download_refusal(tmp_path):
    from kgalign.errors import KgalignError
    from kgalign.evaluation.dbp15k import download_dbp15k, verify_pair

    assert verify_pair(DBP / "zh_en", "zh_en")["matches"]
    (tmp_path / "ref_ent_ids").write_bytes((DBP / "zh_en" / "ref_ent_ids").read_bytes().replace(b"10500", b"10501", 1))
    check = verify_pair(tmp_path, "zh_en")
    assert not check["matches"] and "ref_ent_ids" in check["differs"]
    with pytest.raises(KgalignError, match="download-url"):
        download_dbp15k(tmp_path, ["zh_en"])  # never downloads implicitly


def test_sparse_similarity_ranks_agree_with_dense():
    import scipy.sparse as sp

    def sparse_aligner(kg1, kg2, top=None, **kw):
        res = label_aligner(kg1, kg2, **kw)
        sim = res.similarity
        if top is not None:  # keep the top entries of each row: the rest are not candidates
            cut = -np.sort(-sim, axis=1)[:, top - 1 : top]
            sim = np.where(sim >= cut, sim, 0.0)
        res.similarity = sp.csr_matrix(sim)
        return res

    pair = synthetic_pair()
    dense = run_protocol(label_aligner, pair, "closed", seed=2)
    full = run_protocol(sparse_aligner, pair, "closed", seed=2)
    for key in ("hits@1", "hits@10", "mrr", "mr", "accuracy"):
        assert full[key] == pytest.approx(dense[key]), key
    top3 = run_protocol(lambda a, b, **kw: sparse_aligner(a, b, top=3, **kw), pair, "closed", seed=2)
    assert top3["hits@1"] == pytest.approx(dense["hits@1"])
    assert top3["censored"] > 0 and top3["mrr"] <= dense["mrr"] + 1e-12


def test_ties_are_excused_but_leaks_are_not():
    pair = synthetic_pair()
    # 12 kg2 entities share one label: their best scores tie and LAP breaks ties by order
    for j in range(12):
        pair.kg2.labels[j] = [("en", "same", 0)]
        pair.kg1.labels[j] = [("en", "same", 0)]
    out = run_protocol(label_aligner, pair, "closed", seed=0, max_disagreement=0.0)
    check = out["permutation_check"]
    assert check["passed"] and check["tied_fraction"] >= 12 / 40
    assert 0.0 < check["partner_disagreement"] <= check["allowed"]
    for leak in (gold_order_leak, position_leak):
        with pytest.raises(PermutationCheckError):
            run_protocol(leak, pair, "closed", seed=0, max_disagreement=0.0)


def test_total_seconds_does_not_count_sub_stages_twice():
    from kgalign.evaluation.protocol import total_seconds

    stages = {
        "load": {"seconds": 1.0},
        "similarity": {"seconds": 5.0},
        "similarity.features": {"seconds": 2.0},
        "similarity.strings": {"seconds": 2.5},
        "matching": {"seconds": 0.5},
        "orphan.sub": {"seconds": 0.25},
    }
    assert total_seconds(stages) == 1.0 + 5.0 + 0.5 + 0.25


def test_probe_summary_plot_is_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    from kgalign.lm.probing.plots import plot_probe_summary

    groups = ("seen", "transfer", "unseen")
    summary = {
        "p_at_1": dict(zip(groups, (0.9, 0.5, 0.2))),
        "chance": dict.fromkeys(groups, 0.03),
        "majority": dict.fromkeys(groups, 0.25),
        "n_facts": dict.fromkeys(groups, 10),
        "target_lang": "fr",
        "classes": {"shared": 3, "independent": 2},
    }
    out = plot_probe_summary(summary, tmp_path / "sub" / "p.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(KeyError):
        plot_probe_summary({"p_at_1": {"seen": 1.0}}, tmp_path / "q.png")
