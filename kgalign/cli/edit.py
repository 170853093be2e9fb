"""``kgalign edit``: correct facts in KG1 and propagate them to KG2 and to a language model."""

from __future__ import annotations

from pathlib import Path

import click

from kgalign.errors import InputError


def _links(pair, alignment: str | None, gold: bool):
    """Entity alignment as (positions (k, 2), scores or None, description)."""
    import numpy as np

    if alignment:
        from kgalign.lm.editing.demo import _links_from_file

        links, scores = _links_from_file(alignment, pair)
        return links, scores, f"alignment {alignment}"
    if gold:
        if pair.links is None or not len(pair.links):
            raise InputError("the pair has no gold links")
        return np.asarray(pair.links), None, "gold links (comparison)"
    raise InputError("pass --alignment (a kgalign result) or --gold (gold links, for comparison)")


@click.command("edit")
@click.argument("pair_dir", required=False, type=click.Path(file_okay=False))
@click.option(
    "--edit",
    "inline",
    multiple=True,
    nargs=4,
    metavar="OP SUBJECT RELATION OBJECT",
    help="One edit in KG1 terms (op: add, remove, replace). Repeatable.",
)
@click.option(
    "--edits",
    "edits_file",
    type=click.Path(exists=True, dir_okay=False),
    help="JSONL file of edits: {op, subject, relation, object[, old]} per line.",
)
@click.option(
    "--alignment", type=click.Path(exists=True), help="Entity alignment produced by kgalign (TSV/SSSOM/JSON)."
)
@click.option("--gold", is_flag=True, help="Use the pair's gold links instead (for comparison only).")
@click.option(
    "--min-confidence",
    type=float,
    default=0.0,
    show_default=True,
    help="Entity links below this confidence are not used (the edit is reported, not guessed).",
)
@click.option(
    "--min-relation-confidence",
    type=float,
    default=0.05,
    show_default=True,
    help="Relation pairs below this Jaccard confidence are not used.",
)
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder for the patch (SPARQL, Turtle, patch.json), the model edit and the demo outputs.",
)
@click.option(
    "--updated-kg", type=click.Path(dir_okay=False), help="Also write the patched KG2 relation triples (N-Triples)."
)
@click.option("--model", "model_path", help="Masked LM (local path or cached hub id) to edit as well.")
@click.option(
    "--method",
    type=click.Choice(["ft-child", "ft-kl", "lt-sft", "lora", "rome"]),
    default="rome",
    show_default=True,
    help="With --model: how the edit is written into the LM. ft-kl: fine-tuning with a KL locality term "
    "(best trade-off in the demo); ft-child: Child-Tuning mask; lt-sft: sparse diff; lora: low-rank "
    "adapter; rome: rank-one update of one MLP layer.",
)
@click.option(
    "--languages",
    type=click.Choice(["source", "both"]),
    default="both",
    show_default=True,
    help="Train the edit in the source language only, or in both through the alignment.",
)
@click.option("--save-model", type=click.Path(file_okay=False), help="Write the edited (or reverted) model here.")
@click.option(
    "--revert",
    "revert_dir",
    type=click.Path(exists=True, file_okay=False),
    help="Revert a stored model edit (folder written by a previous run) on --model.",
)
@click.option("--demo", is_flag=True, help="Offline experiment on a small bilingual BERT and a DBP15K pair.")
@click.option("--pair", "demo_pair", default="fr_en", show_default=True, help="Demo: DBP15K pair.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="Demo: folder holding the DBP15K pairs.")
@click.option("--n-edits", type=int, default=10, show_default=True, help="Demo: facts corrected.")
@click.option(
    "--quick", is_flag=True, help="Demo: a smaller model and fewer edits (a few minutes on 2 cores; for smoke tests)."
)
@click.option("--force", is_flag=True, help="Overwrite existing outputs.")
def edit(
    pair_dir,
    inline,
    edits_file,
    alignment,
    gold,
    min_confidence,
    min_relation_confidence,
    out_dir,
    updated_kg,
    model_path,
    method,
    languages,
    save_model,
    revert_dir,
    demo,
    demo_pair,
    data_dir,
    n_edits,
    quick,
    force,
):
    """Correct facts of KG1 and carry them to KG2 and to a multilingual LM.

    \b
    kgalign edit PAIR --alignment result.tsv --edits edits.jsonl -o out/
    kgalign edit PAIR --alignment result.tsv --edit replace SUBJ REL OBJ --model PATH -o out/
    kgalign edit --revert out/model_edit --model PATH --save-model restored/
    kgalign edit --demo [--pair fr_en] [-o demo_out/]
    """
    if demo:
        from kgalign.lm.editing.demo import EditDemoConfig, run_edit_demo

        cfg = EditDemoConfig(pair=demo_pair, data_dir=data_dir, n_edits=n_edits, alignment=alignment)
        if quick:
            cfg = EditDemoConfig(
                pair=demo_pair,
                data_dir=data_dir,
                alignment=alignment,
                n_facts=150,
                epochs=25,
                n_edits=min(n_edits, 6),
                n_sequential=3,
                n_locality=60,
                n_preserve=60,
                n_anchor=100,
            )
        run_edit_demo(cfg, out_dir, force=force, echo=click.echo)
        return
    if revert_dir:
        _revert(revert_dir, model_path, save_model, force)
        return
    if not pair_dir:
        raise click.UsageError("give PAIR_DIR (or --demo, or --revert)")
    if not inline and not edits_file:
        raise click.UsageError("give edits with --edit or --edits")
    if not out_dir:
        raise click.UsageError("give an output folder with -o")
    if not model_path:
        src = click.get_current_context().get_parameter_source
        given = [o for o in ("method", "languages", "save_model") if src(o) == click.core.ParameterSource.COMMANDLINE]
        if given:
            click.echo(f"warning: {', '.join('--' + g.replace('_', '-') for g in given)} only apply with --model; "
                       "only the KG patch is written", err=True)  # fmt: skip
    _run(
        pair_dir,
        inline,
        edits_file,
        alignment,
        gold,
        min_confidence,
        min_relation_confidence,
        Path(out_dir),
        updated_kg,
        model_path,
        method,
        languages,
        save_model,
        force,
    )


def _run(
    pair_dir,
    inline,
    edits_file,
    alignment,
    gold,
    min_confidence,
    min_rel_conf,
    out_dir,
    updated_kg,
    model_path,
    method,
    languages,
    save_model,
    force,
):
    from kgalign.io import load_pair
    from kgalign.io.atomic import check_writable
    from kgalign.lm.editing.propagate import propagate_edits, write_kg, write_patch
    from kgalign.lm.editing.requests import EditRequest, read_edits, resolve_edits

    if model_path:
        _check_model(model_path)  # before anything is written
    # refuse existing outputs before any work
    # the -o folder itself is created by the command; its parent must exist
    check_writable(out_dir / "patch.json", force=force, create_parents=out_dir.parent.is_dir())
    if updated_kg:
        check_writable(Path(updated_kg), force=force)
    requests = read_edits(edits_file) if edits_file else []
    for k, (op, s, r, o) in enumerate(inline):
        requests.append(EditRequest(op, s, r, o, path="--edit", line=k + 1))
    pair = load_pair(pair_dir)
    resolved = resolve_edits(pair.kg1, requests)  # raises before anything is written
    links, scores, source = _links(pair, alignment, gold)
    patch = propagate_edits(
        resolved, pair.kg1, pair.kg2, links, scores, min_confidence=min_confidence, min_relation_confidence=min_rel_conf
    )
    for f in write_patch(patch, out_dir, force=force):
        click.echo(f"wrote {f}")
    st = patch.stats()
    click.echo(
        f"{len(resolved)} edits via {source}: KG1 -{st['source_removed']} +{st['source_added']}, "
        f"KG2 -{st['target_removed']} +{st['target_added']}; not propagated: {st['unresolved']}"
    )
    for u in patch.unresolved:
        click.echo(f"  not propagated (edit {u['edit'] + 1}, {u['action']}): {u['reason']}")
    if updated_kg:
        write_kg(patch.target.apply(pair.kg2), updated_kg, force=force)
        click.echo(f"wrote {updated_kg}")
    if model_path:
        _edit_model(pair, resolved, links, model_path, method, languages, out_dir, save_model, force)


def _check_model(model_path: str) -> None:
    """A local folder with a config.json, or a hub id in the local Hugging Face cache."""
    p = Path(model_path)
    if p.exists():
        if not (p / "config.json").is_file():
            raise InputError(f"--model {model_path}: no config.json in that folder (a save_pretrained folder)")
        return
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = isinstance(try_to_load_from_cache(model_path, "config.json"), str)
    except Exception:  # not a valid repo id either
        cached = False
    if not cached:
        raise InputError(
            f"--model {model_path}: no such folder, and not a model in the local Hugging Face cache "
            "(give a folder written by save_pretrained, or download the model first)"
        )


def _edit_model(pair, resolved, links, model_path, method, languages, out_dir, save_model, force):
    import numpy as np

    from kgalign.io.atomic import dump_json
    from kgalign.lm.editing.facts import fact_edits_from_kg
    from kgalign.lm.editing.methods import apply_edits
    from kgalign.lm.editing.metrics import edit_metrics, predict_tokens
    from kgalign.lm.probing.core import build_queries
    from kgalign.lm.probing.facts import bilingual_facts
    from kgalign.lm.probing.lm import MaskedLMProber
    from kgalign.lm.probing.templates import TemplateSet

    l1, l2 = pair.lang1 or "l1", pair.lang2 or "l2"
    templates = TemplateSet.load()
    prober = MaskedLMProber.from_pretrained(model_path, device="cpu")
    fact_edits, skipped = fact_edits_from_kg(resolved, pair, links, templates, source_lang=l1, target_lang=l2)
    if not fact_edits:
        raise InputError("no edit adds a fact: nothing to write into the model")
    # locality: up to 100 other facts stated in both KGs (named through the same alignment)
    fs = bilingual_facts(pair.kg1, pair.kg2, links)
    edited = {ed.subject for ed in resolved}
    queries, _ = build_queries(fs, templates, l1, l2)
    rng = np.random.default_rng(0)
    others = sorted({q.fact for q in queries if fs.facts[q.fact].s1 not in edited})
    others = rng.permutation(others).tolist() if others else []
    keep = set(others[:100])
    # ft-kl's locality term: prompts of up to 500 further unedited facts, disjoint from the
    # locality facts the metrics use (the demo's "anchor" prompts play this role there)
    kl_facts = set(others[100:600])
    preserve = [
        (q.template, q.subject, len(prober.tokens(q.object)))
        for q in queries
        if q.fact in kl_facts and q.lang in (l1, l2)
    ]
    loc = {
        lang: [
            (q.template, q.subject, len(prober.tokens(q.object))) for q in queries if q.fact in keep and q.lang == lang
        ]
        for lang in (l1, l2)
    }
    before = {lang: predict_tokens(prober, v) for lang, v in loc.items()}
    langs = [l1] if languages == "source" else [l1, l2]
    texts = [q.template.fill(q.subject, q.object) for q in queries[:2000]]
    ae = apply_edits(
        prober.model,
        prober,
        fact_edits,
        method,
        langs,
        texts=texts if method == "rome" else None,
        preserve=preserve if method == "ft-kl" else (),
    )
    res = edit_metrics(prober, fact_edits, l1, l2, loc, before)
    ae.save(out_dir / "model_edit", force=force)
    dump_json(
        out_dir / "model_metrics.json",
        {"metrics": res, "skipped": skipped, "languages": langs, "method": method},
        force=force,
    )
    click.echo(
        f"model edit ({method}, {languages}): {ae.nnz} weights; reliability F1 "
        f"{res['reliability']['f1']:.3f}, cross-lingual {res['generality_crosslingual']['f1']:.3f}, "
        f"locality {res['locality'].get('mean', float('nan')):.3f}; wrote {out_dir / 'model_edit'}"
    )
    if save_model:
        _save_model(prober.model, prober.tokenizer, save_model, force)


def _save_model(model, tok, path, force):
    from kgalign.errors import OutputExistsError

    p = Path(path)
    if p.exists() and any(p.iterdir()) and not force:
        raise OutputExistsError(p)
    model.save_pretrained(p, safe_serialization=True)
    tok.save_pretrained(p)
    click.echo(f"wrote {p}")


def _revert(revert_dir, model_path, save_model, force):
    from kgalign.lm.editing.applied import AppliedEdit
    from kgalign.lm.probing.lm import load_masked_lm

    if not model_path or not save_model:
        raise click.UsageError("--revert needs --model (the edited model) and --save-model")
    ae = AppliedEdit.load(revert_dir)
    model, tok = load_masked_lm(model_path, device="cpu")
    ae.revert(model)
    click.echo(f"reverted {ae.nnz} weights ({ae.meta.get('method')})")
    _save_model(model, tok, save_model, force)
