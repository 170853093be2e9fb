"""English synonyms from Princeton WordNet, read from its database files (wndb format).

WordNet 3.0 (Miller 1995, "WordNet: a lexical database for English", CACM 38(11); licence:
the WordNet 3.0 licence, free to use and redistribute) ships as ``index.noun``/``data.noun``
(and ``verb``, ``adj``): an index line per lemma ``lemma pos synset_cnt p_cnt [ptr...]
sense_cnt tagsense_cnt offset...`` (offsets of its synsets, most frequent sense first) and a
data line per synset at that byte offset, ``offset lex_filenum ss_type w_cnt word lex_id ...``
(``w_cnt`` in hex); see wndb(5). Debian ships the files as ``wordnet-base``; ``make install``
extracts them into ``<venv>/share/wordnet``. nltk's reader needs its own data layout (with
``lexnames`` and ``index.sense``, from ``nltk.download``, which needs the network), so the two
look-ups used here read the files directly.

Folders searched, first hit wins: ``$KGALIGN_WORDNET``, ``$KGALIGN_HOME/wordnet``,
``<sys.prefix>/share/wordnet``, ``/usr/share/wordnet``; ``KGALIGN_WORDNET=none`` turns
WordNet off (``similarity.synonyms: 0`` does the same for one run).
"""

from __future__ import annotations

import logging
import os
import sys
from functools import cache
from pathlib import Path

__all__ = ["find_wordnet", "synonyms", "ENV"]

log = logging.getLogger(__name__)

ENV = "KGALIGN_WORDNET"
_POS = ("noun", "verb", "adj")


def _search_dirs() -> list[Path]:
    from kgalign.home import kgalign_home

    dirs = [Path(os.environ[ENV])] if os.environ.get(ENV) else []
    dirs += [kgalign_home() / "wordnet", Path(sys.prefix) / "share" / "wordnet", Path("/usr/share/wordnet")]
    return dirs


@cache
def find_wordnet() -> Path | None:
    """The first folder holding WordNet's ``index.noun`` and ``data.noun``, or None (after
    one warning naming the Debian package; silently when ``$KGALIGN_WORDNET`` is ``none``,
    which turns WordNet off). Cached per process (``find_wordnet.cache_clear()`` after
    changing ``$KGALIGN_WORDNET``)."""
    if os.environ.get(ENV, "").strip().lower() in ("none", "off"):
        return None
    for d in _search_dirs():
        if (d / "index.noun").is_file() and (d / "data.noun").is_file():
            return d
    log.warning(
        "WordNet not found in %s: the sense-overlap view matches words without English synonyms "
        "(extract the Debian package wordnet-base into %s, as `make wordnet` does)",
        ", ".join(str(d) for d in _search_dirs()),
        Path(sys.prefix) / "share" / "wordnet",
    )
    return None


@cache
def _index(root: Path, pos: str) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {}
    path = root / f"index.{pos}"
    if not path.is_file():
        return out
    with open(path, encoding="latin-1") as fh:
        for line in fh:
            if line.startswith(" "):  # the licence header
                continue
            p = line.split()
            try:
                n_ptr = int(p[3])
                out[p[0]] = tuple(int(o) for o in p[6 + n_ptr :])
            except (IndexError, ValueError):
                continue
    return out


@cache
def _data(root: Path, pos: str) -> bytes:
    path = root / f"data.{pos}"
    return path.read_bytes() if path.is_file() else b""


def _synset_words(root: Path, pos: str, offset: int) -> list[str]:
    data = _data(root, pos)
    end = data.find(b"\n", offset)
    f = data[offset : end if end >= 0 else len(data)].decode("latin-1").split()
    try:
        n = int(f[3], 16)
        return [f[4 + 2 * i].split("(")[0].lower() for i in range(n)]  # "word(a)": an adjective marker
    except (IndexError, ValueError):
        return []


@cache
def synonyms(word: str, synsets: int = 2) -> frozenset:
    """Single-word synonyms of an English word: the other words of its first ``synsets``
    synsets (WordNet's most frequent senses) as a noun, a verb and an adjective, lower-cased.

    Parameters
    ----------
    word : str
        A lower-case lemma (``chairman``).
    synsets : int
        Synsets read per part of speech.

    Returns
    -------
    frozenset of str
        Empty without WordNet or for an unknown word (``chairman``: chair, chairperson,
        chairwoman, president).
    """
    root = find_wordnet()
    if root is None or synsets <= 0:
        return frozenset()
    out: set[str] = set()
    for pos in _POS:
        for off in _index(root, pos).get(word, ())[:synsets]:
            out.update(w for w in _synset_words(root, pos, off) if w.isalpha())
    out.discard(word)
    return frozenset(out)
