"""DBP15K id-format loader.

The format (Sun, Hu, Li, "Cross-lingual entity alignment via joint attribute-preserving
embedding", ISWC 2017; the files of the GCN-Align / JAPE / RDGCN repositories) is a directory:

``ent_ids_1``, ``ent_ids_2``
    ``<int id>\\t<IRI>`` per line, one file per KG (ids need not be contiguous).
``triples_1``, ``triples_2``
    ``<head id>\\t<relation id>\\t<tail id>``.
``rel_ids_1``, ``rel_ids_2`` (optional)
    ``<relation id>\\t<relation IRI>``.
``ref_ent_ids`` (or ``ill_ent_ids``; optional, ``sup_ent_ids`` is added when present)
    ``<id1>\\t<id2>`` gold links.
``translated_names.json`` (optional)
    ``[[id, [token, ...]], ...]``: machine translations of the entity names.

Entities have no labels: their display name is the IRI's local name (everything after
``/resource/``, percent-decoded, underscores to spaces; see :func:`kgalign.labels.local_name`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path

import numpy as np

from kgalign.errors import EmptyGraphError, InputError
from kgalign.io._text import iter_lines, read_text
from kgalign.io.iri import iri_problem
from kgalign.kg import KGPair, KnowledgeGraph

log = logging.getLogger(__name__)

_LANG_PAIR = re.compile(r"^([a-z]{2,3})[_-]([a-z]{2,3})$", re.IGNORECASE)
_ENT_FILE = re.compile(r"ent_ids(?:_(\d+))?$")


def langs_from_name(name: str) -> tuple[str | None, str | None]:
    """``("zh", "en")`` from a directory name such as ``zh_en`` (case-insensitive), else Nones."""
    m = _LANG_PAIR.match(name)
    return (m.group(1).lower(), m.group(2).lower()) if m else (None, None)


def read_id_table(
    path: str | os.PathLike, encoding: str = "utf-8", what: str = "entity"
) -> tuple[np.ndarray, list[str]]:
    """Read an ``<int id>\\t<IRI>`` file (``ent_ids_*``, ``rel_ids_*``).

    Parameters
    ----------
    path : str or os.PathLike
    encoding : str
    what : str
        "entity" or "relation", for messages.

    Returns
    -------
    ids : ndarray of int64, shape (n,)
        The ids in file order.
    iris : list of str, length n

    Raises
    ------
    InputError
        A line without an integer id and an IRI, an IRI that breaks RFC 3987
        (:func:`kgalign.io.iri.iri_problem`), or a repeated id or IRI (line named).
    """
    text = read_text(path, encoding)
    ids: list[int] = []
    iris: list[str] = []
    seen_id: dict[int, int] = {}
    seen_iri: dict[str, int] = {}
    for no, line in iter_lines(text):
        parts = line.strip().split("\t", 1) if "\t" in line else line.strip().split(None, 1)
        if len(parts) != 2 or not parts[1].strip():
            raise InputError(f"expected '<integer id><TAB><{what} IRI>', got {line.strip()[:80]!r}", path, no)
        try:
            ident = int(parts[0])
        except ValueError:
            raise InputError(f"{what} id {parts[0][:40]!r} is not an integer", path, no) from None
        iri = parts[1].strip()
        why = iri_problem(iri)
        if why:
            raise InputError(f"invalid {what} IRI {iri[:80]!r}: {why}", path, no)
        if ident in seen_id:
            raise InputError(f"{what} id {ident} repeats line {seen_id[ident]}", path, no)
        if iri in seen_iri:
            raise InputError(f"{what} IRI {iri} repeats line {seen_iri[iri]}", path, no)
        seen_id[ident] = no
        seen_iri[iri] = no
        ids.append(ident)
        iris.append(iri)
    return np.asarray(ids, dtype=np.int64), iris


def _int_rows_slow(text: str, ncols: int, path) -> tuple[np.ndarray, np.ndarray]:
    """Per-line parse of an integer table: rows (m, ncols) and their 1-based line numbers."""
    rows, lines = [], []
    for no, line in iter_lines(text):
        parts = line.split()
        if len(parts) != ncols:
            raise InputError(f"expected {ncols} tab-separated integers, got {len(parts)} fields", path, no)
        try:
            rows.append([int(x) for x in parts])
        except ValueError:
            raise InputError(f"expected {ncols} integer ids, got {line.strip()[:80]!r}", path, no) from None
        lines.append(no)
    return np.asarray(rows, dtype=np.int64).reshape(-1, ncols), np.asarray(lines, dtype=np.int64)


def read_int_table(path: str | os.PathLike, ncols: int, encoding: str = "utf-8") -> tuple[np.ndarray, str]:
    """Read a whitespace-separated integer table (``triples_*``, ``ref_ent_ids``).

    Uses numpy's C parser; only when it fails is the file parsed again line by line to name
    the bad line.

    Returns
    -------
    rows : ndarray of int64, shape (m, ncols)
    text : str
        The decoded file (kept for error messages about ids that do not resolve).

    Raises
    ------
    InputError
        A line that does not hold ``ncols`` integers (line named).
    """
    text = read_text(path, encoding)
    if not text.strip():
        return np.zeros((0, ncols), dtype=np.int64), text
    import io
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = np.loadtxt(io.StringIO(text), dtype=np.int64, comments=None, ndmin=2)
        if rows.shape[1] != ncols:
            raise ValueError("wrong number of columns")
    except ValueError:
        rows, _ = _int_rows_slow(text, ncols, path)
    return rows, text


def _resolve(values: np.ndarray, ids: np.ndarray, path, text: str, ncols: int, col: int, what: str) -> np.ndarray:
    """Positions of ``values`` in ``ids`` (vectorised); an unknown id names its line."""
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    pos = np.searchsorted(sorted_ids, values)
    pos_c = np.minimum(pos, max(len(ids) - 1, 0))
    found = (pos < len(ids)) & (sorted_ids[pos_c] == values) if len(ids) else np.zeros(len(values), bool)
    if not found.all():
        bad = int(np.flatnonzero(~found)[0])
        _, lines = _int_rows_slow(text, ncols, path)
        raise InputError(f"{what} id {int(values[bad])} (column {col + 1}) is not defined", path, int(lines[bad]))
    return order[pos_c]


def _find(directory: Path, *names: str) -> Path | None:
    for name in names:
        p = directory / name
        if p.is_file():
            return p
    return None


def load_side(ent_path: str | os.PathLike, triples_path=None, rel_path=None, encoding: str = "utf-8") -> KnowledgeGraph:
    """Load one DBP15K knowledge graph from its ``ent_ids`` file (and triples, relation ids).

    Parameters
    ----------
    ent_path : str or os.PathLike
        ``ent_ids_N``.
    triples_path, rel_path : str or os.PathLike, optional
        ``triples_N`` and ``rel_ids_N``. Without ``rel_ids``, relations are named by their id.
    encoding : str

    Returns
    -------
    KnowledgeGraph
        ``entities`` = IRIs, ``ids`` = the integer ids as strings, no labels, ``triples``
        as positions.

    Raises
    ------
    InputError
        Bad lines, or triples naming an undefined entity or relation id (line named).
    EmptyGraphError
        The ``ent_ids`` file lists no entity.
    """
    ids, iris = read_id_table(ent_path, encoding, "entity")
    if not iris:
        raise EmptyGraphError("no entities found", ent_path)
    relations: list[str] = []
    triples = np.zeros((0, 3), dtype=np.int64)
    if triples_path is not None:
        rows, text = read_int_table(triples_path, 3, encoding)
        heads = _resolve(rows[:, 0], ids, triples_path, text, 3, 0, "entity")
        tails = _resolve(rows[:, 2], ids, triples_path, text, 3, 2, "entity")
        if rel_path is not None:
            rel_ids, relations = read_id_table(rel_path, encoding, "relation")
            rels = _resolve(rows[:, 1], rel_ids, triples_path, text, 3, 1, "relation")
        else:
            uniq, rels = np.unique(rows[:, 1], return_inverse=True)
            relations = [str(r) for r in uniq.tolist()]
        triples = np.stack([heads, rels.reshape(-1), tails], axis=1).astype(np.int64)
    return KnowledgeGraph(
        entities=iris,
        triples=triples,
        relations=relations,
        ids=[str(i) for i in ids.tolist()],
        source=os.fspath(ent_path),
    )


def load_dbp15k_kg(path: str | os.PathLike, encoding: str = "utf-8") -> KnowledgeGraph:
    """One side of a DBP15K directory from its ``ent_ids_N`` file path.

    ``triples_N`` and ``rel_ids_N`` beside it are read when present (same suffix ``N``).
    """
    p = Path(path)
    m = _ENT_FILE.search(p.name)
    suffix = f"_{m.group(1)}" if m and m.group(1) else None
    triples = _find(p.parent, f"triples{suffix}") if suffix else None
    rels = _find(p.parent, f"rel_ids{suffix}") if suffix and triples else None
    return load_side(p, triples, rels, encoding)


def load_dbp15k_graph(path: str | os.PathLike, fmt: str = "dbp15k", encoding: str = "utf-8") -> KnowledgeGraph:
    """:func:`load_dbp15k_kg` with the graph-loader signature of :mod:`kgalign.io.registry`."""
    return load_dbp15k_kg(path, encoding)


def _read_translations(path: Path, kg1: KnowledgeGraph, kg2: KnowledgeGraph, encoding: str) -> dict[str, str]:
    """``{display name: " ".join(tokens)}`` from ``translated_names.json`` (kg1 wins on clashes)."""
    text = read_text(path, encoding)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg} (column {exc.colno})", path, exc.lineno) from None
    items = data.items() if isinstance(data, dict) else data
    by_id: dict[str, str] = {}
    try:
        for ident, tokens in items:
            if isinstance(tokens, str):
                tokens = tokens.split()
            text_en = " ".join(str(t) for t in tokens).strip()
            if text_en:
                by_id[str(int(ident))] = text_en
    except (TypeError, ValueError):
        raise InputError("expected a list of [id, [token, ...]] pairs", path) from None
    out: dict[str, str] = {}
    unused = len(by_id)
    for kg in (kg1, kg2):
        for i, ident in enumerate(kg.ids or []):
            t = by_id.get(ident)
            if t is not None:
                unused -= 1
                out.setdefault(kg.label(i), t)
    if unused:
        log.warning("%s: %d translations name ids of neither graph", path, unused)
    return out


def load_dbp15k_pair(directory: str | os.PathLike, encoding: str = "utf-8") -> KGPair:
    """Load a DBP15K directory as a :class:`KGPair`.

    Parameters
    ----------
    directory : str or os.PathLike
        Holds ``ent_ids_1``, ``ent_ids_2``, ``triples_1``, ``triples_2``, and optionally
        ``rel_ids_1/2``, ``ref_ent_ids`` (else ``ill_ent_ids``; ``sup_ent_ids`` added when present)
        and ``translated_names.json``.
    encoding : str

    Returns
    -------
    KGPair
        ``links`` as positions, shape (k, 2) int64 (None without a link file);
        ``translations`` maps each entity's display name (``kg.label(i)``, the IRI's local
        name) to its translation, for both graphs (None without ``translated_names.json``);
        ``lang1``/``lang2`` from a directory name like ``zh_en``.

    Raises
    ------
    InputError
        A missing required file, a bad line, an undefined id (file and line named).
    EmptyGraphError
        A side without entities.
    """
    d = Path(directory)
    t0 = time.perf_counter()
    for name in ("ent_ids_1", "ent_ids_2"):
        if not (d / name).is_file():
            raise InputError(f"not a DBP15K directory: {name} is missing", d)
    sides = []
    for k in ("1", "2"):
        triples = _find(d, f"triples_{k}")
        if triples is None:
            log.warning("%s: triples_%s is missing; graph %s has no relation triples", d, k, k)
        rels = _find(d, f"rel_ids_{k}") if triples is not None else None
        sides.append(load_side(d / f"ent_ids_{k}", triples, rels, encoding))
    kg1, kg2 = sides
    links = None
    link_files = [p for p in (_find(d, "ref_ent_ids", "ill_ent_ids"), _find(d, "sup_ent_ids")) if p is not None]
    if link_files:
        parts = []
        assert kg1.ids is not None and kg2.ids is not None  # load_side always sets ids
        ids1 = np.asarray([int(x) for x in kg1.ids], dtype=np.int64)
        ids2 = np.asarray([int(x) for x in kg2.ids], dtype=np.int64)
        for lf in link_files:
            rows, text = read_int_table(lf, 2, encoding)
            if len(rows):
                parts.append(
                    np.stack(
                        [
                            _resolve(rows[:, 0], ids1, lf, text, 2, 0, "graph-1 entity"),
                            _resolve(rows[:, 1], ids2, lf, text, 2, 1, "graph-2 entity"),
                        ],
                        axis=1,
                    )
                )
        links = np.concatenate(parts).astype(np.int64) if parts else np.zeros((0, 2), np.int64)
        if len(link_files) > 1:
            _, first = np.unique(links, axis=0, return_index=True)
            links = links[np.sort(first)]
    translations = None
    tn = _find(d, "translated_names.json")
    if tn is not None:
        translations = _read_translations(tn, kg1, kg2, encoding)
    lang1, lang2 = langs_from_name(d.resolve().name)
    log.info(
        "loaded DBP15K %s: %d + %d entities, %s links in %.2f s",
        d,
        len(kg1),
        len(kg2),
        "no" if links is None else len(links),
        time.perf_counter() - t0,
    )
    return KGPair(kg1=kg1, kg2=kg2, links=links, translations=translations, lang1=lang1, lang2=lang2)
