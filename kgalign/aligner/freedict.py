"""Offline bilingual dictionaries (FreeDict, dictd format) for word-by-word glosses of labels.

FreeDict (https://freedict.org, GPL/CC licences per dictionary) publishes bilingual
dictionaries in the dictd format of RFC 2229: ``freedict-deu-eng.index`` (one line per
headword: ``headword<TAB>offset<TAB>length``, offset and length in dictd's base64 digits
``A-Za-z0-9+/``) and ``freedict-deu-eng.dict.dz`` (the entries, dictzip-compressed: gzip
with a random-access table of independently deflated chunks in the ``RA`` extra field, so a
plain gzip file works too). Debian ships them as ``dict-freedict-XXX-YYY`` packages; ``make
install`` extracts the ones kgalign uses into ``<venv>/share/dictd``.

Dictionaries are searched, first hit wins, in ``$KGALIGN_FREEDICT`` (a folder),
``$KGALIGN_HOME/freedict``, ``<sys.prefix>/share/dictd`` and ``/usr/share/dictd``;
``KGALIGN_FREEDICT=none`` turns FreeDict off.

:func:`glossary` builds, per language, a :class:`Glossary` from what is found, best first:

1. ``X-eng`` read forward (German, Arabic, French, ... -> English);
2. ``eng-X`` reversed (English headwords of entries that translate into the X word);
3. pivots ``X-P`` reversed then ``P-eng`` forward (:data:`PIVOTS`: Russian through German,
   as FreeDict has no ``rus-eng`` and ``eng-rus`` holds 1,700 words).

Each entry is reduced to at most two short English glosses (:func:`clean_gloss`: grammar
tags ``<n>``, domain labels ``[fin.]``, parentheses, ``sth.``/``sb.``, a leading ``to``/
``a``/``the`` dropped; a German plural entry only when the word has no other). Words are
looked up after a per-language normalisation (:mod:`kgalign.aligner.wordforms`).
Parsing ``deu-eng`` (383k headwords) takes about 1.5 s and is done once per process;
entries are decompressed on demand (chunks of 58 kB), so the 100 MB text is never held.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

__all__ = [
    "DictdFile",
    "Glossary",
    "search_dirs",
    "find_dictionary",
    "glossary",
    "clean_gloss",
    "iso3",
    "PIVOTS",
    "package_name",
    "gloss_text",
    "gloss_slots",
    "dictionaries_key",
    "rank_senses",
    "english_zipf",
    "english_key",
    "label_words",
    "EN_FUNCTION_WORDS",
]

log = logging.getLogger(__name__)

ENV = "KGALIGN_FREEDICT"
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}

#: ISO 639-1 -> ISO 639-3 codes of the languages FreeDict has dictionaries for (FreeDict names
#: its files by ISO 639-3)
_ISO3 = {
    "af": "afr", "ar": "ara", "bg": "bul", "br": "bre", "ca": "cat", "cs": "ces", "cy": "cym",
    "da": "dan", "de": "deu", "el": "ell", "en": "eng", "eo": "epo", "es": "spa", "fi": "fin",
    "fr": "fra", "ga": "gle", "gd": "gla", "he": "heb", "hi": "hin", "hr": "hrv", "hu": "hun",
    "is": "isl", "it": "ita", "ja": "jpn", "ku": "kur", "la": "lat", "lt": "lit", "nl": "nld",
    "no": "nor", "nb": "nob", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "sk": "slk",
    "sl": "slv", "sr": "srp", "sv": "swe", "sw": "swh", "tr": "tur", "uk": "ukr", "zh": "zho",
}  # fmt: skip

#: Pivot languages per language without a usable ``X-eng``: ``X-P`` is reversed and followed by
#: ``P-eng`` (Russian: ``deu-rus`` 22k headwords, with ``deu-eng`` 383k; then the 10-27k of
#: ``pol-rus``, ``fra-rus``, ``ell-rus``, ``ita-rus``, ``nld-rus``, ``swe-rus``). The pivots'
#: glosses are merged by vote (:func:`_vote`).
PIVOTS: dict[str, tuple[str, ...]] = {"rus": ("deu", "pol", "fra", "ell", "ita", "nld", "swe")}
#: Languages whose ``eng-X`` is reversed even when ``X-eng`` exists (measured to add words);
#: elsewhere ``eng-X`` is read only without ``X-eng`` (reversing ``eng-deu`` takes a minute and
#: adds sentence-long noise).
REVERSE_TOO: frozenset = frozenset({"ara"})


def iso3(lang: str | None) -> str | None:
    """ISO 639-3 code of ``lang`` (``"de"``, ``"de-AT"``, ``"deu"``), or None when unknown."""
    if not lang:
        return None
    p = lang.split("-")[0].split("_")[0].lower()
    if len(p) == 3:
        return p
    return _ISO3.get(p)


def package_name(src: str, tgt: str) -> str:
    """The Debian package that ships ``freedict-{src}-{tgt}``."""
    return f"dict-freedict-{src}-{tgt}"


def search_dirs() -> list[Path]:
    """Folders searched for ``freedict-*.index``, in order (see the module docstring)."""
    from kgalign.home import kgalign_home

    dirs = []
    env = os.environ.get(ENV, "").strip()
    if env.lower() in ("none", "off"):
        return []  # FreeDict turned off
    if env:
        dirs.append(Path(env).expanduser())
    dirs += [kgalign_home() / "freedict", Path(sys.prefix) / "share" / "dictd", Path("/usr/share/dictd")]
    return dirs


def find_dictionary(src: str, tgt: str) -> Path | None:
    """Path of ``freedict-{src}-{tgt}.index`` whose ``.dict.dz`` (or ``.dict``) exists, or None."""
    for d in search_dirs():
        idx = d / f"freedict-{src}-{tgt}.index"
        if idx.is_file() and (idx.with_suffix(".dict.dz").is_file() or idx.with_suffix(".dict").is_file()):
            return idx
    return None


def dictionaries_key(lang: str | None, target: str = "eng") -> str:
    """Names and sizes of the dictionaries :func:`glossary` would read for ``lang`` (for cache
    keys: other dictionaries, other glosses)."""
    src = iso3(lang) or ""
    pairs = [(src, target), (target, src)] + [x for p in PIVOTS.get(src, ()) for x in ((p, src), (p, target))]
    parts = []
    for a, b in pairs:
        idx = find_dictionary(a, b)
        if idx is not None:
            parts.append(f"{idx.name}={idx.stat().st_size}")
    return ",".join(parts) or "none"


def _b64(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64[c]
    return n


class _DictZip:
    """Random access to a dictzip file (gzip with the ``RA`` extra field); a plain gzip or
    uncompressed file is read whole."""

    def __init__(self, path: Path):
        self.path = path
        self._whole: bytes | None = None
        self._chunks: list[tuple[int, int]] = []  # (file offset, compressed size)
        self._chlen = 0
        self._cache: dict[int, bytes] = {}
        if path.suffix != ".dz":
            self._whole = path.read_bytes()
            return
        with open(path, "rb") as f:
            head = f.read(10)
            if len(head) < 10 or head[:2] != b"\x1f\x8b":
                raise ValueError(f"{path} is not gzip")
            flags = head[3]
            ra = None
            if flags & 4:  # FEXTRA
                (xlen,) = struct.unpack("<H", f.read(2))
                extra = f.read(xlen)
                i = 0
                while i + 4 <= len(extra):
                    si, (ln,) = extra[i : i + 2], struct.unpack("<H", extra[i + 2 : i + 4])
                    if si == b"RA":
                        ra = extra[i + 4 : i + 4 + ln]
                    i += 4 + ln
            if flags & 8:  # FNAME
                while f.read(1) not in (b"\x00", b""):
                    pass
            if flags & 16:  # FCOMMENT
                while f.read(1) not in (b"\x00", b""):
                    pass
            if flags & 2:  # FHCRC
                f.read(2)
            start = f.tell()
        if ra is None or len(ra) < 6:
            with gzip.open(path, "rb") as g:
                self._whole = g.read()
            return
        _ver, self._chlen, chcnt = struct.unpack("<HHH", ra[:6])
        sizes = struct.unpack(f"<{chcnt}H", ra[6 : 6 + 2 * chcnt])
        pos = start
        for s in sizes:
            self._chunks.append((pos, s))
            pos += s

    def _chunk(self, k: int) -> bytes:
        got = self._cache.get(k)
        if got is None:
            off, size = self._chunks[k]
            with open(self.path, "rb") as f:
                f.seek(off)
                got = zlib.decompressobj(-15).decompress(f.read(size))
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[k] = got
        return got

    def read(self, offset: int, length: int) -> bytes:
        if self._whole is not None:
            return self._whole[offset : offset + length]
        out = bytearray()
        k, skip = divmod(offset, self._chlen)
        while len(out) < length and k < len(self._chunks):
            c = self._chunk(k)
            out += c[skip : skip + length - len(out)]
            k, skip = k + 1, 0
        return bytes(out)


class DictdFile:
    """One dictd dictionary: its index in memory, entries read on demand.

    Parameters
    ----------
    index : str or os.PathLike
        ``freedict-X-Y.index``; the entries are in ``freedict-X-Y.dict.dz`` (or ``.dict``) next
        to it.

    Attributes
    ----------
    name : str
        ``freedict-X-Y``.
    index : dict of str to list of (int, int)
        Lower-cased headword -> ``(offset, length)`` of its entries, in file order.

    Raises
    ------
    kgalign.errors.InputError
        An index line that is not ``headword<TAB>offset<TAB>length`` (file and line named).
    """

    def __init__(self, index):
        from kgalign.errors import InputError

        self.path = Path(index)
        self.name = self.path.name[: -len(".index")]
        data = self.path.with_suffix(".dict.dz")
        if not data.is_file():
            data = self.path.with_suffix(".dict")
        self._data = _DictZip(data)
        self.index: dict[str, list[tuple[int, int]]] = {}
        text = self.path.read_bytes().decode("utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), start=1):
            if not line:
                continue
            parts = line.split("\t")
            try:
                off, ln = _b64(parts[1]), _b64(parts[2])
            except (IndexError, KeyError):
                raise InputError("not a dictd index line (headword, offset, length)", self.path, n) from None
            head = parts[0].strip().lower()
            if head and not head.startswith("00database") and not head.startswith("00-database"):
                self.index.setdefault(head, []).append((off, ln))

    def entries(self, headword: str) -> list[str]:
        """The entries of ``headword`` (lower-cased), as text, in file order."""
        return [self._data.read(o, n).decode("utf-8", errors="replace") for o, n in self.index.get(headword, ())]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """``(headword, entry)`` for every entry."""
        for h, locs in self.index.items():
            for o, n in locs:
                yield h, self._data.read(o, n).decode("utf-8", errors="replace")

    def __len__(self) -> int:
        return len(self.index)


_TAGS = re.compile(r"<[^<>]*>|\[[^\[\]]*\]|\{[^{}]*\}|\([^()]*\)|/[^/\s][^/]*/")
_ABBREV = re.compile(r"\b(sth|sb|etw|jdn|jdm|jds|jd|usu|esp|coll|fig|Am|Br|pl|sg)\.(?=\s|,|$)", re.I)
_ABBR_WORD = re.compile(r"(?<![\w.])[\w-]+\.(?=\s|$)")  # "art.", "chm." glued after a gloss
_LEAD = re.compile(r"^(to|a|an|the)\s+", re.I)
_NUM = re.compile(r"^\s*\d+\.\s*|\s+\d+\.\s*$")
_SPACES = re.compile(r"\s+")


def clean_gloss(text: str, *, max_words: int = 4) -> list[str]:
    """Short glosses from one translation line of an entry (comma/semicolon alternatives).

    Grammar tags (``<n>``), labels (``[fin.]``), references (``{...}``), parentheses, IPA
    (``/.../``), ``sth.``/``sb.``/``etw.`` and a leading ``to``/``a``/``an``/``the`` are
    dropped; alternatives longer than ``max_words`` words (descriptions) are left out.
    """
    out = []
    text = _NUM.sub("", text)
    text = _TAGS.sub(" ", _TAGS.sub(" ", text))  # twice: tags inside parentheses
    for alt in re.split(r"[,;]", text):
        a = _ABBREV.sub(" ", alt)
        a = _ABBR_WORD.sub(" ", a) if len(a.split()) > 1 else a
        a = _SPACES.sub(" ", a).strip(" .:-'\"!?")
        a = _LEAD.sub("", a)
        if a and len(a.split()) <= max_words and a not in out and not a.lower().startswith(("see", "note")):
            out.append(a)
    return out


def _translation_lines(entry: str) -> list[tuple[str, bool]]:
    """The translation lines of one dictd entry and whether the entry is a plural form.

    The first line is the headword (with IPA and grammar ``<...>``); translations are the next
    line and every line numbered ``N. ...`` (Wiktionary-derived dictionaries); indented lines
    (Ding's notes, examples, synonyms) and other lines (definitions in the source language) are
    not translations.
    """
    lines = entry.split("\n")
    if len(lines) < 2:
        return []
    plural = bool(re.search(r"<[^>]*\bpl\b[^>]*>", lines[0]))
    out = []
    for k, line in enumerate(lines[1:]):
        if k == 0 or re.match(r"^\d+\.\s+\S", line):
            if line.strip() and not line.startswith(("  ", "\t")):  # Ding: " [fin.] gloss" is one
                out.append((line, plural))
    return out


def forward(d: DictdFile, headword: str, *, senses: int = 2, case: str | None = None) -> list[str]:
    """At most ``senses`` glosses of ``headword`` read forward in ``d``, best first.

    Entries whose headword is another word (an idiom filed under it) are skipped. A word with
    several entries (Ding, the source of ``deu-eng``, has one entry per sense, in no order of
    use) gets the alternatives of all its entries ranked by :func:`rank_senses`: how common
    the English alternative is, how many entries use its words (``haben``: "have" is in two
    senses, "experience" in one), whether its entry has a domain label. Entries of a plural
    form count only when there is no other; given ``case`` (the word as written), only entries
    whose headword is written the same way when there are any (German ``Sein`` "existence" is
    not ``sein`` "be")."""
    singular: list[list[str]] = []
    plural: list[list[str]] = []
    labelled: set[str] = set()
    plain: set[str] = set()
    entries = [e for e in d.entries(headword) if _head_of(e) == headword]
    if case is not None:
        same = [e for e in entries if _head_of(e, lower=False) == case]
        entries = same or entries
    for entry in entries:
        for line, is_pl in _translation_lines(entry):  # Wiktionary-derived: one numbered line per sense
            gl = clean_gloss(line)
            if gl:
                (plural if is_pl else singular).append(gl)
                # a domain label ([math.], [zool.]): a special sense
                (labelled if line.lstrip().startswith("[") else plain).update(gl)
    return rank_senses(singular or plural, labelled - plain)[:senses]


#: Weights of :func:`rank_senses` (in Zipf units, log10 of the frequency per billion words): per
#: further entry that uses a word of the alternative, against an alternative that only
#: domain-labelled entries give, and per word of an alternative after its first (wordfreq
#: scores a phrase of common words, "have to", about as high as its rarest word)
SUPPORT_WEIGHT = 0.5
LABEL_PENALTY = 0.5
PHRASE_PENALTY = 1.0
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


@cache
def _zipf_english() -> Callable[[str], float] | None:
    try:
        from wordfreq import zipf_frequency
    except ImportError:
        log.info("wordfreq is not installed: dictionary senses are ranked without English word frequencies")
        return None
    return lambda text: zipf_frequency(text, "en")


@cache
def english_zipf(text: str) -> float:
    """Zipf frequency of an English word or phrase (log10 of its occurrences per billion words,
    ``wordfreq``, Speer 2022: 0 when unknown, about 7 for "the"; a phrase scores below its
    rarest word), or 0 without ``wordfreq``."""
    f = _zipf_english()
    return f(text) if f is not None else 0.0


def rank_senses(alternatives: list[list[str]], labelled: set | frozenset = frozenset()) -> list[str]:
    """The distinct alternatives of a word's entries (one list per entry), best first.

    An alternative scores its English Zipf frequency (:func:`english_zipf`: dictionaries such
    as Ding order senses by no frequency, so ``Gutachter`` lists "appraiser" before "expert"
    and "reviewer", ``Papier`` "wrapping paper" before "paper"), plus :data:`SUPPORT_WEIGHT`
    per further entry that uses one of its words (senses the entries agree on), minus
    :data:`LABEL_PENALTY` when it is in ``labelled`` (a domain-labelled sense, ``[techn.]``)
    and :data:`PHRASE_PENALTY` per word after the first; ties go to the shorter, then to the
    earlier. Without ``wordfreq`` the order is support,
    label, length, file order (as before the frequencies).
    """
    support: dict[str, int] = {}
    for gl in alternatives:
        for w in {w.lower() for a in gl for w in a.split()}:
            support[w] = support.get(w, 0) + 1
    cands = list(dict.fromkeys(a for gl in alternatives for a in gl))
    freq = _zipf_english() is not None

    def score(k: int):
        words = cands[k].lower().split()
        sup = max(support.get(w, 0) for w in words)
        if not freq:
            return (-sup, cands[k] in labelled, len(words), k)
        n = len(_WORD.findall(cands[k])) or 1
        s = (
            english_zipf(cands[k])
            + SUPPORT_WEIGHT * (sup - 1)
            - LABEL_PENALTY * (cands[k] in labelled)
            - PHRASE_PENALTY * (n - 1)
        )
        return (-round(s, 6), len(words), k)

    return [cands[k] for k in sorted(range(len(cands)), key=score)]


def _head_of(entry: str, lower: bool = True) -> str:
    head = _TAGS.sub(" ", entry.split("\n", 1)[0])
    head = _SPACES.sub(" ", head).strip(" .…")
    return head.lower() if lower else head


def reverse(d: DictdFile) -> dict[str, list[str]]:
    """Reverse ``d`` (``eng-X`` or ``P-X``): X word (lower-cased, cleaned) -> headwords whose
    entries translate into it; headwords that give it as their first translation first."""
    first: dict[str, list[str]] = {}
    other: dict[str, list[str]] = {}
    for head, entry in d:
        lines = _translation_lines(entry)
        if not lines:
            continue
        name = head
        for k, (line, _) in enumerate(lines[:2]):
            for j, g in enumerate(clean_gloss(line)):
                tgt = first if k == 0 and j == 0 else other
                lst = tgt.setdefault(g.lower(), [])
                if name not in lst:
                    lst.append(name)
    out = first
    for word, heads in other.items():
        known = out.setdefault(word, [])
        known.extend(x for x in heads if x not in known)
    return out


@dataclass(eq=False)
class Glossary:
    """Word -> short English glosses for one language, from one or more FreeDict dictionaries.

    Attributes
    ----------
    lang : str
        ISO 639-3 code.
    sources : list of str
        Dictionaries used (``freedict-deu-eng``, ``freedict-eng-rus (reversed)``, ...).
    key : callable
        Normalises a headword or a word form before matching (Arabic: no short vowels,
        :func:`kgalign.aligner.wordforms.arabic_key`; else lower-casing).
    """

    lang: str
    sources: list = field(default_factory=list)
    key: Callable[[str], str] = str.lower
    _forward: list = field(default_factory=list)  # (DictdFile, {key: index headword} or None)
    _tables: list = field(default_factory=list)  # {key: glosses} (reversed / pivoted)
    _memo: dict = field(default_factory=dict)

    def add_forward(self, d: DictdFile) -> None:
        """Look words up in ``d``'s headwords (after :attr:`key`), read forward; after those
        added before."""
        keys: dict[str, str] | None = None
        if self.key is not str.lower:
            keys = {}
            for h in d.index:
                keys.setdefault(self.key(h), h)
        self._forward.append((d, keys))

    def add_table(self, table: dict[str, list[str]]) -> None:
        """Look words up in ``table`` (word -> English glosses: a reversed or pivoted
        dictionary), after every forward dictionary."""
        if self.key is not str.lower:
            t: dict[str, list[str]] = {}
            for k, v in table.items():
                t.setdefault(self.key(k), v)
            table = t
        self._tables.append(table)

    def __contains__(self, word: str) -> bool:
        w = self.key(word)
        return any(w in (keys if keys is not None else d.index) for d, keys in self._forward) or any(
            w in t for t in self._tables
        )

    def lookup(self, word: str) -> tuple[str, ...]:
        """At most :data:`MAX_SENSES` English glosses of ``word``, best first (one form, matched
        after :attr:`key`, senses of a headword written as ``word`` first); () if absent.
        :func:`gloss_text` keeps the first :data:`GLOSS_SENSES`."""
        got = self._memo.get(word)
        if got is not None:
            return got
        w = self.key(word)
        out: tuple[str, ...] = ()
        for d, keys in self._forward:
            h = keys.get(w) if keys is not None else w
            g = forward(d, h, senses=MAX_SENSES, case=word) if h is not None and h in d.index else []
            if g:
                out = tuple(g)
                break
        if not out:
            for t in self._tables:
                g = t.get(w)
                if g:
                    out = tuple(g[:MAX_SENSES])
                    break
        self._memo[word] = out
        return out


def _pivot(rev: dict[str, list[str]], fwd: DictdFile) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for w, mids in rev.items():
        gl: list[str] = []
        for m in mids[:2]:
            for g in forward(fwd, m.lower(), senses=1):
                if g not in gl:
                    gl.append(g)
        if gl:
            out[w] = gl
    return out


def _vote(tables: list[dict[str, list[str]]]) -> dict[str, list[str]]:
    """Merge the tables of several pivots: a gloss reached through more pivots comes first.

    Triangulation through several intermediate languages (Tanaka and Umemura: "Construction of
    a bilingual dictionary intermediated by a third language", COLING 1994; with more pivots,
    a translation that several of them agree on is more likely the intended sense). Ties keep
    the pivots' order (:data:`PIVOTS`, best first) and each pivot's own sense order.
    """
    if len(tables) == 1:
        return tables[0]
    out: dict[str, list[str]] = {}
    for w in set().union(*tables):
        votes: dict[str, list] = {}  # lower-cased gloss -> [pivots, first pivot, rank, form]
        for k, t in enumerate(tables):
            seen = set()
            for j, gl in enumerate(t.get(w, ())):
                key = gl.lower()
                if key in seen:
                    continue
                seen.add(key)
                v = votes.setdefault(key, [0, k, j, gl])
                v[0] += 1
        out[w] = [v[3] for v in sorted(votes.values(), key=lambda v: (-v[0], v[1], v[2]))]
    return out


@cache
def glossary(lang: str | None, target: str = "eng") -> Glossary | None:
    """The :class:`Glossary` of ``lang`` into ``target`` from the dictionaries found, or None
    (after one warning naming the missing Debian packages) when there is none.

    Cached per process; call ``glossary.cache_clear()`` after changing ``$KGALIGN_FREEDICT``.
    """
    import time

    src = iso3(lang)
    if src is None or src == target:
        return None
    if not search_dirs():
        log.info("FreeDict turned off ($%s=none): %s vocabulary labels are transliterated, not glossed", ENV, lang)
        return None
    t0 = time.perf_counter()
    from kgalign.aligner.wordforms import arabic_key

    g = Glossary(src, key=arabic_key if src == "ara" else str.lower)
    fwd = find_dictionary(src, target)
    if fwd is not None:
        g.add_forward(DictdFile(fwd))
        g.sources.append(f"freedict-{src}-{target}")
    rev = find_dictionary(target, src)
    if rev is not None and (fwd is None or src in REVERSE_TOO):
        g.add_table(reverse(DictdFile(rev)))
        g.sources.append(f"freedict-{target}-{src} (reversed)")
    pivoted = []
    for p in PIVOTS.get(src, ()):
        a, b = find_dictionary(p, src), find_dictionary(p, target)
        if a is not None and b is not None:
            pivoted.append(_pivot(reverse(DictdFile(a)), DictdFile(b)))
            g.sources.append(f"freedict-{p}-{src} (reversed) + freedict-{p}-{target}")
    if pivoted:
        g.add_table(_vote(pivoted))
    if not g.sources:
        want = [package_name(src, target), package_name(target, src)] + [
            package_name(x, y) for p in PIVOTS.get(src, ()) for x, y in ((p, src), (p, target))
        ]
        log.warning(
            "no FreeDict dictionary for %s found in %s: vocabulary labels are transliterated, not glossed "
            "(install one of the Debian packages %s, e.g. `apt-get download` + `dpkg-deb -x` into %s)",
            lang,
            ", ".join(str(d) for d in search_dirs()),
            ", ".join(want),
            Path(sys.prefix) / "share" / "dictd",
        )
        return None
    log.info("FreeDict glossary for %s: %s (%.1f s)", lang, ", ".join(g.sources), time.perf_counter() - t0)
    return g


class _Glossed:
    """Words that have a gloss in ``g`` (a headword whose entries give none is not a word)."""

    def __init__(self, g: Glossary):
        self.g = g

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word in self.g and bool(self.g.lookup(word))


_CAMEL = re.compile(r"(?<=[^\W\d_])(?=[A-ZÄÖÜ][a-zäöüß])|(?<=[a-zäöüß])(?=[A-ZÄÖÜ])")
_TOKEN = re.compile(r"[^\W\d_]+|\d+")
_MAX_PHRASE = 3  # longest multi-word headword tried, in words
#: Senses of each word joined into a glossed label (measured on MultiFarm: 2 beats 1 in same- and
#: different-ontology F1 of de-en and ar-en, en-ru different -0.003)
GLOSS_SENSES = 2
#: Senses of a word :meth:`Glossary.lookup` returns (the sense-overlap view,
#: :mod:`kgalign.aligner.views.senses`, reads them all; glossed labels keep GLOSS_SENSES)
MAX_SENSES = 8
#: English function words: a slot of the sense-overlap view whose best sense is one is no slot,
#: and they are never a key (:func:`kgalign.aligner.views.senses.slot_keys`)
EN_FUNCTION_WORDS = frozenset(
    "a an the to of in on at by for from with as be is are was been have has had do does it its "
    "his her their that this".split()
)


@cache
def english_key(word: str) -> str:
    """An English word lower-cased and lemmatised (:func:`kgalign.aligner.wordforms.lemma`;
    without simplemma a plural ``-s`` cut): the form the sense-overlap view compares
    (:mod:`kgalign.aligner.views.senses`)."""
    from kgalign.aligner.wordforms import lemma

    w = word.lower()
    if not w.isalpha():
        return w
    got = lemma(w, "en")
    if got is not None:
        return got
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


def gloss_text(
    text: str,
    g: Glossary,
    *,
    fallback: Callable[[str], str] = lambda w: w,
    used: set | None = None,
    senses: int | None = None,
    pick: int | None = None,
) -> tuple[str, int]:
    """Gloss a label word by word into English.

    Multi-word headwords are matched first (longest, up to three words: ``ورشة عمل``
    "workshop"); then each word through the normaliser of its language
    (:func:`kgalign.aligner.wordforms.forms`), first gloss kept; German words not found are
    split into compounds (:func:`kgalign.aligner.wordforms.split_compound`); articles
    (:data:`kgalign.aligner.wordforms.STOPWORDS`) are dropped; any other word goes through
    ``fallback`` (transliteration). camelCase and ``_`` split IRI local names.

    Parameters
    ----------
    text : str
        One label.
    g : Glossary
    fallback : callable
        Word -> text for words without a gloss.
    used : set, optional
        Receives ``g.sources``' short names when a gloss was used.
    senses : int, optional
        How many senses of each word are joined (default :data:`GLOSS_SENSES`).
    pick : int, optional
        Instead, only the ``pick``-th sense of each word (0: the best; a word with fewer senses
        gives its last): one reading of the label per sense, for a view that keeps the best
        match over readings.

    Returns
    -------
    (str, int)
        The glossed label (words joined by single spaces) and how many of its words were found.
    """
    senses = GLOSS_SENSES if senses is None else senses

    def join(gl) -> str:
        gl = gl[:senses]
        return gl[min(pick, len(gl) - 1)] if pick is not None else " ".join(gl)

    slots, found = gloss_slots(text, g, fallback=fallback, used=used)
    return " ".join(join(sl) if glossed else sl[0] for sl, glossed in slots), found


def label_words(text: str) -> list[str]:
    """The words of a label as :func:`gloss_text` reads them (camelCase and ``_`` split,
    digits apart)."""
    return _TOKEN.findall(_CAMEL.sub(" ", text or ""))


def gloss_slots(
    text: str, g: Glossary, *, fallback: Callable[[str], str] = lambda w: w, used: set | None = None
) -> tuple[list[tuple[tuple[str, ...], bool]], int]:
    """The word slots of a label as :func:`gloss_text` reads it: per slot (a word, a German
    compound's part or a multi-word headword) every English sense the dictionary gives (at most
    :data:`MAX_SENSES`, best first) and True, or the ``fallback`` form of a word not found and
    False; articles are left out. Also how many words were found."""
    from kgalign.aligner.wordforms import STOPWORDS, forms, split_compound

    words = label_words(text)
    stop = STOPWORDS.get(g.lang, frozenset())
    norm = forms(g.lang, next((k for k, v in _ISO3.items() if v == g.lang), None))
    out: list[tuple[tuple[str, ...], bool]] = []
    found = 0
    i, n = 0, len(words)
    while i < n:
        for size in range(min(_MAX_PHRASE, n - i), 1, -1):
            gl = g.lookup(" ".join(words[i : i + size]))
            if gl:
                out.append((gl, True))
                found += size
                i += size
                break
        else:
            w = words[i]
            i += 1
            if w.lower() in stop:
                continue
            gl = next((x for f in norm(w) for x in [g.lookup(f)] if x), ())
            if gl:
                out.append((gl, True))
                found += 1
                continue
            parts = split_compound(w, _Glossed(g)) if g.lang == "deu" and len(w) >= 2 * 3 else None
            if parts:
                out.extend((g.lookup(p), True) for p in parts)
                found += 1
                continue
            out.append(((fallback(w),), False))
    if found and used is not None:
        used.update(re.findall(r"freedict-[a-z]+-[a-z]+", " ".join(g.sources)))
    return out, found
