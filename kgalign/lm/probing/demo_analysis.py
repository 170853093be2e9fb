"""Analyses of the probing demo beyond P@1: kgalign's own links against gold, and neurons.

* :func:`aligner_comparison` probes the demo's facts again as kgalign's unsupervised
  alignment reproduces them (no gold link used), so the demo shows how much of each P@1
  survives alignment errors: a fact whose subject or object is linked wrongly is asked with
  the wrong English names, or is not found at all (then it counts as a miss).
* :func:`neuron_analysis` follows Zhao, Yoshinaga & Oba (EACL 2024): PROBELESS neurons per
  relation and object in each language, their overlap against a null within the same
  relation (spread over seeds), and two causal checks: ablating the top neurons of one
  language and measuring the effect on the other language's prediction, against ablating
  the top neurons of another object of the same relation; and activation patching
  (:func:`kgalign.lm.probing.neurons.patch`): the other language's prompt is run with the
  top neurons set to their values in this language's run of the same fact, or of a fact
  with another object (does the prediction move to that object?), against as many random
  neurons.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["aligner_comparison", "neuron_analysis"]


def aligner_comparison(
    pair,
    fs,
    groups: dict,
    queries,
    rows,
    prober,
    templates,
    candidates: dict,
    lang1: str,
    lang2: str,
    group_names=("seen", "transfer", "unseen"),
) -> dict:
    """P@1 of the demo's facts with gold links and with kgalign's own alignment, side by side.

    Parameters
    ----------
    pair : KGPair
    fs : BilingualFactSet
        The facts built from the gold links (the demo's selection indexes ``fs.facts``).
    groups : dict of int to str
        Selected fact -> group.
    queries, rows : list
        The demo's queries and probing rows (gold links).
    prober : MaskedLMProber
    templates : TemplateSet
    candidates : dict
        The demo's candidate sets.
    lang1, lang2 : str

    Returns
    -------
    dict
        ``links`` (source, count, precision/recall against gold, aligner seconds),
        ``recovered`` (selected facts the aligner's links reproduce in both KGs),
        ``p_at_1_gold`` / ``p_at_1_aligner``: ``{lang: {group: P@1}}`` over the same
        selected facts (a fact not reproduced counts as wrong), and ``survival``:
        aligner P@1 / gold P@1 per language and group.
    """
    from kgalign.lm.probing.core import build_queries, probe_queries
    from kgalign.lm.probing.facts import bilingual_facts
    from kgalign.lm.probing.links import aligned_links

    links, info = aligned_links(pair, "aligner", show_progress=False)
    fs_al = bilingual_facts(pair.kg1, pair.kg2, links)
    by_key: dict[tuple[int, int, int, int], int] = {}
    for k, f in enumerate(fs_al.facts):
        if f.where == "both":
            by_key.setdefault((f.s1, f.rel1, f.o1, f.rel2), k)
    gold_to_al = {}
    for k in groups:
        f = fs.facts[k]
        hit = by_key.get((f.s1, f.rel1, f.o1, f.rel2))
        if hit is not None:
            gold_to_al[hit] = k
    q_al, _ = build_queries(fs_al, templates, lang1, lang2, where=("both",))
    q_al = [q for q in q_al if q.fact in gold_to_al]
    for q in q_al:
        q.extra["group"] = groups[gold_to_al[q.fact]]
        q.extra["gold_fact"] = gold_to_al[q.fact]
    rows_al = probe_queries(prober, q_al, candidates, mode="typed") if q_al else []
    correct_al = {(r["gold_fact"], r["lang"]): bool(r["correct"]) for r in rows_al}
    correct_gold = {(r["fact"], r["lang"]): bool(r["correct"]) for r in rows}

    def p1(table):
        out = {}
        for lang in (lang1, lang2):
            out[lang] = {}
            for g in group_names:
                facts = [k for k, gg in groups.items() if gg == g]
                out[lang][g] = float(np.mean([table.get((k, lang), False) for k in facts])) if facts else float("nan")
        return out

    gold_p, al_p = p1(correct_gold), p1(correct_al)
    survival = {
        lang: {g: (al_p[lang][g] / gold_p[lang][g] if gold_p[lang][g] else float("nan")) for g in group_names}
        for lang in (lang1, lang2)
    }
    same_en = sum(1 for q in q_al if q.lang == lang2 and _same_query(q, queries))
    return {
        "links": {k: v for k, v in info.items() if k != "config"},
        "recovered": {"facts": len(gold_to_al), "of": len(groups), "with_gold_queries_in_both_languages": same_en},
        "p_at_1_gold": gold_p,
        "p_at_1_aligner": al_p,
        "survival": survival,
    }


def _same_query(q, gold_queries) -> bool:
    k = q.extra.get("gold_fact")
    for g in gold_queries:
        if g.fact == k and g.lang == q.lang:
            return g.subject == q.subject and g.object == q.object
    return False


def _patching(prober, by_lang, acts, labels, res, rel_labels, cands, lang1, lang2, shared_label) -> dict:
    """Activation patching of PROBELESS neurons from ``lang1`` runs into ``lang2`` runs.

    For every ``lang2`` query of a fact also asked in ``lang1`` (label z = (relation, object o)):

    * ``same``: write the ``lang1`` activations of the same fact into the ``lang1`` top-N
      neurons of z at the first mask; statistic: change of log P(o) in ``lang2``;
    * ``other``: write the ``lang1`` activations of a fact of the same relation with another
      object o' into the top-N neurons of z' = (relation, o'); statistic: change of
      log P(o') - log P(o) (how far the prediction moves toward the source fact's object)
      and the share of queries whose top candidate becomes o';

    each against as many random neurons per layer as the top-N has there, written with the
    same source run.
    """
    from kgalign.lm.probing.neurons import patch

    q1, q2 = by_lang[lang1], by_lang[lang2]
    row1 = {q.fact: i for i, q in enumerate(q1)}
    by_label2: dict = defaultdict(list)
    for j, lab in enumerate(labels[lang2]):
        if q2[j].fact in row1:
            by_label2[lab].append(j)
    from kgalign.lm.probing.lm import ffn_modules

    d = acts[lang1].shape[1] // max(1, len(ffn_modules(prober.model)))
    rng = np.random.default_rng(0)

    def random_like(ids):  # as many random neurons in each layer as ``ids`` has there
        ids = np.asarray(ids)
        out = [
            layer * d + rng.choice(d, int((ids // d == layer).sum()), replace=False) for layer in np.unique(ids // d)
        ]
        return np.concatenate(out) if out else ids

    stats: dict[str, dict[bool, list[float]]] = {
        k: {True: [], False: []}
        for k in ("same_top", "same_random", "other_top", "other_random", "flip_top", "flip_random")
    }
    for z, js in by_label2.items():
        if z not in shared_label:
            continue
        others = [w for w in rel_labels[z[0]] if w != z and by_label2.get(w)]
        for j in js:
            q = q2[j]
            names = sorted(cands[q.candidates])
            gold = names.index(q.object)
            pos = prober.query_ids(q.template, q.subject, 1)[1][0]
            base = prober.rank_candidates(q.template, [q.subject], names)[0]
            src = acts[lang1][row1[q.fact]]
            top = np.asarray(res.top1[z])
            rand = random_like(top)
            for kind, ids in (("same_top", top), ("same_random", rand)):
                with patch(prober.model, ids, src[ids], positions=pos):
                    after = prober.rank_candidates(q.template, [q.subject], names)[0]
                stats[kind][bool(shared_label[z])].append(float(after[gold] - base[gold]))
            if not others:
                continue
            w = others[int(rng.integers(len(others)))]
            g = q2[by_label2[w][int(rng.integers(len(by_label2[w])))]]
            if g.object not in names:
                continue
            alt = names.index(g.object)
            src_o = acts[lang1][row1[g.fact]]
            top_o = np.asarray(res.top1[w])
            rand_o = random_like(top_o)
            for kind, ids in (("top", top_o), ("random", rand_o)):
                with patch(prober.model, ids, src_o[ids], positions=pos):
                    after = prober.rank_candidates(q.template, [q.subject], names)[0]
                shift = (after[alt] - after[gold]) - (base[alt] - base[gold])
                stats[f"other_{kind}"][bool(shared_label[z])].append(float(shift))
                stats[f"flip_{kind}"][bool(shared_label[z])].append(float(int(np.argmax(after)) == alt))
    out: dict = {
        "statistic": (
            f"{lang2} queries with {lang1} activations written into {lang1} top-N neurons at the first mask; "
            "same: change of log P(gold) from the same fact; other: change of log P(o') - log P(gold) from a "
            "fact with another object o' of the relation (flip: top candidate becomes o'); random: as many "
            "random neurons per layer, same source run"
        ),
    }
    for kind, by in stats.items():
        for s_, v in by.items():
            out[f"{kind}_{'shared' if s_ else 'not_shared'}"] = float(np.mean(v)) if v else float("nan")
        allv = by[True] + by[False]
        out[f"{kind}_all"] = float(np.mean(allv)) if allv else float("nan")
    out["n"] = {
        "same": len(stats["same_top"][True]) + len(stats["same_top"][False]),
        "other": len(stats["other_top"][True]) + len(stats["other_top"][False]),
    }
    return out


def neuron_analysis(
    prober,
    queries,
    rows,
    fs,
    lang1: str,
    lang2: str,
    *,
    top_n: int = 50,
    seeds=tuple(range(10)),
    quantile: float = 0.95,
) -> tuple[dict, dict]:
    """PROBELESS sharing per (relation, object) and the causal ablation check.

    Returns
    -------
    (dict, dict of int to bool)
        The summary (:meth:`SharedNeurons.summary` plus ``causal``) and, for facts correct in
        both languages, whether their (relation, object) label is shared in most seeds.
        ``causal``: mean drop of the gold object's log-probability in ``lang2`` when the
        ``lang1`` top-N neurons of the fact's own label are ablated (``own``) and when those of
        another object of the same relation are ablated (``control``), over labels called
        shared and not shared. ``patching``: see :func:`_patching` (means over labels called
        shared, not shared and all, and the query counts).
    """
    from kgalign.lm.probing.neurons import ablate, probeless_sharing

    by_lang = {lang: [q for q in queries if q.lang == lang] for lang in (lang1, lang2)}
    acts, labels = {}, {}
    for lang, qs in by_lang.items():
        per = defaultdict(list)
        for i, q in enumerate(qs):
            per[(q.template.text, len(prober.tokens(q.object)))].append(i)
        a = np.zeros((len(qs), 0), dtype=np.float32)
        blocks: dict[int, np.ndarray] = {}
        for (_, n), idx in per.items():
            tpl = qs[idx[0]].template
            blocks.update(zip(idx, prober.ffn_activations(tpl, [qs[i].subject for i in idx], n)))
        a = np.stack([blocks[i] for i in range(len(qs))])
        acts[lang] = a
        labels[lang] = [(q.template.relation_id, int(fs.facts[q.fact].o1)) for q in qs]
    width = acts[lang1].shape[1]
    res = probeless_sharing(
        acts[lang1], labels[lang1], acts[lang2], labels[lang2], top_n=min(top_n, width), seeds=seeds, quantile=quantile
    )
    summary = res.summary()
    shared_label = dict(zip(res.labels, res.shared.mean(axis=0) > 0.5))

    # causal check: ablate language-1 neurons of a label, score the language-2 queries
    rel_labels = defaultdict(list)
    for z in res.labels:
        rel_labels[z[0]].append(z)
    q2 = by_lang[lang2]
    cands: dict = defaultdict(set)
    for q in q2:
        cands[q.candidates].add(q.object)
    effects: dict[str, dict[bool, list[float]]] = {"own": {True: [], False: []}, "control": {True: [], False: []}}
    rng = np.random.default_rng(0)
    for z in res.labels:
        others = [w for w in rel_labels[z[0]] if w != z]
        idx = [i for i, lab in enumerate(labels[lang2]) if lab == z]
        if not others or not idx:
            continue
        ctrl = others[int(rng.integers(len(others)))]
        tpl = q2[idx[0]].template
        names = sorted(cands[q2[idx[0]].candidates])
        pos = [names.index(q2[i].object) for i in idx]
        subj = [q2[i].subject for i in idx]
        base = prober.rank_candidates(tpl, subj, names)
        for kind, neurons in (("own", res.top1[z]), ("control", res.top1[ctrl])):
            with ablate(prober.model, neurons):
                after = prober.rank_candidates(tpl, subj, names)
            drop = [float(base[j][p] - after[j][p]) for j, p in enumerate(pos)]
            effects[kind][bool(shared_label[z])].extend(drop)
    summary["causal"] = {
        "statistic": f"drop of the gold object's log-probability in {lang2} after ablating {lang1} top-N neurons",
        **{
            f"{kind}_{'shared' if s else 'not_shared'}": (float(np.mean(v)) if v else float("nan"))
            for kind in effects
            for s, v in effects[kind].items()
        },
        "n": {f"{'shared' if s else 'not_shared'}": len(v) for s, v in effects["own"].items()},
    }
    summary["patching"] = _patching(prober, by_lang, acts, labels, res, rel_labels, cands, lang1, lang2, shared_label)
    ok: defaultdict[int, int] = defaultdict(int)
    for r in rows:
        if r.get("correct"):
            ok[r["fact"]] += 1
    label_of = {q.fact: (q.template.relation_id, int(fs.facts[q.fact].o1)) for q in by_lang[lang1]}
    shared = {f: bool(shared_label.get(label_of[f], False)) for f, n in ok.items() if n == 2 and f in label_of}
    return summary, shared
