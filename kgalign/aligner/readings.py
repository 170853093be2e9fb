"""Other readings of Han-script names, for the string view of the romanize fallback.

Chinese, Japanese and Korean share the Han characters, and a graph in one of them writes the
names of the others in its own characters: Chinese Wikipedia names Japanese people and places
in Han characters (松嶋菜菜子 Nanako Matsushima, 米原站 Maibara Station), Japanese Wikipedia
Chinese ones in kanji (毛沢東 Mao Zedong). The offline fallback
(:mod:`kgalign.aligner.romanize`) reads every Han name in the graph's own language, so the
Mandarin romanisation of a Japanese name (``songdaocaicaizi``) shares little with its English
spelling, which follows the Japanese reading (``Matsushima Nanako``).

:func:`han_readings` gives, for each name of a graph in one of these languages, its reading in
the other languages of :data:`READINGS`, by the same fallback told the other language
(:class:`~kgalign.aligner.romanize.RomanizeTranslator` with ``lang``: JMdict/JMnedict and
pykakasi for Japanese, CC-CEDICT and pypinyin for Chinese). The string view
(:func:`kgalign.aligner.similarity.compute_similarity`) compares the other graph's names with
every reading and keeps the best character n-gram cosine of a pair, so a reading that fits
nothing costs nothing: a Chinese name read in Japanese is noise, and the Mandarin reading
still wins for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

__all__ = ["READINGS", "reading_languages", "han_readings", "CantoneseReader"]

log = logging.getLogger(__name__)

#: Per language of a graph, the other languages its Han-script names are also read in.
READINGS: dict[str, tuple[str, ...]] = {"zh": ("ja", "yue"), "ja": ("zh",)}


def reading_languages(lang: str | None) -> tuple[str, ...]:
    """The other languages whose readings :func:`han_readings` gives for names in ``lang``.

    Parameters
    ----------
    lang : str or None
        A language tag (``zh``, ``zh-Hant``, ``ja``, ...); only its primary subtag counts.

    Returns
    -------
    tuple of str
        Empty for languages without Han-script names (and for None).
    """
    primary = (lang or "").split("-")[0].lower()
    return READINGS.get(primary, ())


def _needs_reading(text: str, lang: str) -> bool:
    """Whether ``text`` (of a graph in ``lang``) is Han script that another language may read.

    A Japanese name with kana is Japanese whatever its kanji, so only Han text without kana
    gets a Chinese reading; a Chinese name gets a Japanese reading when it holds any Han.
    """
    from kgalign.aligner.romanize import _is_han, _is_kana

    if not any(_is_han(ch) for ch in text):
        return False
    return not (lang == "ja" and any(_is_kana(ch) for ch in text))


def han_readings(
    texts: Sequence[str],
    lang: str | None,
    translate: Callable | None = None,
) -> dict[str, list[str]]:
    """The readings of Han-script names in the other languages of :data:`READINGS`.

    Parameters
    ----------
    texts : sequence of str
        The names of one graph, in its language ``lang`` (untranslated labels).
    lang : str or None
        The graph's label language.
    translate : callable, optional
        ``translate(translator, texts) -> list of str``, how the readings are produced (the
        pipeline passes its on-disk translation cache); default ``translator.translate(texts)``.

    Returns
    -------
    dict of str to list of str
        Per other language (``"ja"`` for a Chinese graph), one reading per text, in Latin
        script; ``""`` for a text that has no other reading (no Han characters, or kana in a
        Japanese name). Empty when ``lang`` has no other readings.
    """
    from kgalign.aligner.romanize import RomanizeTranslator

    primary = (lang or "").split("-")[0].lower()
    texts = ["" if t is None else str(t) for t in texts]
    picked = [i for i, t in enumerate(texts) if _needs_reading(t, primary)]
    out: dict[str, list[str]] = {}
    for other in reading_languages(lang):
        if other == "yue" and not CantoneseReader.available():
            continue
        tr = CantoneseReader() if other == "yue" else RomanizeTranslator(other)
        sub = [texts[i] for i in picked]
        got = (translate(tr, sub) if translate is not None else tr.translate(sub)) if sub else []
        reading = [""] * len(texts)
        for i, r in zip(picked, got):
            reading[i] = r
        out[other] = reading
        log.info("%d of %d %s names also read as %s", len(picked), len(texts), primary, other)
    return out


class CantoneseReader:
    """Cantonese readings of Han characters in Hong Kong Government Cantonese Romanisation.

    The romanisation of Hong Kong names and places (梁國雄 ``Leung Kwok-hung``), from the
    ``cantonese-romanisation`` package (MIT); every listed reading of a character is kept
    (``gwok kwok``), since the package does not say which one a name uses. Other characters
    are kept as they are, Han characters without a listed reading dropped. A translator in the sense of
    :class:`~kgalign.aligner.translate.Translator` (``translate``, ``cache_key``), so that the
    pipeline's translation cache keeps its output.
    """

    name = "cantonese-romanisation"
    kind = "reading"
    is_identity = False

    @staticmethod
    def available() -> bool:
        """Whether the ``cantonese-romanisation`` package is installed."""
        import importlib.util

        return importlib.util.find_spec("cantoroman") is not None

    def translate(self, texts: Sequence[str]) -> list[str]:
        """One reading per text (``""`` for None), whitespace collapsed."""
        from cantoroman import Cantonese

        from kgalign.aligner.romanize import _is_han

        reader = Cantonese()
        out = []
        for t in texts:
            parts = []
            for ch in t or "":
                got = reader.getRoman(ch)[0] if _is_han(ch) else None
                parts.append(" " + " ".join(got) + " " if got else (" " if _is_han(ch) else ch))
            out.append(" ".join("".join(parts).split()))
        return out

    @property
    def cache_key(self) -> str:
        """``cantonese-romanisation`` and its version."""
        import importlib.metadata as md

        return f"reading:yue:v2|cantonese-romanisation={md.version('cantonese-romanisation')}"
