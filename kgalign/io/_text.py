"""Reading text files for the loaders: byte-order marks, encodings and line numbers."""

from __future__ import annotations

import codecs
import gzip
import os
import re
from collections.abc import Iterator
from pathlib import Path

from kgalign.errors import InputError

#: Line breaks of every text format we read (N-Triples allows CR, LF and CRLF).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def read_bytes(path: str | os.PathLike) -> bytes:
    """The raw bytes of ``path`` (gunzipped when the name ends in ``.gz``).

    Raises
    ------
    InputError
        When the file does not exist, is a directory, cannot be read, or is a broken gzip file.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("no such file", p)
    if p.is_dir():
        raise InputError("is a directory, expected a file", p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", p) from None
    if p.suffix.lower() == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(f"not a valid gzip file: {exc}", p) from None
    return data


def strip_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte-order mark."""
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data


def decode(data: bytes, path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """Decode file contents, stripping a byte-order mark; errors name the line and the byte.

    Parameters
    ----------
    data : bytes
        File contents.
    path : str or os.PathLike
        The file, for messages.
    encoding : str
        A Python codec name (``"utf-8"``, ``"latin-1"``, ...).

    Returns
    -------
    str
        The text, without a leading U+FEFF.

    Raises
    ------
    InputError
        When ``encoding`` is unknown, or a byte sequence is invalid in it: the message names the
        1-based line, the offending byte in hex, and suggests ``--encoding latin-1``.
    """
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}", path) from None
    data = strip_bom(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start : exc.end]
        raise InputError(
            f"byte 0x{bad[0]:02x} at column {col} is not valid {encoding} "
            f"({exc.reason}); if the file uses another encoding, pass it, e.g. --encoding latin-1 "
            f"(Python: encoding='latin-1')",
            path,
            line,
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """:func:`read_bytes` then :func:`decode`."""
    return decode(read_bytes(path), path, encoding)


def iter_lines(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` for every non-blank line (1-based numbers, CR/LF/CRLF breaks)."""
    for no, line in enumerate(_LINE_BREAK.split(text), start=1):
        if line.strip():
            yield no, line


def line_of_offset(text: str | bytes, offset: int) -> int:
    """1-based line number of character (or byte) ``offset`` in ``text``."""
    if isinstance(text, bytes):
        return text.count(b"\n", 0, max(offset, 0)) + 1
    return text.count("\n", 0, max(offset, 0)) + 1
