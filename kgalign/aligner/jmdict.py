"""JMdict and JMnedict lookup tables for the Japanese romanize fallback.

JMdict (the Japanese-English dictionary) and JMnedict (its proper-name companion, with
romanised readings of people, places and organisations) are Jim Breen's EDRDG dictionaries,
CC BY-SA (https://www.edrdg.org/edrdg/licence.html). They are read from the SQLite build that
the ``jamdict-data`` package ships (``jamdict_data.JAMDICT_DB_PATH``, JMdict/JMnedict of
April 2021, 311 MB installed) once, on first use, into three in-memory tables (about 5 s and
150 MB); a missing package gives ``None`` and the caller falls back to pykakasi readings.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["JapaneseDictionaries", "japanese_dictionaries"]

log = logging.getLogger(__name__)

_PARENS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_SPACES = re.compile(r"\s+")
#: JMnedict name types that are people (their romanised reading is the English rendering)
PERSON_TYPES = frozenset({"surname", "given", "masc", "fem", "person"})


def clean_gloss(text: str) -> str | None:
    """The English rendering in a JMdict gloss or a JMnedict translation: notes in parentheses,
    a leading article or ``to`` and what follows a comma or semicolon dropped; None when
    nothing ASCII is left (``"state (US, Australia, ...)"`` -> ``"state"``)."""
    t = _PARENS.sub(" ", text)
    t = t.split(";")[0].split(",")[0]
    t = re.sub(r"^(to |a |an |the )", "", t.strip(), flags=re.I)
    t = _SPACES.sub(" ", t).strip(" .-/")
    return t if t and t.isascii() else None


@dataclass
class JapaneseDictionaries:
    """In-memory JMdict/JMnedict tables.

    Attributes
    ----------
    words : dict of str to str
        JMdict headword (kanji form, or a kana form that is written in katakana) -> the first
        usable English gloss of its first entry.
    suffixes : dict of str to str
        Single kanji that JMdict lists as a suffix -> the gloss of that sense
        (``市`` -> ``city``, ``郡`` -> ``county``, ``語`` -> ``language``).
    names : dict of str to list of (str, str, frozenset)
        JMnedict written form (kanji or katakana) -> ``(kana reading, romanised name, types)``
        per entry, in dictionary order.
    """

    words: dict[str, str] = field(default_factory=dict)
    suffixes: dict[str, str] = field(default_factory=dict)
    names: dict[str, list] = field(default_factory=dict)


def _is_katakana_word(text: str) -> bool:
    return bool(text) and all("\u30a0" <= c <= "\u30ff" for c in text)


@lru_cache(maxsize=1)
def japanese_dictionaries() -> JapaneseDictionaries | None:
    """Load JMdict and JMnedict from ``jamdict-data`` (cached); None when it is not installed.

    Returns
    -------
    JapaneseDictionaries or None
    """
    try:
        import sqlite3

        from jamdict_data import JAMDICT_DB_PATH
    except ImportError:
        log.warning(
            "JMdict/JMnedict are not installed (pip install 'kgalign[ja]'): Japanese names fall back to "
            "pykakasi romaji and CC-CEDICT (DBP15K ja_en without translations: 0.76 instead of 0.96)"
        )
        return None
    db = sqlite3.connect(f"file:{JAMDICT_DB_PATH}?mode=ro", uri=True)
    try:
        return _load(db)
    except sqlite3.Error as e:  # a damaged or foreign database: fall back as if absent
        log.warning("cannot read JMdict/JMnedict from %s (%s); Japanese falls back to pykakasi", JAMDICT_DB_PATH, e)
        return None
    finally:
        db.close()


def _load(db) -> JapaneseDictionaries:
    out = JapaneseDictionaries()
    suffix_sids = {sid for (sid,) in db.execute("SELECT sid FROM pos WHERE text LIKE '%suffix%'")}
    first: dict[int, str] = {}  # idseq -> first usable gloss of its first sense that has one
    suffix: dict[int, str] = {}  # idseq -> first usable gloss of its first suffix sense
    rows = db.execute(
        "SELECT s.idseq, s.ID, g.text FROM Sense s JOIN SenseGloss g ON g.sid = s.ID "
        "WHERE g.lang = 'eng' ORDER BY s.ID, g.rowid"
    )
    for idseq, sid, text in rows:
        if idseq in first and (idseq in suffix or sid not in suffix_sids):
            continue
        g = clean_gloss(text)
        if g is None:
            continue
        first.setdefault(idseq, g)
        if sid in suffix_sids:
            suffix.setdefault(idseq, g)
    for text, idseq in db.execute("SELECT text, idseq FROM Kanji ORDER BY idseq"):
        if idseq in first:
            if len(text) >= 2:
                out.words.setdefault(text, first[idseq])
            elif idseq in suffix and len(suffix[idseq].split()) <= 2:
                out.suffixes.setdefault(text, suffix[idseq])
    for text, idseq in db.execute("SELECT text, idseq FROM Kana ORDER BY idseq"):
        if idseq in first and len(text) >= 2 and _is_katakana_word(text):
            out.words.setdefault(text, first[idseq])
    readings: dict[int, str] = {}
    for idseq, text in db.execute("SELECT idseq, text FROM NEKana ORDER BY ID"):
        readings.setdefault(idseq, text)
    types: dict[int, frozenset] = {}
    interned: dict[frozenset, frozenset] = {}  # a few dozen distinct sets for 740,000 names
    for tid, text in db.execute("SELECT tid, text FROM NETransType"):
        t = types.get(tid, frozenset()) | {text}
        types[tid] = interned.setdefault(t, t)
    trans: dict[int, tuple] = {}
    for idseq, tid, text in db.execute(
        "SELECT t.idseq, t.ID, g.text FROM NETranslation t JOIN NETransGloss g ON g.tid = t.ID ORDER BY t.ID, g.rowid"
    ):
        if idseq in trans:
            continue
        g = clean_gloss(text)
        if g is not None:
            trans[idseq] = (g, types.get(tid, frozenset()))
    for text, idseq in db.execute("SELECT text, idseq FROM NEKanji ORDER BY idseq"):
        if idseq in trans and len(text) >= 2:
            out.names.setdefault(text, []).append((readings.get(idseq, ""), *trans[idseq]))
    for text, idseq in db.execute("SELECT k.text, k.idseq FROM NEKana k ORDER BY k.idseq"):
        if idseq in trans and len(text) >= 2 and _is_katakana_word(text):
            out.names.setdefault(text, []).append((text, *trans[idseq]))
    log.debug("JMdict: %d words, %d suffixes; JMnedict: %d names", len(out.words), len(out.suffixes), len(out.names))
    return out
