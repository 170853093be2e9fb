"""``kgalign geometry``: language subspaces of a model's representations (Chang, Tu, Bergen 2022)."""

from __future__ import annotations

from pathlib import Path

import click

from kgalign.errors import InputError


def _read_texts(specs) -> dict[str, list[str]]:
    """``LANG=PATH`` options -> language -> non-empty lines of the file (UTF-8)."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        lang, sep, path = spec.partition("=")
        if not sep or not lang or not path:
            raise InputError(f"--texts must be LANG=PATH, got {spec!r}")
        try:
            with open(path, encoding="utf-8") as fh:
                lines = [line.strip() for line in fh]
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text: {exc.reason}", path) from None
        except OSError as exc:
            raise InputError(f"cannot read texts: {exc.strerror or exc}", path) from None
        out.setdefault(lang, []).extend(line for line in lines if line)
    return out


def _layers(text: str | None):
    if not text:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--layers must be comma-separated integers, got {text!r}") from None


@click.command("geometry")
@click.argument("pair_dir", required=False, type=click.Path(file_okay=False, exists=True))
@click.option(
    "--model",
    "model_id",
    help="Masked LM, causal LM or sentence-transformers model: hub id or local "
    "folder ('default': the offline default encoder).",
)
@click.option(
    "--kind",
    type=click.Choice(["auto", "masked", "causal", "encoder"]),
    default="auto",
    show_default=True,
    help="Model kind (encoder: no LM head, so no perplexity).",
)
@click.option(
    "--tiny",
    is_flag=True,
    help="Instead of --model: an untrained tiny BERT built from a config "
    "(a smoke test of the pipeline; its geometry means nothing).",
)
@click.option(
    "--texts",
    "text_specs",
    multiple=True,
    metavar="LANG=PATH",
    help="Texts of one language, one per line (repeat for each language) instead of a KG pair.",
)
@click.option(
    "--source",
    type=click.Choice(["labels", "facts", "both"]),
    default="both",
    show_default=True,
    help="KG pair texts: entity labels, verbalised facts, or both.",
)
@click.option(
    "--share",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.9,
    show_default=True,
    help="Variance share each language subspace keeps.",
)
@click.option("--layers", help="Comma-separated layers 1..L (default all).")
@click.option("--axes-layer", type=int, help="Layer of the language axes and the 2-D plot (default 2L/3).")
@click.option(
    "--max-texts",
    type=click.IntRange(4),
    default=400,
    show_default=True,
    help="Texts per language (half fit the subspaces, half evaluate).",
)
@click.option(
    "--max-tokens",
    type=click.IntRange(2),
    default=4000,
    show_default=True,
    help="Token representations per language fitting a subspace.",
)
@click.option("--no-perplexity", is_flag=True, help="Skip the perplexity of the projections.")
@click.option("--batch-size", type=click.IntRange(1), default=16, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(file_okay=False),
    required=True,
    help="Output folder: geometry.json, geometry.md and the plots.",
)
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
def geometry(
    pair_dir,
    model_id,
    kind,
    tiny,
    text_specs,
    source,
    share,
    layers,
    axes_layer,
    max_texts,
    max_tokens,
    no_perplexity,
    batch_size,
    device,
    seed,
    output,
    force,
    no_plots,
):
    """Language subspaces of a model: projections, perplexities, distances and language axes.

    \b
    kgalign geometry ../shared/datasets/dbp15k/fr_en --model out/demo/model -o out/geometry
    kgalign geometry --texts en=en.txt --texts de=de.txt --model xlm-roberta-base -o out/g
    """
    from kgalign.errors import OutputExistsError
    from kgalign.lm.geometry import OUTPUT_FILES, write_outputs
    from kgalign.lm.geometry.analysis import GeometryConfig, analyse, markdown_table, texts_from_pair

    out = Path(output)
    if not force:
        for name in OUTPUT_FILES:
            if (out / name).exists():
                raise OutputExistsError(out / name)
    if bool(model_id) == bool(tiny):
        raise click.UsageError("give either --model or --tiny")
    if bool(pair_dir) == bool(text_specs):
        raise click.UsageError("give either a pair directory or --texts LANG=PATH (at least two languages)")
    texts = _read_texts(text_specs) if text_specs else texts_from_pair(pair_dir, source, max_texts, seed)
    if len(texts) < 2:
        raise InputError("the geometry analysis needs texts of at least two languages")
    if tiny:
        from kgalign.lm.finetune.tiny import tiny_model, word_tokenizer
        from kgalign.lm.geometry.model import wrap_model

        tok = word_tokenizer(t for ts in texts.values() for t in ts)
        gm = wrap_model(tiny_model("bert", len(tok), max_positions=128, seed=seed), tok, "masked", name="tiny-bert")
    else:
        from kgalign.lm.geometry.model import load_model

        gm = load_model(model_id, kind, device=device)
    cfg = GeometryConfig(
        share=share,
        layers=_layers(layers),
        axes_layer=axes_layer,
        max_texts=max_texts,
        max_tokens=max_tokens,
        perplexity=not no_perplexity,
        batch_size=batch_size,
        seed=seed,
        max_length=min(64, getattr(gm.model.config, "max_position_embeddings", 64) or 64),
    )
    report = analyse(gm, texts, cfg, echo=click.echo)
    report["source"] = {"pair": pair_dir, "texts": list(text_specs), "kind": source if pair_dir else "files"}
    click.echo(markdown_table(report))
    for path in write_outputs(report, out, force=force, plots=not no_plots):
        click.echo(f"wrote {path}")
