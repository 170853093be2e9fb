"""IRIs and URIs: the one validity rule of kgalign and the RFC 3987 mapping between the two forms.

kgalign keeps entity IRIs as the input writes them (Unicode, RFC 3987). One rule decides
whether a string may be an IRI, the one N-Triples, Turtle and RFC 3987 share: no space,
no control character, none of ``<>"{}|\\^```, no lone surrogate and no ``%`` that does not
start a ``%XX`` escape (:func:`iri_problem`). Loaders reject an IRI that breaks it, naming the file and line; writers
never meet one.

Formats that require URIs (SSSOM entity CURIEs expand to URIs; the W3C CURIE and SSSOM
specifications refer to RFC 3986) get :func:`iri_to_uri`, the mapping of RFC 3987 section 3.1:
every character outside ASCII is written as its UTF-8 bytes, percent-encoded. The mapping is
reversible (:func:`uri_to_iri`, RFC 3987 section 3.2: only percent-encoded UTF-8 sequences of
non-ASCII characters are decoded), and :func:`iri_key` gives one comparison key to both forms,
so that gold links written as IRIs match predictions written as URIs and back.
"""

from __future__ import annotations

import re

__all__ = ["iri_problem", "iri_to_uri", "uri_to_iri", "iri_key"]

#: Characters RFC 3987 / N-Triples (IRIREF) / Turtle forbid in an IRI.
_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|\\^`\x7f-\x9f\ud800-\udfff]')
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_PCT_RUN = re.compile(r"(?:%[89A-Fa-f][0-9A-Fa-f])+")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def iri_problem(iri: str) -> str | None:
    """Why ``iri`` is not a valid absolute IRI (RFC 3987), or None when it is.

    Parameters
    ----------
    iri : str

    Returns
    -------
    str or None
        A short reason naming the first offending character, e.g. ``"character '{' (U+007B)
        is not allowed in an IRI"``.
    """
    m = _FORBIDDEN.search(iri)
    if m:
        ch = m.group(0)
        shown = repr(ch) if ch.isprintable() and not ch.isspace() else "a space" if ch == " " else "a control character"
        if "\ud800" <= ch <= "\udfff":
            shown = "a lone surrogate"
        return f"{shown} (U+{ord(ch):04X}) is not allowed in an IRI"
    m = _BAD_PERCENT.search(iri)
    if m:
        return "a '%' not followed by two hexadecimal digits is not allowed in an IRI (write it as %25)"
    return None


def iri_to_uri(iri: str) -> str:
    """The URI of ``iri`` (RFC 3987 section 3.1): non-ASCII characters as percent-encoded UTF-8.

    ASCII characters, including existing ``%XX`` escapes, are kept, so ``uri_to_iri(iri_to_uri(x))
    == x`` for every IRI ``x`` that contains no percent-encoded non-ASCII UTF-8 of its own.

    Examples
    --------
    >>> iri_to_uri("http://dbpedia.org/resource/Bête")
    'http://dbpedia.org/resource/B%C3%AAte'
    """
    if iri.isascii():
        return iri
    return _NON_ASCII.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")), iri)


def uri_to_iri(uri: str) -> str:
    """The IRI of ``uri`` (RFC 3987 section 3.2): percent-encoded UTF-8 of non-ASCII decoded.

    Escapes of ASCII characters (``%20``, ``%3F``) and invalid UTF-8 sequences stay escaped,
    as the RFC requires.
    """
    if "%" not in uri:
        return uri

    def decode(m: re.Match) -> str:
        raw = bytes.fromhex(m.group(0).replace("%", ""))
        out, i = [], 0
        while i < len(raw):  # decode the longest valid UTF-8 prefix at each step
            for n in (4, 3, 2):
                try:
                    out.append(raw[i : i + n].decode("utf-8"))
                    i += n
                    break
                except UnicodeDecodeError:
                    continue
            else:
                out.append(f"%{raw[i]:02X}")
                i += 1
        return "".join(out)

    return _PCT_RUN.sub(decode, uri)


def iri_key(iri: str) -> str:
    """One key for an IRI and its URI form: ``iri_key(x) == iri_key(iri_to_uri(x))``."""
    return uri_to_iri(iri)
