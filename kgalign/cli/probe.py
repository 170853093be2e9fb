"""``kgalign probe``: cross-lingual fact probing of a language model on an aligned KG pair."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from kgalign.errors import InputError, OutputExistsError


def _write_json(path: Path, obj, force: bool) -> None:
    from kgalign.io.atomic import dump_json

    dump_json(path, obj, force=force)


def summary_table(p_at_1: dict, cons: dict, lang1: str, lang2: str, title: str) -> str:
    """P@1 per language and relation as a text table."""
    rels = sorted({r for lang in p_at_1.values() for r in lang["relations"]})
    langs = [lang1, lang2]
    lines = [title, f"{'relation':<22}" + "".join(f"{l:>12}" for l in langs)]
    for rid in rels:
        cells = []
        for l in langs:
            v = p_at_1.get(l, {}).get("relations", {}).get(rid)
            cells.append(f"{v['p_at_1']:.3f} ({v['n']})" if v else "-")
        lines.append(f"{rid[:22]:<22}" + "".join(f"{c:>12}" for c in cells))
    for agg in ("macro", "micro"):
        lines.append(f"{agg:<22}" + "".join(f"{p_at_1.get(l, {}).get(agg, float('nan')):>12.3f}" for l in langs))
    lines.append(
        f"consistency: both {cons['both']}, only {lang1} {cons[f'only_{lang1}']}, "
        f"only {lang2} {cons[f'only_{lang2}']}, none {cons['none']} (n={cons['n']})"
    )
    return "\n".join(lines)


@click.command("probe")
@click.argument("pair_dir", required=False, type=click.Path(file_okay=False))
@click.option("--model", "model_id", help="Hugging Face masked LM (or causal LM with --causal): hub id or local path.")
@click.option("--causal", is_flag=True, help="The model is a causal LM: rank candidates by sentence log-likelihood.")
@click.option(
    "--alignment",
    type=click.Path(exists=True),
    help="Entity alignment file (kgalign result TSV/JSON/SSSOM); default: run kgalign's aligner on the pair.",
)
@click.option(
    "--gold", "use_gold", is_flag=True, help="Use the pair's gold links instead of an alignment (an upper bound)."
)
@click.option(
    "--align-config",
    type=click.Path(exists=True, dir_okay=False),
    help="Aligner configuration (YAML/JSON) when the aligner runs.",
)
@click.option(
    "--templates",
    "templates_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Template file (YAML/JSON); default the shipped DBP15K templates.",
)
@click.option("--lang1", help="Language of the first graph (default from the directory name, e.g. zh_en).")
@click.option("--lang2", help="Language of the second graph.")
@click.option(
    "--mode",
    type=click.Choice(["typed", "untyped", "both"]),
    default="typed",
    show_default=True,
    help="typed ranking over candidates (mLAMA), untyped full-match decoding, or both.",
)
@click.option("--strategy", type=click.Choice(["independent", "confidence"]), default="independent", show_default=True)
@click.option("--max-masks", type=int, help="Untyped decoding tries 1..N masks (default: longest object, at most 10).")
@click.option(
    "--where",
    "where",
    multiple=True,
    type=click.Choice(["both", "kg1", "kg2"]),
    help="Facts to probe: stated in both KGs (default), only in KG1, only in KG2. Repeatable.",
)
@click.option("--relations", "n_relations", type=int, help="Probe only the N relation pairs with most facts.")
@click.option("--max-facts", type=int, help="At most this many facts (a seeded random sample).")
@click.option(
    "--candidates",
    "candidate_source",
    type=click.Choice(["kg", "facts"]),
    default="kg",
    show_default=True,
    help="Typed candidates: all objects of the relation in the KG, or of the probed facts.",
)
@click.option(
    "--min-support", type=int, default=2, show_default=True, help="Relation alignment: minimum shared aligned pairs."
)
@click.option(
    "--min-confidence",
    type=float,
    default=0.05,
    show_default=True,
    help="Relation alignment: minimum Jaccard confidence.",
)
@click.option(
    "--neurons", is_flag=True, help="Neuron analysis of facts known in both languages (shared vs independent)."
)
@click.option("--top-n", type=int, default=50, show_default=True, help="Neurons per fact and language.")
@click.option(
    "--corpus1",
    type=click.Path(exists=True, dir_okay=False),
    help="Text corpus of language 1 (one line per document) for tracing.",
)
@click.option("--corpus2", type=click.Path(exists=True, dir_okay=False), help="Text corpus of language 2.")
@click.option("--window", type=int, help="Tracing: co-occurrence within this many characters instead of the same line.")
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(file_okay=False),
    help="Output directory (facts.json, summary.json, relations.json).",
)
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--demo", is_flag=True, help="Run the offline transfer experiment on DBP15K (small BERT trained here).")
@click.option("--pair", "demo_pair", default="fr_en", show_default=True, help="--demo: DBP15K pair.")
@click.option(
    "--data", "demo_data", type=click.Path(file_okay=False), help="--demo: directory holding the DBP15K pairs."
)
@click.option("--epochs", type=int, help="--demo: training epochs.")
@click.option("--facts", "demo_facts", type=int, help="--demo: number of facts.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def probe(
    pair_dir,
    model_id,
    causal,
    alignment,
    use_gold,
    align_config,
    templates_path,
    lang1,
    lang2,
    mode,
    strategy,
    max_masks,
    where,
    n_relations,
    max_facts,
    candidate_source,
    min_support,
    min_confidence,
    neurons,
    top_n,
    corpus1,
    corpus2,
    window,
    batch_size,
    device,
    seed,
    output,
    force,
    demo,
    demo_pair,
    demo_data,
    epochs,
    demo_facts,
    quiet,
):
    """Probe what a language model knows of the facts of an aligned KG pair, in both languages.

    \b
    kgalign probe ../shared/datasets/dbp15k/fr_en --model bert-base-multilingual-cased -o out/
    kgalign probe --demo            # offline experiment: seen / transfer / unseen P@1

    The facts come from kgalign's own alignment of the pair (the aligner runs first) or from
    --alignment FILE; --gold uses the gold links instead.
    """
    if demo:
        from kgalign.lm.probing.demo import DemoConfig, run_demo

        cfg = DemoConfig(pair=demo_pair, data_dir=demo_data, seed=seed, progress=not quiet)
        if epochs:
            cfg.epochs = epochs
        if demo_facts:
            cfg.n_facts = demo_facts
        run_demo(cfg, out_dir=output, force=force, echo=click.echo)
        return
    if not pair_dir or not model_id:
        raise click.UsageError("give a pair directory and --model (or --demo)")
    if alignment and use_gold:
        raise click.UsageError("give --alignment or --gold, not both")
    links_from = ("file", alignment) if alignment else ("gold", None) if use_gold else ("aligner", align_config)
    _run(
        pair_dir,
        model_id,
        causal,
        links_from,
        templates_path,
        lang1,
        lang2,
        mode,
        strategy,
        max_masks,
        where or ("both",),
        n_relations,
        max_facts,
        candidate_source,
        min_support,
        min_confidence,
        neurons,
        top_n,
        corpus1,
        corpus2,
        window,
        batch_size,
        device,
        seed,
        output,
        force,
        quiet,
    )


def _run(
    pair_dir,
    model_id,
    causal,
    links_from,
    templates_path,
    lang1,
    lang2,
    mode,
    strategy,
    max_masks,
    where,
    n_relations,
    max_facts,
    candidate_source,
    min_support,
    min_confidence,
    neurons,
    top_n,
    corpus1,
    corpus2,
    window,
    batch_size,
    device,
    seed,
    output,
    force,
    quiet,
):
    import numpy as np

    from kgalign.io import load_pair
    from kgalign.lm.probing.core import build_queries, classify_facts, consistency, precision_at_1, probe_queries
    from kgalign.lm.probing.facts import bilingual_facts, iter_fact_rows
    from kgalign.lm.probing.templates import TemplateSet

    out = Path(output) if output else None
    if out is not None and not force:
        for name in ("facts.json", "summary.json", "relations.json"):
            if (out / name).exists():
                raise OutputExistsError(out / name)
    if causal and mode != "typed":
        raise InputError("a causal LM is probed by typed ranking only; use --mode typed")
    if (corpus1 is None) != (corpus2 is None):
        raise InputError("tracing needs both --corpus1 and --corpus2")
    # cheap checks first: the pair directory, then whether the model can be had (seconds)
    if not Path(pair_dir).is_dir():
        raise InputError("the pair directory does not exist", pair_dir)
    from kgalign.aligner.hub import ensure_available

    ensure_available(model_id, "language model")
    # load the model first: a wrong model id fails in seconds, before the facts are built
    if causal:
        from kgalign.lm.probing.lm import CausalLMProber

        prober = CausalLMProber.from_pretrained(model_id, device=device, batch_size=batch_size)
    else:
        from kgalign.lm.probing.lm import MaskedLMProber

        prober = MaskedLMProber.from_pretrained(model_id, device=device, batch_size=batch_size)
    pair = load_pair(pair_dir)
    lang1 = lang1 or pair.lang1
    lang2 = lang2 or pair.lang2
    if not lang1 or not lang2:
        raise InputError("cannot tell the languages from the directory name; give --lang1 and --lang2", pair_dir)
    templates = TemplateSet.load(templates_path)
    from kgalign.lm.probing.links import aligned_links

    source, where_from = links_from
    if source == "gold" and (pair.links is None or len(pair.links) == 0):
        raise InputError("the pair has no gold links; drop --gold", pair_dir)
    config = None
    if source == "aligner" and where_from:
        from kgalign.config import load_config

        config = load_config(where_from)
    if source == "aligner":
        click.echo("aligning the pair with kgalign (no gold link used) ...", err=True)
    links, link_info = aligned_links(
        pair,
        source,
        path=where_from if source == "file" else None,
        config=config,
        **({"show_progress": not quiet} if source == "aligner" else {}),
    )
    if link_info.get("skipped"):
        click.echo(
            f"alignment: {link_info['skipped']} pairs name entities outside the graphs and were skipped", err=True
        )
    q = link_info.get("quality")
    click.echo(
        f"links: {len(links)} from {source}"
        + (f"; precision {q['precision']:.3f}, recall {q['recall']:.3f} against the gold links" if q else "")
    )
    fs = bilingual_facts(pair.kg1, pair.kg2, links, min_support=min_support, min_confidence=min_confidence)
    counts = fs.counts()
    click.echo(
        f"bilingual facts: {counts['both']} in both KGs, {counts['kg1']} only in KG1, "
        f"{counts['kg2']} only in KG2; {len(fs.relation_pairs)} aligned relation pairs"
    )
    # restrict relations and facts before building queries
    keep_idx = [k for k, f in enumerate(fs.facts) if f.where in where]
    if n_relations:
        per = Counter((fs.facts[k].rel1, fs.facts[k].rel2) for k in keep_idx)
        top = {r for r, _ in per.most_common(n_relations)}
        keep_idx = [k for k in keep_idx if (fs.facts[k].rel1, fs.facts[k].rel2) in top]
    if max_facts and len(keep_idx) > max_facts:
        rng = np.random.default_rng(seed)
        keep_idx = sorted(rng.choice(keep_idx, size=max_facts, replace=False).tolist())
    queries, cands = build_queries(fs, templates, lang1, lang2, where=where, candidate_source=candidate_source)
    keep = set(keep_idx)
    queries = [q for q in queries if q.fact in keep]
    if not queries:
        raise InputError("no fact to probe (check --where / --relations)")
    n_fallback = len({(q.lang, q.relation) for q in queries if q.template.fallback})
    if n_fallback:
        click.echo(
            f"note: {n_fallback} relation/language pairs have no template; using a fallback from the "
            "relation's local name (rows flagged 'fallback': true)",
            err=True,
        )

    rows = probe_queries(prober, queries, cands, mode=mode, max_masks=max_masks, strategy=strategy, progress=not quiet)
    key = "correct" if mode in ("typed", "both") else "untyped_correct"
    summary = {
        "pair": str(pair_dir),
        "model": model_id,
        "languages": [lang1, lang2],
        "mode": mode,
        "links": link_info,
        "facts": counts,
        "probed_facts": len(keep),
        "p_at_1": precision_at_1(rows, key),
        "consistency": consistency(rows, lang1, lang2, key),
        "fallback_templates": n_fallback,
    }
    if mode == "both":
        summary["p_at_1_untyped"] = precision_at_1(rows, "untyped_correct")
        summary["consistency_untyped"] = consistency(rows, lang1, lang2, "untyped_correct")

    shared = None
    if neurons:
        if causal:
            raise InputError("--neurons needs a masked LM")
        from kgalign.lm.probing.demo_analysis import neuron_analysis

        summary["neurons"], shared = neuron_analysis(
            prober, queries, rows, fs, lang1, lang2, top_n=top_n, seeds=tuple(range(10))
        )
    present = None
    if corpus1:
        from kgalign.lm.probing.tracing import count_cooccurrences, read_corpus

        present = {}
        for lang, path in ((lang1, corpus1), (lang2, corpus2)):
            qs = [q for q in queries if q.lang == lang]
            co = count_cooccurrences(read_corpus(path), [(q.subject, q.object) for q in qs], window=window)
            for q, c in zip(qs, co):
                present[(q.fact, lang)] = c.present(window is not None)
        summary["tracing"] = {
            "window": window,
            "present": {l: sum(v for (f, ll), v in present.items() if ll == l) for l in (lang1, lang2)},
        }
    classify_facts(rows, lang1, lang2, key=key, shared=shared, present=present)
    summary["classes"] = {l: dict(Counter(r["class"] for r in rows if r["lang"] == l)) for l in (lang1, lang2)}
    click.echo(
        summary_table(
            summary["p_at_1"],
            summary["consistency"],
            lang1,
            lang2,
            f"P@1 ({'typed ranking' if key == 'correct' else 'untyped full match'})",
        )
    )
    if out is not None:
        ids = {k: r for k, r in enumerate(iter_fact_rows(fs)) if k in keep}
        for r in rows:
            r["fact_iris"] = ids[r["fact"]]
        _write_json(out / "facts.json", rows, force)
        _write_json(out / "relations.json", [p.as_dict() for p in fs.relation_pairs], force)
        _write_json(out / "summary.json", summary, force)
        click.echo(f"wrote {out / 'facts.json'}, {out / 'summary.json'}, {out / 'relations.json'}")
