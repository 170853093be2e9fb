"""Exceptions raised by kgalign.

Every error that a user can cause with bad input is a :class:`KgalignError`; the CLI turns
it into a one-line message and a non-zero exit status instead of a traceback.
"""

from __future__ import annotations

import os


class KgalignError(Exception):
    """Base class of all errors kgalign raises on bad input or bad options."""


class InputError(KgalignError, ValueError):
    """A file or value the user gave cannot be used.

    Parameters
    ----------
    message : str
        What is wrong.
    path : str or os.PathLike, optional
        The offending file; shown as its base name.
    line : int, optional
        1-based line number inside ``path``.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None, line: int | None = None):
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.reason = message
        prefix = ""
        if self.path is not None:
            prefix = os.path.basename(self.path)
            if line is not None:
                prefix += f":{line}"
            prefix += ": "
        super().__init__(prefix + message)


class EmptyGraphError(InputError):
    """A knowledge graph holds no entity."""


class OutputExistsError(KgalignError, FileExistsError):
    """An output file exists and ``force`` was not given."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        super().__init__(f"{self.path} exists; use --force to overwrite it")


class OutputError(KgalignError, OSError):
    """An output file cannot be written (folder missing or read-only, disk full, ...)."""


class SolverError(KgalignError, RuntimeError):
    """A matching solver failed or was given an invalid problem."""
