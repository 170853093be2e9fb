"""Corpus tracing: is a fact present in a language's text? (Zhao et al., EACL 2024, sec. 5)

A fact ``(subject, relation, object)`` is *present* in a corpus when its subject name and
object name co-occur: in the same line, or (with ``window``) within ``window`` characters of
each other in the same line. A fact that a model predicts in a language whose corpus lacks
it must have come from elsewhere: it is *transferred*.

Names are matched as exact substrings (optionally case-folded), so the count is the same
for scripts with and without spaces between words.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kgalign.errors import InputError


@dataclass(frozen=True)
class Cooccurrence:
    """Co-occurrence counts of one (subject, object) name pair in a corpus.

    Attributes
    ----------
    lines : int
        Lines containing both names.
    windows : int
        Pairs (subject occurrence, object occurrence) in the same line whose gap (characters
        between the end of the first and the start of the second) is at most ``window``;
        0 when no window was asked for.
    """

    lines: int
    windows: int

    def present(self, use_window: bool) -> bool:
        return (self.windows if use_window else self.lines) > 0


class NameIndex:
    """All occurrences of a set of names in a corpus, found in one pass.

    Parameters
    ----------
    names : iterable of str
        Names to look for (empty names are ignored).
    casefold : bool
        Compare case-insensitively (``str.casefold``).

    Notes
    -----
    Candidate names are bucketed by their first two characters (one for one-character
    names), so a line of length n costs O(n) dictionary look-ups plus the verification of
    the names sharing a bucket; every occurrence, overlapping ones included, is found.
    """

    def __init__(self, names: Iterable[str], casefold: bool = False):
        self.casefold = casefold
        self._by2: dict[str, list[str]] = defaultdict(list)
        self._by1: dict[str, list[str]] = defaultdict(list)
        seen = set()
        for n in names:
            key = self._norm(n)
            if not key or key in seen:
                continue
            seen.add(key)
            (self._by1 if len(key) == 1 else self._by2)[key[:1] if len(key) == 1 else key[:2]].append(key)

    def _norm(self, s: str) -> str:
        return s.casefold() if self.casefold else s

    def find(self, line: str) -> dict[str, list[int]]:
        """Start offsets of every indexed name occurring in ``line``."""
        text = self._norm(line)
        hits: dict[str, list[int]] = defaultdict(list)
        for i in range(len(text)):
            for n in self._by1.get(text[i], ()):
                hits[n].append(i)
            for n in self._by2.get(text[i : i + 2], ()):
                if text.startswith(n, i):
                    hits[n].append(i)
        return hits


def read_corpus(path: str | os.PathLike, encoding: str = "utf-8") -> list[str]:
    """Lines of a text corpus (one document or sentence per line).

    Raises
    ------
    InputError
        When the file cannot be read or decoded (names the file and line).
    """
    lines = []
    try:
        with open(path, "rb") as fh:
            for k, raw in enumerate(fh, 1):
                try:
                    lines.append(raw.decode(encoding).rstrip("\r\n"))
                except UnicodeDecodeError as exc:
                    raise InputError(f"cannot decode byte 0x{raw[exc.start]:02x} as {encoding}", path, k) from exc
    except OSError as exc:
        raise InputError(f"cannot read corpus: {exc.strerror or exc}", path) from exc
    return lines


def count_cooccurrences(
    corpus: Iterable[str],
    pairs: Sequence[tuple[str, str]],
    window: int | None = None,
    casefold: bool = False,
) -> list[Cooccurrence]:
    """Count how often each (subject name, object name) pair co-occurs in ``corpus``.

    Parameters
    ----------
    corpus : iterable of str
        Lines of text.
    pairs : sequence of (str, str), length p
        Subject and object names.
    window : int, optional
        Maximum gap in characters between the two names for a window co-occurrence (0 means
        adjacent). Without it only line co-occurrence is counted (``windows`` is 0).
    casefold : bool
        Case-insensitive matching.

    Returns
    -------
    list of Cooccurrence, length p
        ``lines``: number of lines containing both names (a line counts once); ``windows``:
        number of (subject occurrence, object occurrence) pairs in the same line whose
        character gap is at most ``window`` (overlapping occurrences have gap 0; a name
        never co-occurs with the very same occurrence of itself).
    """
    if window is not None and window < 0:
        raise InputError(f"window must be >= 0, got {window}")
    index = NameIndex([n for p in pairs for n in p], casefold)
    norm = [(index._norm(s), index._norm(o)) for s, o in pairs]
    by_name: dict[str, list[int]] = defaultdict(list)
    for k, (s, _o) in enumerate(norm):
        by_name[s].append(k)
    line_counts = [0] * len(pairs)
    win_counts = [0] * len(pairs)
    for line in corpus:
        hits = index.find(line)
        if not hits:
            continue
        for s_name, s_pos in hits.items():
            for k in by_name.get(s_name, ()):
                o_name = norm[k][1]
                o_pos = hits.get(o_name)
                if not o_pos:
                    continue
                line_counts[k] += 1
                if window is None:
                    continue
                ls, lo = len(s_name), len(o_name)
                for a in s_pos:
                    for b in o_pos:
                        if s_name == o_name and a == b:
                            continue
                        gap = b - (a + ls) if b >= a else a - (b + lo)
                        if max(gap, 0) <= window:
                            win_counts[k] += 1
    return [Cooccurrence(l, w) for l, w in zip(line_counts, win_counts)]
