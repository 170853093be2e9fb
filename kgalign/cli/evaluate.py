"""``kgalign evaluate PRED GOLD``: precision/recall/F1 (and ranking metrics) of an alignment."""

from __future__ import annotations

import json

import click

from kgalign.io import registry


def _ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(sorted({int(k) for k in text.split(",") if k.strip()}))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of integers") from None
    if not ks or min(ks) < 1:
        raise click.BadParameter("cut-offs must be >= 1")
    return ks


@click.command("evaluate")
@click.argument("pred", type=click.Path(exists=True))
@click.argument("gold", type=click.Path(exists=True))
@click.option("--pred-format", type=click.Choice(registry.names("reader")), help="Format of PRED (default: detected).")
@click.option("--gold-format", type=click.Choice(registry.names("reader")), help="Format of GOLD (default: detected).")
@click.option("--threshold", type=float, help="Also report P/R/F1 of the pairs scoring at least this.")
@click.option("--ks", default="1,5,10", show_default=True, help="Hits@k cut-offs (ranked candidates only).")
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of both files.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Also write the metrics as JSON here.")
@click.option("--force", is_flag=True, help="Overwrite the --json file.")
def evaluate(pred, gold, pred_format, gold_format, threshold, ks, encoding, json_out, force):
    """Compare predicted pairs PRED with gold links GOLD.

    GOLD: TSV, SSSOM, DBP15K ref_ent_ids (or its directory), OAEI RDF/XML, JSON, or owl:sameAs
    Turtle/N-Triples. PRED: any kgalign output (TSV, JSON, SSSOM, Turtle, N-Triples, OAEI).
    Prints precision, recall, F1 and 1-to-1 accuracy; Hits@k, MRR and MR when PRED ranks
    several candidates per source.
    """
    from kgalign.errors import InputError
    from kgalign.evaluation.metrics import evaluate_alignment
    from kgalign.io.readers import read_alignment

    ks_t = _ks(ks)
    if json_out:  # fail before reading and scoring, not after printing the metrics
        from kgalign.io.atomic import check_writable

        check_writable(json_out, force=force)
    p = read_alignment(pred, format=pred_format, encoding=encoding)
    g = read_alignment(gold, format=gold_format, encoding=encoding)
    for al, path, what in ((p, pred, "predictions"), (g, gold, "gold links")):
        if len(al) == 0:  # all-zero metrics with exit 0 would read as a result
            raise InputError(f"no {what} in the file: nothing to evaluate", path)
    m = evaluate_alignment(p, g, ks=ks_t, threshold=threshold)
    for w in m["warnings"]:
        click.echo(f"warning: {w}", err=True)
    click.echo(f"pred  {pred} ({p.format}, {m['n_pred']} pairs)")
    click.echo(f"gold  {gold} ({g.format}, {m['n_gold']} pairs)")
    click.echo(f"correct    {m['n_correct']}")
    for key in ("precision", "recall", "f1", "accuracy"):
        click.echo(f"{key:<10} {m[key]:.4f}")
    if "best_f1" in m:
        click.echo(f"best F1    {m['best_f1']:.4f} at score >= {m['best_threshold']:.6f} (the lowest score kept)")
    if "at_threshold" in m:
        t = m["at_threshold"]
        click.echo(
            f"at >= {t['threshold']:g}: precision {t['precision']:.4f}  recall {t['recall']:.4f}  "
            f"F1 {t['f1']:.4f}  ({t['n_pred']} pairs)"
        )
    if "mrr" in m:
        depth = m["candidates_per_source"]
        for k in ks_t:
            note = f"  (= hits@{depth}: at most {depth} candidates per source)" if k > depth else ""
            click.echo(f"hits@{k:<5} {m[f'hits@{k}']:.4f}{note}")
        click.echo(f"mrr        {m['mrr']:.4f}")
        click.echo(
            f"mr         {m['mr']:.2f}  ({m['censored']} gold targets not among the "
            f"{m['candidates_per_source']} candidates, counted as rank {m['candidates_per_source'] + 1})"
        )
    if json_out:
        from kgalign.io.atomic import atomic_write

        with atomic_write(json_out, force=force) as fh:
            json.dump(m, fh, indent=1, sort_keys=True)
            fh.write("\n")
