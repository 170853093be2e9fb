"""Label selection by language and the IRI local-name fallback."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote

# Namespaces after which the whole rest of the IRI is the name (DBpedia-style), so that
# ``/resource/John_Lennon/Plastic_Ono_Band`` gives "John Lennon/Plastic Ono Band".
_NAMESPACE_MARKERS = ("/resource/", "/entity/", "/wiki/")
_SPACES = re.compile(r"\s+")


def normalise_lang(tag: str | None) -> str:
    """Lower-cased BCP 47 tag with ``_`` read as ``-`` (``""`` for None)."""
    return (tag or "").strip().lower().replace("_", "-")


def lang_matches(tag: str, wanted: str) -> bool:
    """True when language tag ``tag`` satisfies ``wanted``.

    Tags compare case-insensitively and a bare language matches its regional tags
    (``es`` matches ``es-ES``); a regional request (``es-es``) matches only itself.
    """
    tag, wanted = normalise_lang(tag), normalise_lang(wanted)
    if not wanted:
        return False
    return tag == wanted or tag.startswith(wanted + "-")


def clean_label(text: str | None) -> str | None:
    """Collapse whitespace; None for empty or whitespace-only labels (they count as missing)."""
    if text is None:
        return None
    text = _SPACES.sub(" ", str(text)).strip()
    return text or None


def select_label(labels: Sequence[tuple[str, str, int]], lang: str | None) -> str | None:
    """Pick one label from ``(language, text, priority)`` triples.

    Order: tags matching ``lang`` (exact tag before regional ones), untagged, then the other
    languages sorted by tag; inside one tag the lowest priority (preferred predicate), then
    the stored order. Returns None when there is no label.
    """
    if not labels:
        return None
    wanted = normalise_lang(lang)

    def key(item: tuple[int, tuple[str, str, int]]):
        pos, (tag, _text, prio) = item
        tag = normalise_lang(tag)
        if wanted and tag == wanted:
            group = (0, "")
        elif wanted and lang_matches(tag, wanted):
            group = (1, tag)
        elif tag == "":
            group = (2, "")
        else:
            group = (3, tag)
        return (group, prio, pos)

    _, (_, text, _) = min(enumerate(labels), key=key)
    return text


def local_name(iri: str) -> str:
    """Readable name from an IRI: the fallback when an entity has no label.

    The name is cut at a known namespace marker (``/resource/``, ``/entity/``, ``/wiki/``),
    else after the last ``#``, else after the last ``/``; then percent-decoded (UTF-8) and
    underscores turned into spaces. ``http://dbpedia.org/resource/Where_Now%3F`` gives
    ``"Where Now?"``; escapes that are not valid UTF-8 are read as Latin-1 (``Caf%E9`` gives
    ``"Café"``). Returns the whole IRI when no name remains.
    """
    name = iri
    for marker in _NAMESPACE_MARKERS:
        pos = iri.find(marker)
        if pos >= 0:
            name = iri[pos + len(marker) :]
            break
    else:
        stripped = iri.rstrip("/#")
        cut = max(stripped.rfind("#"), stripped.rfind("/"), stripped.rfind(":") if "/" not in stripped else -1)
        name = stripped[cut + 1 :] if cut >= 0 else stripped
    try:
        name = unquote(name, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:  # legacy IRIs escape Latin-1 bytes (``Caf%E9``)
        name = unquote(name, encoding="latin-1")
    name = name.replace("_", " ")
    return clean_label(name) or iri
