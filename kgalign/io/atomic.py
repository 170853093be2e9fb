"""Atomic file output: a file appears complete or not at all, and is never replaced silently.

Every file kgalign writes (alignments, candidates, metrics, benchmark records, embedding-cache
chunks) goes through :func:`atomic_write`: the data goes to a temporary file in the target's
folder, is flushed and fsync'ed, and is moved into place with :func:`os.replace` (atomic on
POSIX and Windows within one file system). An existing file is replaced only with ``force``.

This module imports only the standard library and :mod:`kgalign.errors`, so that any layer
(and every format module of :mod:`kgalign.io`) may use it.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from kgalign.errors import OutputError, OutputExistsError

__all__ = ["atomic_write", "check_writable", "dump_json", "json_default"]


@contextmanager
def atomic_write(path: str | os.PathLike, *, force: bool = False, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temporary file next to ``path`` and move it into place on success.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create; missing parent folders are created.
    force : bool
        Replace an existing ``path``.
    mode : {"w", "wb"}
        Text (newlines written as given, ``newline=""``) or binary.
    encoding : str or None
        Text encoding (ignored in binary mode).

    Yields
    ------
    file object
        The open temporary file. If the ``with`` block raises, the temporary file is removed
        and ``path`` is left as it was.

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``force`` is false (checked before anything is written).
    OutputError
        When the folder cannot be created or written.
    """
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    # mkstemp creates 0600; give the file the permissions a plain open() would (0666 & ~umask)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None, newline="" if "b" not in mode else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def json_default(o):
    """``json.dump(default=...)`` for numpy scalars and arrays and paths.

    Raises
    ------
    TypeError
        For any other type (as ``json`` itself does).
    """
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    if type(o).__module__ == "numpy":  # numpy is imported only when a numpy object comes
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dump_json(path: str | os.PathLike, obj, *, force: bool = False) -> None:
    """Write ``obj`` as indented UTF-8 JSON to ``path`` through :func:`atomic_write`.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``force`` is False.
    """
    with atomic_write(path, force=force) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1, default=json_default)
        fh.write("\n")


def check_writable(path: str | os.PathLike, *, force: bool = False) -> None:
    """Fail early when ``path`` exists (without ``force``) or its folder cannot be written.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``force`` is False.
    OutputError
        The nearest existing ancestor folder is not a folder or a file cannot be created there.
    """
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(path)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: {parent} is not a folder")
    try:  # the real test: can a file be created there (permissions, read-only or special fs)?
        fd, probe = tempfile.mkstemp(prefix=".kgalign-probe.", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
