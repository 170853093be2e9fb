"""Logging set-up and progress bars that follow the log level.

Every module logs through ``logging.getLogger(__name__)``, so all records of the library
go through the ``kgalign`` logger. The command line calls :func:`configure_logging` once
(``kgalign -v`` / ``-q``); a library user configures logging as usual. Progress bars are
shown when the ``kgalign`` logger is enabled for INFO (as sentence-transformers does), so
``-q`` silences them together with the messages and ``-v`` keeps them.
"""

from __future__ import annotations

import logging
import sys

#: Verbosity of ``kgalign -q`` / default / ``-v`` / ``-vv`` -> level of the ``kgalign`` logger.
LEVELS = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}

_HANDLER_NAME = "kgalign-cli"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it
        pass


def configure_logging(verbosity: int = 0) -> int:
    """Send the ``kgalign`` logger's records to stderr at the level ``verbosity`` selects.

    Parameters
    ----------
    verbosity : int
        ``-1`` (``-q``): warnings and errors only, no progress bars; ``0``: information and
        progress bars; ``>= 1`` (``-v``): debug records too; ``>= 2`` also the debug records
        of the libraries kgalign drives (rdflib, transformers, sentence-transformers).

    Returns
    -------
    int
        The level set on the ``kgalign`` logger.
    """
    level = LEVELS[max(-1, min(1, int(verbosity)))]
    logger = logging.getLogger("kgalign")
    logger.setLevel(level)
    if not any(getattr(h, "name", None) == _HANDLER_NAME for h in logger.handlers):
        handler = _StderrHandler()
        handler.name = _HANDLER_NAME
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    if verbosity >= 2:
        for name in ("rdflib", "transformers", "sentence_transformers"):
            logging.getLogger(name).setLevel(logging.DEBUG)
    return level


def progress_enabled(logger: logging.Logger | None = None) -> bool:
    """True when progress bars should be drawn: the logger is enabled for INFO.

    A library user who never configured logging gets the root default (WARNING), i.e. no
    bars unless a ``show_progress``/``progress`` argument asks for them explicitly.
    """
    return (logger or logging.getLogger("kgalign")).isEnabledFor(logging.INFO)
