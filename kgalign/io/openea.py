"""OpenEA benchmark-format loader.

The format (Sun et al., "A benchmarking study of embedding-based entity alignment for
knowledge graphs", VLDB 2020; github.com/nju-websoft/OpenEA) is a directory:

``rel_triples_1``, ``rel_triples_2``
    ``<head IRI>\\t<relation IRI>\\t<tail IRI>``.
``attr_triples_1``, ``attr_triples_2``
    ``<entity IRI>\\t<attribute IRI>\\t<value>``; the value may be an N-Triples-style literal
    (``"Lyon"``, ``"Lyon"@fr``, ``"1990"^^<xsd:gYear>``) or bare text.
``ent_links`` (optional)
    ``<IRI 1>\\t<IRI 2>`` gold links.

Entities come from both relation and attribute triples (an entity may appear only in
attribute triples). Attribute predicates whose local name is ``name``, ``label``,
``prefLabel`` or ``title`` (or in :data:`kgalign.kg.LABEL_PREDICATES`) give labels.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from kgalign.errors import EmptyGraphError, InputError
from kgalign.io._text import iter_lines, read_text
from kgalign.io.iri import iri_problem
from kgalign.io.rdf import is_label_predicate, unescape_nt
from kgalign.kg import KGPair, KnowledgeGraph
from kgalign.labels import clean_label, normalise_lang

log = logging.getLogger(__name__)

_LITERAL = re.compile(r'^"(.*)"(?:@([A-Za-z0-9-]+)|\^\^<?([^>]*)>?)?$', re.DOTALL)
_LANG_PAIR = re.compile(r"^([a-z]{2})_([a-z]{2})(?:_|$)", re.IGNORECASE)


def parse_value(raw: str) -> tuple[str, str]:
    """``(lexical form, language)`` of an OpenEA attribute value.

    ``"Lyon"@FR`` gives ``("Lyon", "fr")``; ``"1990"^^<xsd:gYear>`` gives ``("1990", "")``;
    bare text is returned stripped with no language.
    """
    raw = raw.strip()
    m = _LITERAL.match(raw)
    if not m:
        return raw, ""
    return unescape_nt(m.group(1)), normalise_lang(m.group(2))


def _split(line: str, n: int, path, no: int, what: str) -> list[str]:
    parts = [p.strip() for p in line.rstrip("\r\n").split("\t", n - 1)]
    if len(parts) != n or not all(parts[: n - 1]) or (what in ("relation", "link") and "\t" in parts[-1]):
        raise InputError(f"expected {n} tab-separated fields ({what} line), got {line.strip()[:80]!r}", path, no)
    return parts


def _check_iris(iris, path, no: int) -> None:
    for iri in iris:
        why = iri_problem(iri)
        if why:
            raise InputError(f"invalid IRI {iri[:80]!r}: {why}", path, no)


def load_openea_side(rel_path, attr_path=None, encoding: str = "utf-8") -> KnowledgeGraph:
    """Load one OpenEA knowledge graph from its relation and attribute triple files.

    Parameters
    ----------
    rel_path : str or os.PathLike
        ``rel_triples_N``.
    attr_path : str or os.PathLike, optional
        ``attr_triples_N``.
    encoding : str

    Returns
    -------
    KnowledgeGraph
        Entities in order of first appearance (relation triples first).

    Raises
    ------
    InputError
        A line with the wrong number of fields (file and line named).
    EmptyGraphError
        Neither file names an entity.
    """
    index: dict[str, int] = {}
    rel_index: dict[str, int] = {}
    rows: list[tuple[int, int, int]] = []
    for no, line in iter_lines(read_text(rel_path, encoding)):
        h, r, t = _split(line, 3, rel_path, no, "relation")
        _check_iris((h, r, t), rel_path, no)
        hi = index.setdefault(h, len(index))
        ti = index.setdefault(t, len(index))
        rows.append((hi, rel_index.setdefault(r, len(rel_index)), ti))
    labels_by: dict[int, list[tuple[str, str, int]]] = {}
    attributes: list[tuple[int, str, str, str]] = []
    if attr_path is not None:
        prio_cache: dict[str, int | None] = {}
        for no, line in iter_lines(read_text(attr_path, encoding)):
            e, a, v = _split(line, 3, attr_path, no, "attribute")
            _check_iris((e, a), attr_path, no)
            i = index.setdefault(e, len(index))
            value, lang = parse_value(v)
            value = value.strip()
            label = clean_label(value)
            if label is None:
                continue
            if a not in prio_cache:
                prio_cache[a] = is_label_predicate(a)
            prio = prio_cache[a]
            if prio is not None:
                labels_by.setdefault(i, []).append((lang, label, prio))
            else:
                attributes.append((i, a, value, lang))
    if not index:
        raise EmptyGraphError("no entities found", rel_path)
    entities = list(index)
    return KnowledgeGraph(
        entities=entities,
        labels=[labels_by.get(i, []) for i in range(len(entities))],
        triples=np.asarray(rows, dtype=np.int64).reshape(-1, 3),
        relations=list(rel_index),
        attributes=attributes,
        source=os.fspath(rel_path),
    )


def load_openea_graph(path: str | os.PathLike, fmt: str = "openea", encoding: str = "utf-8") -> KnowledgeGraph:
    """One OpenEA graph from its ``rel_triples_N`` file (graph-loader signature of
    :mod:`kgalign.io.registry`); attribute triples are not looked for."""
    return load_openea_side(path, None, encoding)


def load_openea_pair(directory: str | os.PathLike, encoding: str = "utf-8") -> KGPair:
    """Load an OpenEA directory as a :class:`KGPair`.

    Parameters
    ----------
    directory : str or os.PathLike
        Holds ``rel_triples_1/2``, optionally ``attr_triples_1/2`` and ``ent_links``.
    encoding : str

    Returns
    -------
    KGPair
        ``links`` as positions (k, 2) int64, None without ``ent_links``; ``lang1``/``lang2``
        from a name like ``EN_FR_15K_V1``.

    Raises
    ------
    InputError
        Missing files, bad lines, links naming an entity absent from its graph.
    EmptyGraphError
        A side without entities.
    """
    d = Path(directory)
    sides = []
    for k in ("1", "2"):
        rel = d / f"rel_triples_{k}"
        if not rel.is_file():
            raise InputError(f"not an OpenEA directory: rel_triples_{k} is missing", d)
        attr = d / f"attr_triples_{k}"
        sides.append(load_openea_side(rel, attr if attr.is_file() else None, encoding))
    kg1, kg2 = sides
    links = None
    lf = d / "ent_links"
    if lf.is_file():
        pairs = []
        for no, line in iter_lines(read_text(lf, encoding)):
            a, b = _split(line, 2, lf, no, "link")
            i, j = kg1.index.get(a), kg2.index.get(b)
            if i is None or j is None:
                if kg2.index.get(a) is not None and kg1.index.get(b) is not None:
                    raise InputError("link columns are swapped (graph-2 entity first)", lf, no)
                missing = a if i is None else b
                side = 1 if i is None else 2
                raise InputError(f"entity {missing} is not in graph {side}", lf, no)
            pairs.append((i, j))
        links = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    m = _LANG_PAIR.match(d.resolve().name)
    lang1, lang2 = (m.group(1).lower(), m.group(2).lower()) if m else (None, None)
    return KGPair(kg1=kg1, kg2=kg2, links=links, lang1=lang1, lang2=lang2)
