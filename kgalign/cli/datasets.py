"""``kgalign datasets list|fetch``: the public datasets kgalign knows."""

from __future__ import annotations

import click


@click.group("datasets")
def datasets() -> None:
    """Public datasets: list them, fetch them into $KGALIGN_HOME/datasets."""


@datasets.command("list")
def list_() -> None:
    """Registered datasets: name, title, licence, where a copy was found (if any), and the
    source it is downloaded from (the first file's URL; `fetch` verifies every checksum)."""
    from kgalign.datasets import REGISTRY, DatasetNotFoundError, locate

    click.echo("name\ttitle\tlicence\tlocal copy\tsource")
    for name in sorted(REGISTRY):
        ds = REGISTRY[name]
        try:
            where = str(locate(name))
        except DatasetNotFoundError:
            where = "not downloaded"
        source = ds.resources[0].url if ds.resources else "-"
        more = f" (+{len(ds.resources) - 1} files)" if len(ds.resources) > 1 else ""
        click.echo(f"{name}\t{ds.title}\t{ds.licence}\t{where}\t{source}{more}")


@datasets.command("fetch")
@click.argument("name")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    help="Datasets root (default: $KGALIGN_HOME/datasets, i.e. ~/.cache/kgalign/datasets).",
)
@click.option("--force", is_flag=True, help="Download again and replace an existing copy.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def fetch(name, data_dir, force, quiet) -> None:
    """Download NAME, verify its sha256 checksums and unpack it (atomically)."""
    from kgalign.datasets import fetch as do_fetch
    from kgalign.datasets import get

    ds = get(name)
    path = do_fetch(ds, data_dir, force=force, progress=not quiet, echo=lambda m: click.echo(m, err=True))
    click.echo(str(path))
    click.echo(f"licence: {ds.licence}; cite: {ds.citation}", err=True)
