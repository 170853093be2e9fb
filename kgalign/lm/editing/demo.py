"""Offline cross-lingual edit-propagation experiment (``kgalign edit --demo``).

1. A small bilingual BERT is trained on verbalised aligned DBP15K facts exactly as the
   probing demo does (:func:`kgalign.lm.probing.demo.build_demo_model`), with every fact
   also stated with a second phrasing (paraphrase generality needs one).
2. ``n_edits`` facts that the model knows in both languages are corrected in KG1 (the
   source language): ``replace`` the object by another object of the relation.
3. KG level: the edits are propagated to KG2 through the entity alignment (a kgalign
   result when ``alignment`` is given, else the gold links, said so in the output).
4. Model level: for every method, the edits are written in the source language only, or
   in both languages (the target-language prompt named through the alignment), as one
   batch and one by one (sequential), and judged with Wang et al.'s metrics. Cross-lingual
   generality is judged on the *gold* target-language fact, whatever the alignment said.
5. Every edit is reverted and the weights are compared bit for bit with the original.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Sized
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from kgalign.errors import InputError

if TYPE_CHECKING:
    from kgalign.kg import KGPair
    from kgalign.lm.probing.facts import BilingualFactSet
    from kgalign.lm.probing.lm import MaskedLMProber

MODES = ("source", "both")
METRICS = ("reliability", "generality_paraphrase", "generality_crosslingual", "locality", "portability")


@dataclass
class EditDemoConfig:
    """Settings of :func:`run_edit_demo` (defaults: a few minutes on 2 CPU cores).

    Attributes
    ----------
    pair, data_dir : DBP15K pair and its parent folder (as the probing demo).
    n_facts, epochs : facts verbalised and training epochs of the demo model.
    n_edits : int
        Facts corrected (a batch); the sequential run uses the first ``n_sequential``.
    n_sequential : int
    methods : tuple of str
        Edit methods (:data:`kgalign.lm.editing.methods.METHODS`).
    n_locality : int
        Unedited facts per language whose predictions must not change.
    n_preserve : int
        Other unedited facts (disjoint from the locality set) whose current predictions
        the gradient methods train alongside the edits (0 turns it off); at most the seen
        facts left after the locality set (12 with the defaults: said in the output).
    n_anchor : int
        Gold-free locality prompts per language for ``ft-kl``'s KL term (besides the
        preserve facts): the demo relations' templates filled with names of entities that
        are the subject of no demo fact (disjoint from the locality and edited facts by
        construction). Not given to the hard-label methods: as extra preserve examples they
        drown the edit (validation: reliability 0.44 for ft-child with 200 anchors).
    alignment : str, optional
        Alignment file produced by ``kgalign align`` for the pair; default the gold links.
    min_confidence : float
        Entity-link confidence floor of the KG propagation.
    seed, threads, progress : as the probing demo.
    edit_seed : int, optional
        Seed of the choice of edited, locality and preserve facts (default ``seed``); a
        different value with the same model is a validation setting for hyper-parameters.
    cache_model : bool
        Load the trained demo model from ``$KGALIGN_HOME/demo_models`` when the same
        configuration and data were trained before (:mod:`kgalign.lm.probing.model_cache`).
    """

    pair: str = "fr_en"
    data_dir: str | None = None
    n_facts: int = 200
    epochs: int = 30
    n_edits: int = 10
    n_sequential: int = 5
    methods: tuple = ("ft-child", "ft-kl", "lt-sft", "lora", "rome")
    n_locality: int = 150
    n_preserve: int = 60
    n_anchor: int = 500
    alignment: str | None = None
    min_confidence: float = 0.0
    seed: int = 0
    threads: int | None = 1
    progress: bool = False
    options: dict = field(default_factory=dict)
    edit_seed: int | None = None
    cache_model: bool = True


def _links_from_file(path, pair):
    from kgalign.io.readers import read_alignment

    al = read_alignment(path).equivalences()
    idx1, idx2 = pair.kg1.index, pair.kg2.index
    rows, scores = [], []
    for k, (a, b) in enumerate(al.pairs):
        a = a if a in idx1 else al.aliases1.get(a, a)
        b = b if b in idx2 else al.aliases2.get(b, b)
        if a in idx1 and b in idx2:
            rows.append((idx1[a], idx2[b]))
            scores.append(1.0 if al.scores is None else float(al.scores[k]))
    if not rows:
        raise InputError("no pair of the alignment names entities of the two graphs", path)
    return np.asarray(rows, dtype=np.int64), np.asarray(scores)


def choose_edits(built, prober, n: int, seed: int):
    """Seen facts known in both languages, each with a new object of the same relation.

    Returns
    -------
    list of (fact index, new object position in KG1)
    """
    from kgalign.lm.editing.metrics import predict_tokens

    fs, kg1 = built.fs, built.pair.kg1
    by_fact: defaultdict[int, dict[str, Any]] = defaultdict(dict)
    for q in built.queries:
        by_fact[q.fact][q.lang] = q
    seen = sorted(f for f, g in built.groups.items() if g == "seen")
    items = [
        (by_fact[f][lang].template, by_fact[f][lang].subject, len(prober.tokens(by_fact[f][lang].object)))
        for f in seen
        for lang in (built.lang1, built.lang2)
    ]
    preds = predict_tokens(prober, items)
    known = []
    for i, f in enumerate(seen):
        ok = all(
            preds[2 * i + j] == prober.tokens(by_fact[f][lang].object)
            for j, lang in enumerate((built.lang1, built.lang2))
        )
        if ok:
            known.append(f)
    rng = np.random.default_rng(seed)
    rng.shuffle(known)
    objs_by_rel = defaultdict(set)
    for f in built.groups:
        objs_by_rel[fs.facts[f].rel1].add(fs.facts[f].o1)
    out, used_subjects = [], set()
    for f in known:
        fact = fs.facts[f]
        if fact.s1 in used_subjects:
            continue
        # the new object: another object of the relation, named differently in both languages
        choices = sorted(
            o
            for o in objs_by_rel[fact.rel1]
            if o != fact.o1 and kg1.label(o, built.lang1) != kg1.label(fact.o1, built.lang1)
        )
        if not choices:
            continue
        out.append((f, int(rng.choice(choices))))
        used_subjects.add(fact.s1)
        if len(out) == n:
            break
    if not out:
        raise InputError("the demo model knows no fact in both languages; train longer")
    return out


def anchor_prompts(built, prober, n: int, seed: int) -> list[tuple]:
    """``n`` prompts per language: a demo relation's template filled with an unrelated subject.

    The subjects are entities of each KG that are the subject of no selected demo fact; the
    number of masks is the sub-token length of a random object of the relation. Used as
    gold-free locality prompts (their pre-edit predictions are what is kept).

    Returns
    -------
    list of (Template, str, int)
    """
    if n <= 0:
        return []
    rng = np.random.default_rng(seed)
    fs = built.fs
    out: list[tuple] = []
    for side, (kg, lang) in enumerate(((built.pair.kg1, built.lang1), (built.pair.kg2, built.lang2))):
        used = {fs.facts[f].s1 if side == 0 else fs.facts[f].s2 for f in built.groups}
        by_rel = defaultdict(list)
        for q in built.queries:
            if q.lang == lang:
                by_rel[q.template.relation_id].append(q)
        rels = sorted(by_rel)
        used_names = {q.subject for q in built.queries if q.lang == lang}
        pool = [i for i in range(len(kg.entities)) if i not in used]
        rng.shuffle(pool)
        names = []
        for i in pool:
            name = kg.label(i, lang)
            if name and name not in used_names and "[" not in name and len(prober.tokens(name)) <= 8:
                names.append(name)
            if len(names) == n:
                break
        for k, name in enumerate(names):
            qs = by_rel[rels[k % len(rels)]]
            q = qs[int(rng.integers(len(qs)))]
            out.append((q.template, name, len(prober.tokens(q.object))))
    return out


def _gold_fact_edits(built, chosen):
    """FactEdits for evaluation, named through the gold links (both languages)."""
    from kgalign.lm.editing.facts import FactEdit
    from kgalign.lm.probing.templates import fallback_template

    kg1, kg2 = built.pair.kg1, built.pair.kg2
    l1, l2 = built.lang1, built.lang2
    gold = {int(a): int(b) for a, b in np.asarray(built.pair.links).tolist()}
    by_fact = defaultdict(dict)
    for q in built.queries:
        by_fact[q.fact][q.lang] = q
    out = []
    for f, new1 in chosen:
        q1, q2 = by_fact[f][l1], by_fact[f][l2]
        fe = FactEdit(
            {l1: q1.subject, l2: q2.subject},
            {l1: q1.template, l2: q2.template},
            {l1: kg1.label(new1, l1), l2: kg2.label(gold[new1], l2)},
            {l1: q1.object, l2: q2.object},
            {l1: fallback_template(q1.relation, l1), l2: fallback_template(q2.relation, l2)},
            source_lang=l1,
            key=f,
        )
        out.append(fe)
    return out


def run_edit_demo(
    cfg: EditDemoConfig | None = None, out_dir: str | os.PathLike | None = None, force: bool = False, echo=print
) -> dict:
    """Run the experiment; return (and optionally write) its summary.

    Writes ``summary.json``, ``kg_patch/`` (SPARQL and Turtle), ``edit_metrics.png`` and
    ``edit_sequential.png`` under ``out_dir`` when given.

    Raises
    ------
    InputError
        Missing pair or alignment, or a model that knows no fact to edit.
    OutputExistsError
        ``out_dir`` holds a summary and ``force`` is false.
    """
    import torch

    from kgalign.lm.editing.facts import fact_edits_from_kg
    from kgalign.lm.editing.methods import apply_edits
    from kgalign.lm.editing.metrics import edit_metrics, predict_tokens
    from kgalign.lm.editing.propagate import propagate_edits, write_patch
    from kgalign.lm.editing.requests import EditRequest, resolve_edits
    from kgalign.lm.editing.rome import key_covariance
    from kgalign.lm.probing.demo import DemoConfig, build_demo_model

    cfg = cfg or EditDemoConfig()
    t0 = time.perf_counter()
    if out_dir is not None:
        out_dir = Path(out_dir)
        if (out_dir / "summary.json").exists() and not force:
            from kgalign.errors import OutputExistsError

            raise OutputExistsError(out_dir / "summary.json")
    old_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        dcfg = DemoConfig(
            pair=cfg.pair,
            data_dir=cfg.data_dir,
            n_facts=cfg.n_facts,
            epochs=cfg.epochs,
            transfer_share=0.0,
            unseen_share=0.2,
            paraphrases=True,
            seed=cfg.seed,
            threads=cfg.threads,
            progress=cfg.progress,
        )
        built = build_demo_model(dcfg, echo, cache=cfg.cache_model)
        # DemoModel declares these fields as ``object`` (torch is imported lazily there)
        model: Any = built.model
        prober = cast("MaskedLMProber", built.prober)
        pair = cast("KGPair", built.pair)
        fs = cast("BilingualFactSet", built.fs)
        src, tgt = built.lang1, built.lang2  # edits are made in KG1's language
        eseed = cfg.seed if cfg.edit_seed is None else cfg.edit_seed
        chosen = choose_edits(built, prober, cfg.n_edits, eseed)
        echo(f"[edit-demo] {len(chosen)} facts known in both languages are corrected in {src} (KG1)")

        # ---------------------------------------------------------- KG level
        if cfg.alignment:
            links, scores = _links_from_file(cfg.alignment, pair)
            source = f"kgalign alignment {cfg.alignment}"
        else:
            links, scores = np.asarray(pair.links), None
            source = "gold links (no alignment file given)"
        kg1 = pair.kg1
        reqs = [
            EditRequest("replace", kg1.identifier(fs.facts[f].s1), kg1.relations[fs.facts[f].rel1], kg1.identifier(new))
            for f, new in chosen
        ]
        resolved = resolve_edits(kg1, reqs)
        patch = propagate_edits(resolved, kg1, pair.kg2, links, scores, min_confidence=cfg.min_confidence)
        kg_stats = {**patch.stats(), "alignment": source}
        # graph check: the SPARQL update applied with rdflib gives the patched graph
        kg_stats["sparql_matches_patch"] = _check_sparql(patch, pair.kg2)
        echo(
            f"[edit-demo] KG patch via {source}: {kg_stats['target_removed']} removed / "
            f"{kg_stats['target_added']} added in {tgt}; {kg_stats['unresolved']} not propagated "
            f"({kg_stats['unresolved_by_reason']}); SPARQL update reproduces the patch: {kg_stats['sparql_matches_patch']}"  # noqa: E501
        )

        # ---------------------------------------------------------- model level
        train_edits, skipped = fact_edits_from_kg(
            resolved, pair, links, built.templates, source_lang=src, target_lang=tgt, portability=True
        )
        eval_edits = _gold_fact_edits(built, chosen)
        for fe_t, fe_e in zip(train_edits, eval_edits):
            fe_e.portability = fe_t.portability  # one-hop facts through KG1 and the alignment
        xl_named_right = sum(
            fe_t.subject.get(tgt) == fe_e.subject[tgt] and fe_t.new_object.get(tgt) == fe_e.new_object[tgt]
            for fe_t, fe_e in zip(train_edits, eval_edits)
        )
        edited_subjects = {fs.facts[f].s1 for f, _ in chosen}
        rng = np.random.default_rng(eseed + 1)
        others = sorted(f for f in built.groups if fs.facts[f].s1 not in edited_subjects and built.groups[f] == "seen")
        rng.shuffle(others)
        keep_facts = set(others[cfg.n_locality : cfg.n_locality + cfg.n_preserve])
        locality_facts = set(others[: cfg.n_locality])
        # locality is measured on facts that no edit method trains on (edits, preserve set)
        assert not locality_facts & keep_facts, "locality facts overlap the preserve set"
        assert not locality_facts & {f for f, _ in chosen}, "locality facts overlap the edited facts"
        if len(keep_facts) < cfg.n_preserve:
            echo(
                f"[edit-demo] only {len(keep_facts)} facts left for the preserve set "
                f"(asked {cfg.n_preserve}; {len(others)} unedited seen facts, {len(locality_facts)} for locality)"
            )
        preserve = [
            (q.template, q.subject, len(prober.tokens(q.object))) for q in built.queries if q.fact in keep_facts
        ]
        anchors = anchor_prompts(built, prober, cfg.n_anchor, eseed + 2)
        loc_subjects = {q.subject for q in built.queries if q.fact in locality_facts}
        assert not loc_subjects & {s for _, s, _ in anchors}, "an anchor prompt names a locality subject"
        preserve_kl = preserve + anchors  # ft-kl: the KL term keeps the distributions on both
        loc_items = {
            lang: [
                (q.template, q.subject, len(prober.tokens(q.object)))
                for q in built.queries
                if q.fact in locality_facts and q.lang == lang
            ]
            for lang in (src, tgt)
        }
        loc_before = {lang: predict_tokens(prober, its) for lang, its in loc_items.items()}
        reference = {n: p.detach().clone() for n, p in model.state_dict().items()}
        texts = built.corpus[src] + built.corpus[tgt]
        cov = key_covariance(model, prober, texts, cfg.options.get("rome", {}).get("layer", 0))
        pre = edit_metrics(prober, eval_edits, src, tgt, loc_items, loc_before)
        echo(
            f"[edit-demo] before editing: reliability F1 {pre['reliability']['f1']:.3f} "
            f"(new object), cross-lingual {pre['generality_crosslingual']['f1']:.3f}; "
            f"{xl_named_right}/{len(eval_edits)} target-language prompts named right by the alignment"
        )

        batch, sequential, restored = {}, {}, {}
        for method in cfg.methods:
            opts = cfg.options.get(method, {})
            for mode in MODES:
                langs = [src] if mode == "source" else [src, tgt]
                t = time.perf_counter()
                pres = preserve_kl if method == "ft-kl" else preserve
                ae = apply_edits(
                    model, prober, train_edits, method, langs, seed=cfg.seed, cov=cov, preserve=pres, **opts
                )
                res = edit_metrics(prober, eval_edits, src, tgt, loc_items, loc_before)
                res["nnz"], res["seconds"] = ae.nnz, round(time.perf_counter() - t, 2)
                ae.revert(model)
                ok = _same(model, reference)
                batch[f"{method}/{mode}"] = res
                restored[f"{method}/{mode}/batch"] = ok
                echo(
                    f"[edit-demo] {method:<9}{mode:<7} batch of {len(train_edits)}: rel {res['reliability']['f1']:.3f} "
                    f"xl {res['generality_crosslingual']['f1']:.3f} loc {res['locality']['mean']:.3f} "
                    f"({res['seconds']:.1f} s, {ae.nnz} weights; reverted exactly: {ok})"
                )
                # sequential: one edit at a time, metrics on the edits so far
                curve, applied = [], []
                for k in range(min(cfg.n_sequential, len(train_edits))):
                    applied.append(
                        apply_edits(
                            model,
                            prober,
                            [train_edits[k]],
                            method,
                            langs,
                            seed=cfg.seed,
                            cov=cov,
                            preserve=pres,
                            **opts,
                        )
                    )
                    r = edit_metrics(prober, eval_edits[: k + 1], src, tgt, loc_items, loc_before)
                    curve.append({"n": k + 1, **{m: _headline(r, m) for m in METRICS}})
                for ae in reversed(applied):
                    ae.revert(model)
                restored[f"{method}/{mode}/sequential"] = _same(model, reference)
                sequential[f"{method}/{mode}"] = curve
        post = edit_metrics(prober, eval_edits, src, tgt, loc_items, loc_before)
        summary = {
            "pair": cfg.pair,
            "source_lang": src,
            "target_lang": tgt,
            "n_edits": len(eval_edits),
            "alignment": source,
            "kg_patch": kg_stats,
            "skipped": skipped,
            "before": {m: _headline(pre, m) for m in METRICS},
            "batch": {
                k: {
                    **{m: _headline(v, m) for m in METRICS},
                    "em": {m: _headline(v, m, "em") for m in METRICS},
                    "nnz": v["nnz"],
                    "seconds": v["seconds"],
                }
                for k, v in batch.items()
            },
            "sequential": sequential,
            "restored_exactly": restored,
            "after_revert": {m: _headline(post, m) for m in METRICS},
            "metric_note": "token-level F1 on sub-tokens (EM in 'em'); locality = share of mask positions "
            "whose arg-max is unchanged (EasyEdit), mean of both languages",
            "model": {
                "steps": cast(Any, built.result).steps,
                "vocab": len(cast(Sized, built.tokenizer)),
                "parameters": sum(p.numel() for p in model.parameters()),
            },
            "total_seconds": round(time.perf_counter() - t0, 1),
            "config": asdict(cfg),
        }
        echo(format_edit_summary(summary))
        if out_dir is not None:
            from kgalign.io.atomic import dump_json

            write_patch(patch, out_dir / "kg_patch", force=True)
            dump_json(out_dir / "summary.json", summary, force=True)
            echo(f"[edit-demo] wrote {out_dir / 'summary.json'} and {out_dir / 'kg_patch'}")
            try:
                from kgalign.lm.editing.plots import plot_edit_summary

                for p in plot_edit_summary(summary, out_dir):
                    echo(f"[edit-demo] wrote {p}")
            except ImportError:
                echo("[edit-demo] matplotlib is not installed (pip install 'kgalign[plots]'): no plot")
        return summary
    finally:
        torch.set_num_threads(old_threads)


def _headline(res: dict, metric: str, key: str = "f1") -> float:
    if metric == "locality":
        return (
            float(res["locality"].get("mean", float("nan")))
            if key == "f1"
            else float(np.mean([v["em"] for k, v in res["locality"].items() if k != "mean"]))
        )
    return float(res[metric][key])


def _same(model, reference) -> bool:
    import torch

    return all(torch.equal(t, reference[n]) for n, t in model.state_dict().items())


def _check_sparql(patch, kg2) -> bool:
    """rdflib: KG2 + the SPARQL update is isomorphic to KG2 patched in memory."""
    from rdflib.compare import isomorphic

    from kgalign.lm.editing.propagate import kg_graph

    g = kg_graph(kg2)
    text = patch.target.sparql()
    if text:
        g.update(text)
    return bool(isomorphic(g, kg_graph(patch.target.apply(kg2))))


def format_edit_summary(s: dict) -> str:
    """The method x metric table (token F1; locality = unchanged predictions) as text."""
    short = {
        "reliability": "rel",
        "generality_paraphrase": "para",
        "generality_crosslingual": "xling",
        "locality": "loc",
        "portability": "port",
    }
    lines = [
        f"cross-lingual edit propagation demo ({s['pair']}: edits in {s['source_lang']}, judged also in "
        f"{s['target_lang']}; {s['n_edits']} edits as one batch; token F1)",
        f"{'method':<10}{'training':<9}" + "".join(f"{short[m]:>8}" for m in METRICS) + f"{'weights':>10}",
    ]
    b = s["before"]
    lines.append(f"{'(none)':<10}{'-':<9}" + "".join(f"{b[m]:>8.3f}" for m in METRICS) + f"{0:>10}")
    for key, v in s["batch"].items():
        method, mode = key.split("/")
        lines.append(f"{method:<10}{mode:<9}" + "".join(f"{v[m]:>8.3f}" for m in METRICS) + f"{v['nnz']:>10}")
    ok = all(s["restored_exactly"].values())
    lines.append(
        f"every edit reverted bit for bit: {'yes' if ok else 'NO'}; after revert: "
        + ", ".join(f"{short[m]} {s['after_revert'][m]:.3f}" for m in METRICS)
    )
    kp = s["kg_patch"]
    lines.append(
        f"KG patch ({s['alignment']}): {s['target_lang']} -{kp['target_removed']} +{kp['target_added']} "
        f"triples, {kp['unresolved']} edits' triples not propagated {kp['unresolved_by_reason']}; "
        f"total {s['total_seconds']:.0f} s"
    )
    return "\n".join(lines)
