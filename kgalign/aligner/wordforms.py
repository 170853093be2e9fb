"""Word forms to look up in a bilingual dictionary, per language (for :mod:`kgalign.aligner.freedict`).

Dictionaries list base forms; labels hold inflected, compounded or cliticised words. Each
normaliser returns the forms to try, best first; the first one the dictionary has wins.

* German (:func:`german_forms`, :func:`split_compound`): the word, its lemma by ``simplemma``
  (``hat`` -> ``haben``, ``Gutachters`` -> ``gutachter``), then without an inflection
  ending (``eingereichter`` -> ``eingereicht``); a compound not in the dictionary is split
  into the fewest known words of at least three letters, with the linking elements ``-s-``,
  ``-es-``, ``-n-``, ``-en-`` between them and an inflection ending on the last
  (``Konferenzteilnehmerin`` -> ``konferenz`` + ``teilnehmerin``; among equally few parts the
  one with the longer last part, as the head of a German compound is its last word);
* Russian (:func:`russian_forms`): lemmas by ``pymorphy3`` (OpenCorpora dictionary, package
  ``pymorphy3-dicts-ru``, extra ``ru``): an adjective or participle as its masculine nominative
  (``Отозванная`` -> ``отозванный``), then each parse's normal form (``статьи`` -> ``статья``);
  without pymorphy3 the lower-cased word only;
* Arabic (:func:`arabic_forms`): short vowels and tatweel dropped and alef variants unified
  (:func:`arabic_key`, applied to the dictionary's headwords too), then the proclitics ``و``,
  ``ف`` (and, then), ``ب``, ``ل``, ``ك`` (in, for, like) and the article ``ال`` stripped, and
  the endings ``ة`` (feminine), ``ات`` (feminine plural), ``ون``/``ين`` (masculine plural), with
  and without the article (FreeDict's ``ara-eng`` lists many nouns with it: ``المؤتمر``);
* any other language: the lower-cased word, then its ``simplemma`` lemma when simplemma knows
  the language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container
from functools import lru_cache

__all__ = [
    "forms",
    "lemma",
    "generic_forms",
    "german_forms",
    "split_compound",
    "russian_forms",
    "arabic_forms",
    "arabic_key",
    "STOPWORDS",
]

#: Articles dropped before look-up (they carry no meaning a label needs, and dictionaries
#: gloss them badly: ``des`` is also the note D flat).
STOPWORDS: dict[str, frozenset] = {
    "deu": frozenset("der die das des dem den ein eine einer eines einem einen".split()),
    "fra": frozenset("le la les l un une des du".split()),
    "spa": frozenset("el la los las un una unos unas".split()),
    "ita": frozenset("il lo la i gli le un uno una".split()),
    "nld": frozenset("de het een".split()),
    "por": frozenset("o a os as um uma".split()),
}

_DE_ENDINGS = ("em", "en", "er", "es", "e", "n", "s")
_DE_LINKS = ("", "s", "es", "n", "en")
_MIN_PART = 3


@lru_cache(maxsize=1)
def _simplemma():
    try:
        import simplemma
    except ImportError:
        return None
    return simplemma


def lemma(word: str, lang2: str) -> str | None:
    """The lemma by ``simplemma`` (dictionary lemmatiser of 50+ languages, Barbaresi 2022) of a
    word in an ISO 639-1 language, lower-cased (German: as simplemma writes it), or None (no
    simplemma, language unsupported)."""
    sm = _simplemma()
    if sm is None:
        return None
    try:
        got = sm.lemmatize(word, lang=lang2)
        return got if lang2 == "de" else got.lower()  # German: the case tells nouns apart
    except (ValueError, KeyError, TypeError):
        return None


def german_forms(word: str) -> list[str]:
    """The word lower-cased, its simplemma lemma (``hat`` -> ``haben``), then the word without
    an inflection ending (at least four letters left)."""
    w = word.lower()
    out = [word, w]
    lem = lemma(word, "de")
    if lem:
        out.append(lem)
    for e in _DE_ENDINGS:
        if w.endswith(e) and len(w) - len(e) >= 4:
            out.append(w[: -len(e)])
    return list(dict.fromkeys(out))


def split_compound(word: str, known: Container[str], max_parts: int = 4) -> list[str] | None:
    """Split a German compound into the fewest words of ``known`` (see the module docstring).

    Parameters
    ----------
    word : str
        One word, any case.
    known : container of str
        Lower-cased dictionary headwords.
    max_parts : int
        Longest split tried.

    Returns
    -------
    list of str or None
        The parts as found in ``known`` (the last possibly without its ending), or None.
    """
    w = word.lower()
    n = len(w)
    # best[i]: (number of parts, -len(last part), parts) covering w[:i]
    best: list = [None] * (n + 1)
    best[0] = (0, 0, [])
    for i in range(n):
        if best[i] is None or best[i][0] >= max_parts:
            continue
        for j in range(i + _MIN_PART, n + 1):
            piece = w[i:j]
            last = j == n
            hit = piece if piece in known else None
            if hit is None and last:
                hit = next((f for f in german_forms(piece)[1:] if len(f) >= _MIN_PART and f in known), None)
            if hit is None:
                continue
            for link in _DE_LINKS if not last else ("",):
                k = j + len(link)
                if k > n or w[j:k] != link or (link and k == n):
                    continue
                cand = (best[i][0] + 1, -(k - i), best[i][2] + [hit])
                if best[k] is None or cand[:2] < best[k][:2]:
                    best[k] = cand
    got = best[n]
    if got is None or got[0] < 2:
        return None
    return got[2]


@lru_cache(maxsize=1)
def _morph():
    try:
        import pymorphy3
    except ImportError:
        return None
    return pymorphy3.MorphAnalyzer(lang="ru")


def russian_forms(word: str) -> list[str]:
    """The word lower-cased, then its lemmas by pymorphy3 (see the module docstring)."""
    w = word.lower().replace("ё", "е")
    out = [w]
    morph = _morph()
    if morph is None:
        return out
    for p in morph.parse(w)[:3]:
        if p.tag.POS in ("ADJF", "ADJS", "PRTF", "PRTS"):
            inf = p.inflect({"masc", "sing", "nomn"})
            if inf is not None:
                out.append(inf.word.replace("ё", "е"))
        out.append(p.normal_form.replace("ё", "е"))
    return list(dict.fromkeys(out))


_AR_DIACRITICS = re.compile("[\u064b-\u0652\u0670\u0640]")  # harakat, tanwin, shadda, sukun, dagger alef, tatweel
_AR_PREFIXES = ("وال", "فال", "بال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك")
_AR_SUFFIXES = ("ات", "ون", "ين", "ة")


def arabic_key(word: str) -> str:
    """Arabic without short vowels and tatweel, with alef variants (أ إ آ ٱ) as ا."""
    w = _AR_DIACRITICS.sub("", word)
    return re.sub("[أإآٱ]", "ا", w)


def arabic_forms(word: str) -> list[str]:
    """Keys (:func:`arabic_key`) to try: the word, with clitics stripped, endings removed, and
    each stem with the article ``ال`` (see the module docstring)."""
    w = arabic_key(word)
    stems = [w]
    for p in _AR_PREFIXES:
        if w.startswith(p) and len(w) - len(p) >= 2:
            stems.append(w[len(p) :])
    out: list[str] = []
    for s in stems:
        out += [s, "ال" + s]
    for s in stems:
        for e in _AR_SUFFIXES:
            if s.endswith(e) and len(s) - len(e) >= 2:
                base = s[: -len(e)]
                out += [base, "ال" + base]
                if e == "ات":
                    out += [base + "ة", "ال" + base + "ة"]
    return list(dict.fromkeys(out))


def generic_forms(word: str, lang2: str | None) -> list[str]:
    """The word lower-cased, then its simplemma lemma when simplemma knows the language."""
    out = [word.lower()]
    lem = lemma(word, lang2) if lang2 else None
    if lem and lem != out[0]:
        out.append(lem)
    return out


def forms(lang: str, lang2: str | None = None) -> Callable[[str], list[str]]:
    """The normaliser of an ISO 639-3 language ``lang`` (ISO 639-1 ``lang2``): German, Russian,
    Arabic as above, any other language :func:`generic_forms`."""
    special = {"deu": german_forms, "rus": russian_forms, "ara": arabic_forms}
    return special.get(lang, lambda w: generic_forms(w, lang2))
