"""``kgalign align`` and ``kgalign demo``."""

from __future__ import annotations

import time
from pathlib import Path

import click

from kgalign.errors import InputError
from kgalign.io import registry


def _common_options(f):
    options = [
        click.option("--lang1", help="Label language of the first graph (default: its most frequent tag)."),
        click.option("--lang2", help="Label language of the second graph."),
        click.option(
            "--encoder",
            help="auto (default: all-MiniLM-L6-v2, or a cached multilingual encoder when a side has no translation) | sentence-transformers model id or path.",  # noqa: E501
        ),
        click.option(
            "--translator",
            help="auto (default: per side shipped translations, cached MT model, else the offline romanize fallback) | identity | romanize | translit | dict:PATH | mt:MODEL.",  # noqa: E501
        ),
        click.option("--threshold", type=float, help="Drop pairs whose similarity is below this value."),
        click.option("--device", help="auto (default: cuda, then mps, then cpu), cpu, cuda, cuda:N or mps."),
        click.option(
            "--seed",
            type=int,
            help="Seed of random steps (default 0; the pipeline has none, align --closed shuffles the targets with it).",  # noqa: E501
        ),
        click.option(
            "--config", "config_file", type=click.Path(dir_okay=False), help="YAML or JSON configuration file."
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress bars and no information lines (as kgalign -q)."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f


def build_config(config_file: str | None, **options):
    """The run's :class:`~kgalign.config.AlignConfig`: ``--config FILE`` (YAML/JSON, see
    :func:`kgalign.config.load_config`) with the command-line options on top (None: not given).

    Raises
    ------
    InputError
        For a bad file, key or value; before any graph is loaded.
    """
    from kgalign.config import AlignConfig, load_config

    base = load_config(config_file) if config_file else None
    return AlignConfig.build(base, **options)


def _check_output(output, fmt, force, inputs=()) -> None:
    """Fail on an unknown output format, an existing file, a special file or an input before any work."""
    from kgalign.io.atomic import check_writable
    from kgalign.io.writers import output_format

    if output:
        output_format(output, fmt)
        check_writable(output, force=force, inputs=inputs)


def _check_models(config) -> None:
    """Fail within seconds when a named encoder or MT model is neither local, cached nor downloadable."""
    from kgalign.aligner.hub import ensure_available

    if config.encoder:
        ensure_available(config.encoder, "encoder")
    tr = config.translator or ""
    for spec in tr.split(",") if isinstance(tr, str) else ():
        if spec.strip().startswith("mt:"):
            ensure_available(spec.strip()[3:], "MT model")


def _options_dict(lang1, lang2, threshold, device, seed, quiet) -> dict:
    # None means "not given": the configuration file (or the default) decides. Progress bars
    # follow the log level too: `kgalign -q align ...` hides them as `align -q` does.
    from kgalign.logs import configure_logging, progress_enabled

    if quiet:
        configure_logging(-1)

    return dict(
        lang1=lang1,
        lang2=lang2,
        threshold=threshold,
        device=device,
        seed=seed,
        show_progress=False if quiet or not progress_enabled() else None,
    )


@click.command()
@click.argument("kg1", type=click.Path(exists=True))
@click.argument("kg2", type=click.Path(exists=True), required=False)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Output file (.tsv, .sssom.tsv, .json, .ttl, .nt, .rdf)."
)
@click.option("--output-format", type=click.Choice(registry.names("writer")), help="Override the suffix.")
@click.option(
    "--format",
    "in_format",
    type=click.Choice(registry.names("graph")),
    help="Input format (default: by suffix or directory contents).",
)
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of the input files.")
@click.option(
    "--engine",
    type=click.Choice(["auto", "rdflib", "oxigraph"]),
    default="auto",
    show_default=True,
    help="RDF parser: oxigraph streams large N-Triples/Turtle/RDF/XML files (kgalign[fast]); "
    "auto uses it for files of 16 MiB or more when installed.",
)
@click.option(
    "--closed",
    is_flag=True,
    help="With a gold pair directory: match only the linked entities (closed protocol, target side shuffled).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option(
    "--candidates",
    "candidates_out",
    type=click.Path(dir_okay=False),
    help="Also write the top-ranked candidates of every source here (TSV with a rank column; "
    "`kgalign evaluate` reads it for Hits@k and MRR).",
)
@click.option(
    "--candidates-k",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Candidates per source in --candidates.",
)
@click.option(
    "--ranking",
    type=click.Choice(["reexchange", "similarity"]),
    default="reexchange",
    show_default=True,
    help="Order of --candidates: re-exchange (least-regret; the assigned partner first) or similarity.",
)
@click.option(
    "--save-dir",
    type=click.Path(file_okay=False),
    help="Also save the run here: config.json (resolved), metadata.json (version, input "
    "fingerprints, resolved choices, stage times), alignment.tsv and alignment.sssom.tsv.",
)
@click.option(
    "--abstain",
    type=click.Choice(["auto", "none"]),
    default=None,
    help="auto: withdraw pairs with a weak score or a thinly described (peripheral) entity, for graphs "
    "with dangling entities (kgalign.aligner.dangling); none (default): every source keeps its partner.",
)
@click.option(
    "--kinds",
    help="Entity kinds to align, each against the same kind: comma-separated classes, "
    "properties, individuals (also concepts, object_properties, datatype_properties, "
    "annotation_properties, all). Default: every kind both inputs share.",
)
@_common_options
def align(
    kg1,
    kg2,
    output,
    output_format,
    in_format,
    encoding,
    engine,
    closed,
    force,
    candidates_out,
    candidates_k,
    ranking,
    save_dir,
    abstain,
    kinds,
    lang1,
    lang2,
    encoder,
    translator,
    threshold,
    device,
    seed,
    config_file,
    quiet,
):
    """Align the entities of KG1 and KG2 (two RDF files) or of the pair in directory KG1 (DBP15K, OpenEA).

    Prints a summary (entities per side, pairs written, time per stage) and, when the input
    carries gold links, precision / recall / F1 and Hits@1 against them.
    """
    import numpy as np

    from kgalign.aligner.pipeline import align as run_align
    from kgalign.io import load_kg, load_pair
    from kgalign.io.writers import write_alignment
    from kgalign.profiling import StageTimer

    inputs = (kg1, kg2)
    _check_output(output, output_format, force, inputs)
    if candidates_out:
        from kgalign.io.atomic import check_writable

        if output and Path(candidates_out).resolve() == Path(output).resolve():
            raise InputError("--candidates must name another file than --output", candidates_out)
        check_writable(candidates_out, force=force, inputs=inputs)
    _check_save_dir(save_dir, force, inputs)
    config = build_config(
        config_file,
        abstain=abstain,
        kinds=kinds,
        encoder=encoder,
        translator=translator,
        **_options_dict(lang1, lang2, threshold, device, seed, quiet),
    )  # validated before loading
    _check_models(config)
    if kg2 is None and not Path(kg1).is_dir():
        raise InputError(
            "give two graph files (KG1 KG2), or one directory holding a pair "
            "(DBP15K: ent_ids_1/2, triples_1/2; OpenEA: rel_triples_1/2)",
            kg1,
        )
    timer = StageTimer()
    t0 = time.perf_counter()
    with timer.stage("load"):
        if kg2 is None:
            pair = load_pair(kg1, format=in_format, encoding=encoding)
        else:
            from kgalign.kg import KGPair

            pair = KGPair(
                load_kg(kg1, format=in_format, encoding=encoding, engine=engine),
                load_kg(kg2, format=in_format, encoding=encoding, engine=engine),
            )
    sources = targets = None
    if closed:
        if pair.links is None or len(pair.links) == 0:
            raise InputError("--closed needs gold links in the input directory", kg1)
        rng = np.random.default_rng(config.seed)
        sources = pair.links[:, 0]
        targets = rng.permutation(pair.links[:, 1])
    res = run_align(
        pair.kg1,
        pair.kg2,
        sources=sources,
        targets=targets,
        translations=pair.translations,
        config=config,
        timer=timer,
        lang1=config.lang1 or pair.lang1,
        lang2=config.lang2 or pair.lang2,
    )
    from kgalign.io.atomic import commit_together

    n = 0
    with timer.stage("write"), commit_together():  # every output of the run, or none
        if output:
            write_alignment(res, output, fmt=output_format, force=force)
        if candidates_out:
            from kgalign.io.writers import write_candidates

            n = write_candidates(res, candidates_out, candidates_k, method=ranking, force=force)
        if save_dir:
            res.save(save_dir, force=force)
    if candidates_out:
        click.echo(f"candidates: {n} ranked rows ({ranking}, up to {candidates_k} per source) -> {candidates_out}")
    if save_dir:
        click.echo(f"saved the run (config, metadata, alignment TSV and SSSOM) -> {save_dir}")
    _summary(res, pair, output, timer, time.perf_counter() - t0)


def _check_save_dir(save_dir, force, inputs=()) -> None:
    """Fail before any work when ``--save-dir`` holds files (without ``--force``), is a file or an input."""
    from kgalign.errors import OutputError, OutputExistsError

    if not save_dir:
        return
    p = Path(save_dir)
    if p.is_symlink() or (p.exists() and not p.is_dir()):
        raise OutputError(f"cannot save to {p}: it is a file or a link, not a folder")
    for inp in inputs:
        if (
            inp is not None
            and Path(inp).exists()
            and (
                Path(inp).resolve() == p.resolve()
                or Path(inp).resolve().is_relative_to(p.resolve())
                or p.resolve().is_relative_to(Path(inp).resolve())
            )
        ):
            raise OutputError(f"refusing to save to {p}: it holds or is the input {inp}")
    if p.is_dir() and any(p.iterdir()) and not force:
        raise OutputExistsError(p)


def _save(res, save_dir, force, timer) -> None:
    if save_dir:
        with timer.stage("write"):
            res.save(save_dir, force=force)
        click.echo(f"saved the run (config, metadata, alignment TSV and SSSOM) -> {save_dir}")


def _summary(res, pair, output, timer, total: float) -> None:
    from kgalign.evaluation.metrics import one_to_one_accuracy, pair_prf

    click.echo(
        f"entities: {pair.kg1.n_entities} (first) / {pair.kg2.n_entities} (second); "
        f"matched {len(res.sources)} x {len(res.targets)}; pairs: {len(res)}" + (f" -> {output}" if output else "")
    )
    if not output:
        click.echo("no -o/--output given: the alignment was not saved")
    by_kind = (res.info or {}).get("kinds") if isinstance(res.info, dict) else None
    skipped = (res.info or {}).get("kinds_skipped") if isinstance(res.info, dict) else None
    if by_kind and (len(by_kind) > 1 or next(iter(by_kind)) != "individual" or skipped):
        click.echo(
            "kinds: "
            + "; ".join(f"{k} {v['sources']} x {v['targets']} -> {v['pairs']} pairs" for k, v in by_kind.items())
            + (
                "; not aligned (on one side only, or not selected by --kinds): "
                + ", ".join(f"{k} {v['first']} x {v['second']}" for k, v in skipped.items())
                if skipped
                else ""
            )
        )
    sch = (res.info or {}).get("schema") if isinstance(res.info, dict) else None
    if sch and sch.get("used"):
        ms = res.config.schema.min_score
        click.echo(
            f"schema structure: agreement {sch['agreement']:.2f} (1: the same structure), "
            f"{sch['changed']} pairs changed by it, "
            + (
                f"{sch.get('withdrawn', 0)} vocabulary pairs withdrawn below schema.min_score {ms}"
                if ms is not None
                else "no vocabulary pair withdrawn (schema.min_score null)"
            )
        )
    elif sch and sch.get("why") != "individuals only":  # vocabulary aligned by names alone: say why
        click.echo(f"schema structure: not used ({sch.get('why')}); vocabulary aligned by names alone")
    sen = (res.info or {}).get("senses") if isinstance(res.info, dict) else None
    if sen:
        wn = sen.get("wordnet")
        click.echo(
            "sense-overlap view: vocabulary labels compared through every dictionary sense; "
            + (f"WordNet synonyms ({sen['synonyms']} synsets) from {wn}" if wn else "no WordNet synonyms")
        )
    ch = res.choices or {}
    if ch:
        langs = "/".join(
            f"{ch.get(k) or '-'}{' (detected)' if ch.get(k + '_detected') else ''}" for k in ("lang1", "lang2")
        )
        trs = (
            ch.get("translator1")
            if ch.get("translator1") == ch.get("translator2")
            else f"{ch.get('translator1')} / {ch.get('translator2')}"
        )
        click.echo(
            f"resolved: languages {langs}; translator {trs}; encoder {ch.get('encoder')}; device {ch.get('device')}"
        )
    ch = (res.info or {}).get("choice") if isinstance(res.info, dict) else None
    if ch:  # which translator and encoder each side used, and why (kgalign.aligner.choose)
        for k in (1, 2):
            s = ch[f"side{k}"]
            click.echo(
                f"side {k} ({s['lang'] or '?'}): translator {s['translator']} - {s['reason']}"
                + (
                    f" [fallback: {s['fallback']}"
                    + (f", via {', '.join(s['resources'])}" if s.get("resources") else "")
                    + "]"
                    if s["fallback"]
                    else ""
                )
            )
        click.echo(f"encoder: {ch['encoder']} - {ch['encoder_reason']}")
    ab = (res.info or {}).get("abstain") if isinstance(res.info, dict) else None
    if ab and "min_score" in ab:  # "abstain": "none" records counts but has no settings
        click.echo(
            f"abstained: {ab['pairs'] - ab['kept']} of {ab['pairs']} assigned pairs withdrawn "
            f"({ab['withdrawn_low_score']} below score {ab['min_score']}, "
            f"{ab['withdrawn_peripheral']} with a peripheral entity)"
        )
    click.echo("time: " + timer.summary() + f"; total {total:.1f}s; device {res.device}")
    if pair.links is not None and len(pair.links):
        gold = {(int(i), int(j)) for i, j in pair.links.tolist()}
        src = set(res.sources.tolist())
        gold_here = {(i, j) for i, j in gold if i in src}
        pred = list(zip(res.rows.tolist(), res.cols.tolist()))
        m = pair_prf(pred, gold_here)
        # Hits@1 of the global 1-to-1 assignment, before any threshold drops pairs
        raw_r, raw_c = res.assignment if res.assignment is not None else (None, None)
        assigned = list(zip(res.sources[raw_r].tolist(), res.targets[raw_c].tolist())) if raw_r is not None else pred
        hits1 = one_to_one_accuracy(assigned, gold_here)
        click.echo(
            f"gold links: {len(gold_here)}; precision {m['precision']:.4f} recall {m['recall']:.4f} "
            f"F1 {m['f1']:.4f}; Hits@1 of the 1-to-1 assignment {hits1:.4f}"
        )


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Also write the alignment here.")
@click.option(
    "--save-dir", type=click.Path(file_okay=False), help="Also save the run here (see kgalign align --save-dir)."
)
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@_common_options
def demo(output, save_dir, force, lang1, lang2, encoder, translator, threshold, device, seed, config_file, quiet):
    """Align the embedded SILKNOW English/French thesaurus and score it against its gold links.

    Data: SILKNOW multilingual thesaurus of silk heritage (Apache-2.0,
    github.com/silknow/thesaurus), shipped in kgalign/data/silknow.
    """
    import numpy as np

    from kgalign.aligner.pipeline import align as run_align
    from kgalign.io import load_kg
    from kgalign.io.readers import read_alignment
    from kgalign.io.writers import write_alignment
    from kgalign.kg import KGPair
    from kgalign.profiling import StageTimer

    _check_output(output, None, force)
    _check_save_dir(save_dir, force)
    config = build_config(
        config_file,
        encoder=encoder,
        translator=translator,
        **_options_dict(lang1, lang2, threshold, device, seed, quiet),
    )
    _check_models(config)
    base = Path(__file__).resolve().parents[1] / "data" / "silknow"
    timer = StageTimer()
    t0 = time.perf_counter()
    click.echo("kgalign demo: SILKNOW thesaurus, English vs French (666 concepts each)")
    with timer.stage("load"):
        kg1, kg2 = load_kg(base / "silknow_en.ttl"), load_kg(base / "silknow_fr.ttl")
        gold = read_alignment(base / "gold_en_fr.tsv")
        links = np.array([(kg1.index[s], kg2.index[o]) for s, o in gold.pairs], dtype=np.int64)
    pair = KGPair(kg1, kg2, links=links, lang1="en", lang2="fr")
    res = run_align(kg1, kg2, config=config, timer=timer, lang1=config.lang1 or "en", lang2=config.lang2 or "fr")
    from kgalign.io.atomic import commit_together

    with timer.stage("write"), commit_together():
        if output:
            write_alignment(res, output, force=force)
        if save_dir:
            res.save(save_dir, force=force)
    if save_dir:
        click.echo(f"saved the run (config, metadata, alignment TSV and SSSOM) -> {save_dir}")
    _summary(res, pair, output, timer, time.perf_counter() - t0)
