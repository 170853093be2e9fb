"""Probing without models: bilingual facts, relation alignment, templates, tracing, metrics, neurons."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgalign.errors import InputError
from kgalign.kg import KnowledgeGraph
from kgalign.lm.probing import (
    TemplateSet,
    align_relations,
    bilingual_facts,
    classify_facts,
    consistency,
    count_cooccurrences,
    neuron_overlap,
    precision_at_1,
)
from kgalign.lm.probing.templates import fallback_template, readable_relation_name

SHARED = Path(__file__).resolve().parents[2] / "shared"
DBP = SHARED / "datasets" / "dbp15k"


# ---------------------------------------------------------------------- tiny KG pairs
def planted_pair(seed: int = 0, n: int = 40, m: int = 120, drop: float = 0.2, noise: int = 15):
    """KG2 = KG1 under an entity permutation and a planted relation map, minus some triples,
    plus random noise triples on an extra relation. Returns (kg1, kg2, links, rel_map, kept)."""
    rng = np.random.default_rng(seed)
    rels1 = [f"http://a.org/prop/r{i}" for i in range(4)]
    rels2 = [f"http://b.org/prop/s{i}" for i in range(5)]  # s4 is noise only
    rel_map = {0: 2, 1: 0, 2: 3, 3: 1}
    perm = rng.permutation(n)
    tr1 = set()
    while len(tr1) < m:
        h, t = rng.integers(n, size=2)
        if h != t:
            tr1.add((int(h), int(rng.integers(4)), int(t)))
    tr1 = sorted(tr1)
    kept = [tr for tr in tr1 if rng.random() >= drop]
    tr2 = {(int(perm[h]), rel_map[r], int(perm[t])) for h, r, t in kept}
    for _ in range(noise):
        h, t = rng.integers(n, size=2)
        tr2.add((int(h), 4, int(t)))
    kg1 = KnowledgeGraph([f"http://a.org/e{i}" for i in range(n)], triples=np.array(tr1), relations=rels1)
    kg2 = KnowledgeGraph([f"http://b.org/e{j}" for j in range(n)], triples=np.array(sorted(tr2)), relations=rels2)
    links = np.stack([np.arange(n), perm], axis=1)
    return kg1, kg2, links, rel_map, kept, tr1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relation_alignment_recovers_planted_pairs(seed):
    kg1, kg2, links, rel_map, kept, tr1 = planted_pair(seed)
    pairs = align_relations(kg1, kg2, links, min_support=3, min_confidence=0.3)
    best = {}
    for p in pairs:
        best.setdefault(p.rel1, p)
    assert {r: p.rel2 for r, p in best.items()} == rel_map
    for r1, _r2 in rel_map.items():
        p = best[r1]
        n_kept = sum(1 for _, r, _ in kept if r == r1)
        n_all = sum(1 for _, r, _ in tr1 if r == r1)
        # support = kept triples of r1 (the noise relation s4 never maps to r1's pairs)
        assert p.support == n_kept and p.n1 == n_all and p.n2 == n_kept
        assert p.conf12 == pytest.approx(n_kept / n_all) and p.conf21 == pytest.approx(1.0)
    assert all(p.rel2 != 4 or p.support < 3 for p in pairs)


def test_bilingual_facts_both_and_one_sided():
    kg1, kg2, links, rel_map, kept, tr1 = planted_pair(3)
    fs = bilingual_facts(kg1, kg2, links, min_support=3, min_confidence=0.3)
    kept_set = set(kept)
    c = fs.counts()
    assert c["both"] == len(kept_set)
    assert c["kg1"] == len(tr1) - len(kept_set)
    assert c["kg2"] == 0  # KG2 states no aligned fact that KG1 lacks (noise uses relation s4)
    perm = dict(links.tolist())
    for f in fs.facts:
        assert f.s2 == perm[f.s1] and f.o2 == perm[f.o1] and rel_map[f.rel1] == f.rel2
        assert (f.where == "both") == ((f.s1, f.rel1, f.o1) in kept_set)


def test_bilingual_facts_kg2_only_and_iri_links():
    kg1, kg2, links, rel_map, kept, tr1 = planted_pair(4)
    # drop one "both" triple from KG1: it becomes a KG2-only fact
    victim = kept[0]
    kg1b = KnowledgeGraph(kg1.entities, triples=np.array([t for t in tr1 if t != victim]), relations=kg1.relations)
    iri_links = [(kg1.entities[i], kg2.entities[j]) for i, j in links.tolist()]
    fs = bilingual_facts(kg1b, kg2, iri_links, min_support=3, min_confidence=0.3)
    only2 = fs.where("kg2")
    assert [(f.s1, f.rel1, f.o1) for f in only2] == [victim]


def test_unknown_link_entity_is_reported():
    kg1, kg2, links, *_ = planted_pair(0)
    with pytest.raises(InputError, match="nope"):
        align_relations(kg1, kg2, [("http://a.org/e0", "nope")])


@pytest.mark.slow
@pytest.mark.skipif(not DBP.exists(), reason="shared datasets absent")
def test_dbp15k_relation_alignment_finds_same_property():
    from kgalign.io import load_pair

    pair = load_pair(DBP / "zh_en")
    pairs = align_relations(pair.kg1, pair.kg2, pair.links, min_support=50)
    top = {p.iri1.rsplit("/", 1)[-1]: p.iri2.rsplit("/", 1)[-1] for p in pairs[:5]}
    # independent expectation: DBpedia editions share infobox property names
    assert top.get("clubs") == "clubs" and top.get("predecessor") == "predecessor"


# ---------------------------------------------------------------------- templates
def test_shipped_templates_are_complete_and_valid():
    ts = TemplateSet.load()
    assert len(ts) >= 20
    for e in ts.entries:
        assert set(e["templates"]) >= {"en", "zh", "ja", "fr"}, e["id"]
        for lang, t in e["templates"].items():
            assert t.count("[X]") == 1 and t.count("[Y]") == 1
            if lang in ("zh", "ja"):
                assert " " not in t and t.endswith("。")
            else:
                assert t.endswith(" .")


@pytest.mark.skipif(not DBP.exists(), reason="shared datasets absent")
@pytest.mark.parametrize("pair", ["zh_en", "ja_en", "fr_en"])
def test_templates_cover_most_frequent_dbp15k_relations(pair):
    ts = TemplateSet.load()
    for side in ("1", "2"):
        iris = dict(line.rstrip("\n").split("\t") for line in open(DBP / pair / f"rel_ids_{side}", encoding="utf-8"))
        counts: dict[str, int] = {}
        for line in open(DBP / pair / f"triples_{side}", encoding="utf-8"):
            r = line.split("\t")[1]
            counts[r] = counts.get(r, 0) + 1
        top = sorted(counts, key=counts.get, reverse=True)[:10]
        covered = [iris[r] for r in top if ts.entry(iris[r]) is not None]
        assert len(covered) >= 7, (pair, side, [iris[r] for r in top])


def test_template_lookup_by_local_name_and_fallback():
    ts = TemplateSet.load()
    t = ts.get("http://zh.dbpedia.org/property/predecessor", "zh")
    assert not t.fallback and t.relation_id == "predecessor" and t.text.startswith("[X]")
    # relation without template: the aligned relation's template is used
    t2 = ts.get("http://fr.dbpedia.org/property/zzz", "fr", also=("http://dbpedia.org/property/birthPlace",))
    assert not t2.fallback and "né" in t2.text
    fb = ts.get("http://dbpedia.org/property/someWeirdThing", "en")
    assert fb.fallback and "some weird thing" in fb.text
    assert readable_relation_name("http://x.org/p/birthPlace") == "birth place"
    assert fallback_template("http://x.org/p/主演", "zh").text == "[X]的主演是[Y]。"


def test_bad_template_file_names_file(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text(
        "format: kgalign-templates/1\nrelations:\n  - id: a\n    match: [a]\n    templates: {en: 'no slots'}\n"
    )
    with pytest.raises(InputError, match=r"t\.yaml.*exactly once"):
        TemplateSet.load(bad)
    bad.write_text("relations: [\n")
    with pytest.raises(InputError, match=r"t\.yaml:\d+: invalid YAML"):
        TemplateSet.load(bad)
    j = tmp_path / "t.json"
    j.write_text(
        json.dumps(
            {
                "format": "kgalign-templates/1",
                "relations": [{"id": "born", "match": ["http://x.org/born"], "templates": {"en": "[X] born [Y] ."}}],
            }
        )
    )
    assert TemplateSet.load(j).get("http://x.org/born", "en").text == "[X] born [Y] ."


# ---------------------------------------------------------------------- tracing
def test_tracing_counts_exactly_hand_made():
    corpus = [
        "Paris is the capital of France . Paris !",
        "France borders Spain",
        "東京は日本の首都である。",
        "nothing here",
        "France and Paris",
    ]
    pairs = [("Paris", "France"), ("東京", "日本"), ("Spain", "Paris"), ("Paris", "Paris")]
    co = count_cooccurrences(corpus, pairs, window=10)
    assert [c.lines for c in co] == [2, 1, 0, 2]
    # windows: line 1 has Paris@0, Paris@33, France@24; gaps: 24-5=19 (no), 33-30=3 (yes);
    # line 5: France@0 (ends 6), Paris@11 -> gap 5 (yes); 東京 ends 2, 日本 at 3 -> gap 1
    assert [c.windows for c in co][:3] == [2, 1, 0]
    # ("Paris", "Paris"): two occurrences in line 1, ordered pairs at distinct offsets, gap 28 > 10
    assert co[3].windows == 0
    assert count_cooccurrences(corpus, pairs[:1])[0].windows == 0


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(st.text(alphabet="ab c", max_size=14), max_size=6),
    s=st.text(alphabet="abc", min_size=1, max_size=3),
    o=st.text(alphabet="abc", min_size=1, max_size=3),
    window=st.integers(0, 5),
)
def test_tracing_matches_brute_force(lines, s, o, window):
    def occ(line, name):
        return [m.start() for m in re.finditer(f"(?={re.escape(name)})", line)]

    exp_lines, exp_win = 0, 0
    for line in lines:
        a, b = occ(line, s), occ(line, o)
        if a and b:
            exp_lines += 1
        for i in a:
            for j in b:
                if s == o and i == j:
                    continue
                first_end = (i + len(s)) if i <= j else (j + len(o))
                gap = max(0, (j if i <= j else i) - first_end)
                exp_win += gap <= window
    c = count_cooccurrences(lines, [(s, o)], window=window)[0]
    assert (c.lines, c.windows) == (exp_lines, exp_win)


# ---------------------------------------------------------------------- metrics
def test_precision_and_consistency_against_direct_counts():
    rng = np.random.default_rng(0)
    rows = []
    for f in range(50):
        rel = f"r{f % 3}"
        for lang in ("fr", "en"):
            rows.append({"fact": f, "lang": lang, "relation_id": rel, "correct": bool(rng.random() < 0.5)})
    p = precision_at_1(rows)
    for lang in ("fr", "en"):
        mine = [r for r in rows if r["lang"] == lang]
        assert p[lang]["micro"] == pytest.approx(np.mean([r["correct"] for r in mine]))
        per = [np.mean([r["correct"] for r in mine if r["relation_id"] == k]) for k in ("r0", "r1", "r2")]
        assert p[lang]["macro"] == pytest.approx(np.mean(per))
    c = consistency(rows, "fr", "en")
    both = sum(1 for f in range(50) if rows[2 * f]["correct"] and rows[2 * f + 1]["correct"])
    none = sum(1 for f in range(50) if not rows[2 * f]["correct"] and not rows[2 * f + 1]["correct"])
    assert c["both"] == both and c["none"] == none and c["n"] == 50
    assert c["both"] + c["only_fr"] + c["only_en"] + c["none"] == 50


def test_classify_facts_transferred_and_shared():
    rows = [
        {"fact": 0, "lang": "fr", "relation_id": "r", "correct": True},
        {"fact": 0, "lang": "en", "relation_id": "r", "correct": True},
        {"fact": 1, "lang": "fr", "relation_id": "r", "correct": True},
        {"fact": 1, "lang": "en", "relation_id": "r", "correct": True},
        {"fact": 2, "lang": "fr", "relation_id": "r", "correct": False},
        {"fact": 2, "lang": "en", "relation_id": "r", "correct": True},
    ]
    present = {(0, "fr"): True, (0, "en"): True, (1, "fr"): False, (1, "en"): True, (2, "fr"): False, (2, "en"): True}
    classify_facts(rows, "fr", "en", shared={0: True, 1: False}, present=present)
    assert [r["class"] for r in rows] == ["shared", "shared", "transferred", "independent", "not-known-here", "en-only"]


# ---------------------------------------------------------------------- neurons
def test_neuron_overlap_shared_vs_independent():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(30, 400))
    same = base + 0.05 * rng.normal(size=base.shape)  # the other language reuses the neurons
    other = rng.normal(size=base.shape)  # unrelated neurons
    ov_same = neuron_overlap(base, same, top_n=20)
    ov_other = neuron_overlap(base, other, top_n=20)
    assert ov_same.shared.mean() > 0.9 and ov_same.overlap.mean() > 0.8
    assert ov_other.shared.mean() < 0.2
    # the threshold is the stated quantile of the mismatched-fact overlaps
    assert ov_same.threshold == pytest.approx(np.quantile(ov_same.null, 0.95))
    s = ov_same.summary()
    assert s["shared"] + s["independent"] == 30 and "quantile" in s["threshold_rule"]
    with pytest.raises(InputError):
        neuron_overlap(base[:1], same[:1])


class _ScoreProber:
    """A prober whose candidate scores are given by a function of (subject, candidate)."""

    def __init__(self, score):
        self.score = score

    def rank_candidates(self, template, subjects, names):
        return np.array([[self.score(s, n) for n in names] for s in subjects], dtype=np.float64)


def test_typed_ranking_ties_are_pessimistic_and_order_free():
    from kgalign.lm.probing.core import Query, precision_at_1, probe_queries
    from kgalign.lm.probing.templates import Template

    tpl = Template("[X] was born in [Y] .", "born", "en")
    subjects = ["alice", "bob", "carol"]
    gold = {"alice": "paris", "bob": "rome", "carol": "paris"}
    queries = [Query(k, "en", 1, "r", tpl, s, gold[s], "c") for k, s in enumerate(subjects)]
    cands = ["paris", "rome", "oslo"]
    # a constant scorer knows nothing: every gold object is tied with all candidates
    for order in (cands, cands[::-1]):
        rows = probe_queries(_ScoreProber(lambda s, n: 0.0), queries, {"c": list(order)})
        assert all(r["rank"] == 3 and not r["correct"] and r["ties"] == 2 for r in rows)
        assert precision_at_1(rows)["en"]["micro"] == 0.0
    # a scorer that ranks the gold object strictly first is right whatever the candidate order
    knows = _ScoreProber(lambda s, n: 1.0 if gold[s] == n else 0.0)
    for order in (cands, cands[::-1], ["oslo", "paris", "rome"]):
        rows = probe_queries(knows, queries, {"c": list(order)})
        assert [r["rank"] for r in rows] == [1, 1, 1]


def test_classify_facts_guessed_is_not_transferred():
    rows = [
        {"fact": 0, "lang": "fr", "relation_id": "r", "correct": True},
        {"fact": 0, "lang": "en", "relation_id": "r", "correct": False},
        {"fact": 1, "lang": "fr", "relation_id": "r", "correct": True},
        {"fact": 1, "lang": "en", "relation_id": "r", "correct": True},
    ]
    # fact 0: in neither corpus -> a guess; fact 1: only in the English corpus -> transferred to fr
    present = {(0, "fr"): False, (0, "en"): False, (1, "fr"): False, (1, "en"): True}
    classify_facts(rows, "fr", "en", present=present)
    assert [r["class"] for r in rows] == ["guessed", "not-known-here", "transferred", "both"]


def test_probeless_scores_match_the_definition():
    from kgalign.lm.probing.neurons import probeless_scores

    rng = np.random.default_rng(1)
    acts = rng.normal(size=(9, 5))
    labels = ["a", "b", "c"] * 3
    order, scores = probeless_scores(acts, labels)
    assert order == ["a", "b", "c"]
    q = {z: acts[[i for i, l in enumerate(labels) if l == z]].mean(axis=0) for z in order}
    for i, z in enumerate(order):
        want = sum(np.abs(q[z] - q[w]) for w in order if w != z) / 2
        np.testing.assert_allclose(scores[i], want)


def test_probeless_sharing_finds_planted_shared_neurons_and_reports_seed_spread():
    from kgalign.lm.probing.neurons import probeless_sharing

    rng = np.random.default_rng(0)
    n, per = 300, 4
    labels = [("r", z) for z in range(12) for _ in range(per)] + [("s", z) for z in range(12) for _ in range(per)]
    planted = {lab: rng.choice(n, 10, replace=False) for lab in set(labels)}

    def acts(shared_labels):
        a = rng.normal(size=(len(labels), n))
        for i, lab in enumerate(labels):
            units = planted[lab] if lab in shared_labels else rng.choice(n, 10, replace=False)
            a[i, units] += 6.0
        return a

    shared_labels = {lab for lab in set(labels) if lab[1] < 6}  # half the objects share neurons
    res = probeless_sharing(acts(set(labels)), labels, acts(shared_labels), labels, top_n=10, seeds=range(5))
    called = dict(zip(res.labels, res.shared.mean(axis=0) > 0.5))
    truth = {lab: lab in shared_labels for lab in res.labels}
    agree = np.mean([called[lab] == truth[lab] for lab in res.labels])
    assert agree >= 0.9
    s = res.summary()
    assert len(s["shared_share_by_seed"]) == 5 and s["shared_share_std"] >= 0.0
    assert abs(s["shared_share_mean"] - 0.5) < 0.15
    # the null never pairs two relations: entries are finite only within a group of >= 2 labels
    assert np.isfinite(res.null).all()


def test_ablating_neurons_changes_the_prediction_only_when_they_matter():
    pytest.importorskip("torch")
    from kgalign.lm.finetune import tiny_model, word_tokenizer
    from kgalign.lm.probing.lm import MaskedLMProber
    from kgalign.lm.probing.neurons import ablate
    from kgalign.lm.probing.templates import Template

    tok = word_tokenizer(["alice was born in paris rome"])
    model = tiny_model("bert", len(tok), layers=1, hidden=16, heads=2, seed=0)
    prober = MaskedLMProber(model, tok)
    tpl = Template("[X] was born in [Y] .", "born", "en")
    acts = prober.ffn_activations(tpl, ["alice"], 1)[0]
    base = prober.rank_candidates(tpl, ["alice"], ["paris", "rome"])
    with ablate(model, np.arange(acts.shape[0])):  # every FFN neuron off
        off = prober.rank_candidates(tpl, ["alice"], ["paris", "rome"])
        assert np.allclose(prober.ffn_activations(tpl, ["alice"], 1)[0], 0.0)
    with ablate(model, []):
        same = prober.rank_candidates(tpl, ["alice"], ["paris", "rome"])
    assert not np.allclose(base, off) and np.allclose(base, same)
    assert np.allclose(prober.rank_candidates(tpl, ["alice"], ["paris", "rome"]), base)  # hooks removed


def test_patching_writes_the_source_activations_into_exactly_the_chosen_neurons():
    torch = pytest.importorskip("torch")
    from kgalign.errors import InputError
    from kgalign.lm.finetune import tiny_model, word_tokenizer
    from kgalign.lm.probing.lm import ffn_modules
    from kgalign.lm.probing.neurons import patch

    tok = word_tokenizer(["alice was born in paris", "bob lives far from rome"])
    model = tiny_model("bert", len(tok), layers=2, hidden=16, heads=2, seed=0)
    src = tok("alice was born in paris", return_tensors="pt")
    tgt = tok("bob lives far from rome", return_tensors="pt")
    assert src["input_ids"].shape == tgt["input_ids"].shape
    layers = model.bert.encoder.layer

    def run(enc):
        acts, proj = [], []
        hs = [m.register_forward_hook(lambda m, i, o: acts.append(o.detach().clone())) for m in ffn_modules(model)]
        hs += [l.output.dense.register_forward_hook(lambda m, i, o: proj.append(o.detach().clone())) for l in layers]
        try:
            with torch.no_grad():
                logits = model(**enc).logits
        finally:
            for h in hs:
                h.remove()
        return logits, acts, proj

    s_logits, s_acts, s_proj = run(src)
    t_logits, t_acts, t_proj = run(tgt)
    d = s_acts[0].shape[-1]
    # every neuron of layer 0, every position, from the source run: layer 0's FFN (activations
    # and output projection) is the source's; the rest of the network still sees the target
    with patch(model, np.arange(d), s_acts[0].numpy()):
        p_logits, p_acts, p_proj = run(tgt)
    assert torch.equal(p_acts[0], s_acts[0])
    torch.testing.assert_close(p_proj[0], s_proj[0])
    assert not torch.allclose(p_acts[1], s_acts[1]) and not torch.allclose(p_acts[1], t_acts[1])
    # no neuron: nothing changes
    with patch(model, [], np.zeros(0)):
        assert torch.equal(run(tgt)[0], t_logits)
    # a random subset of both layers at one position: the target's own values change nothing,
    # the source's values change the output (so the flat ids map onto the right units)
    rng = np.random.default_rng(0)
    ids = rng.choice(2 * d, 12, replace=False)
    pos = 3
    own = torch.cat([a[0, pos] for a in t_acts]).numpy()[ids]
    other = torch.cat([a[0, pos] for a in s_acts]).numpy()[ids]
    with patch(model, ids, own, positions=pos):
        torch.testing.assert_close(run(tgt)[0], t_logits)
    with patch(model, ids, other, positions=[pos]):
        out, acts, _ = run(tgt)
    assert not torch.allclose(out[0, pos], t_logits[0, pos])
    flat = torch.cat([a[0, pos] for a in acts]).numpy()
    np.testing.assert_allclose(flat[ids], other)  # the chosen units hold the source values
    rest = np.setdiff1d(np.arange(d), ids)  # layer 0 units not chosen keep the target's values
    np.testing.assert_allclose(flat[rest], torch.cat([a[0, pos] for a in t_acts]).numpy()[rest])
    assert torch.equal(run(tgt)[0], t_logits)  # hooks removed
    with pytest.raises(InputError):
        patch(model, [1, 2], np.zeros(3))
    with pytest.raises(InputError):
        with patch(model, [2 * d], np.zeros(1)):
            run(tgt)
