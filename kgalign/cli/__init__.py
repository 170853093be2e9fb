"""The ``kgalign`` command line. Each sub-command lives in its own module, imported lazily."""

from __future__ import annotations

import importlib
import sys

import click

from kgalign.errors import KgalignError

# sub-command name -> "module:attribute"
_COMMANDS = {
    "align": "kgalign.cli.align:align",
    "demo": "kgalign.cli.align:demo",
    "evaluate": "kgalign.cli.evaluate:evaluate",
    "benchmark": "kgalign.cli.benchmark:benchmark",
    "probe": "kgalign.cli.probe:probe",
    "datasets": "kgalign.cli.datasets:datasets",
    "geometry": "kgalign.cli.geometry:geometry",
    "edit": "kgalign.cli.edit:edit",
}


class LazyGroup(click.Group):
    """A click group that imports a sub-command's module only when it is used."""

    def list_commands(self, ctx):
        import importlib.util

        return sorted(n for n, t in _COMMANDS.items() if importlib.util.find_spec(t.split(":")[0]))

    def get_command(self, ctx, name):
        target = _COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:  # a sub-command not built yet
            raise click.ClickException(f"sub-command {name!r} is unavailable: {exc}") from exc


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__import__("kgalign").__version__, prog_name="kgalign")
@click.option("-v", "--verbose", count=True, help="More log output (-v: debug, -vv: also the libraries').")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no progress bars.")
def cli(verbose: int, quiet: bool) -> None:
    """Align entities between knowledge graphs in different languages."""
    from kgalign.logs import configure_logging

    configure_logging(-1 if quiet else verbose)


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the CLI and turns kgalign errors into a message and exit status 2."""
    try:
        cli.main(args=argv, prog_name="kgalign", standalone_mode=False)
    except KgalignError as exc:
        click.echo(f"kgalign: error: {exc}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
