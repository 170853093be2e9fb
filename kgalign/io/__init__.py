"""Loaders: RDF files (rdflib), DBP15K and OpenEA directories.

>>> from kgalign.io import load_kg, load_pair
>>> kg = load_kg("silknow_en.ttl")                      # doctest: +SKIP
>>> pair = load_pair("dbp15k/zh_en")                    # doctest: +SKIP

The format is chosen by file suffix or directory contents, or given with ``format=``
(the CLI's ``--format``): one of :data:`FORMATS`. Every format, with its aliases and suffixes,
is an entry of :mod:`kgalign.io.registry` (kind ``"graph"``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from kgalign.errors import InputError
from kgalign.io import registry


def __getattr__(name: str):
    if name == "FORMATS":  # accepted ``format`` values, read from the registry when asked
        return registry.names("graph")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_ENT_IDS_NAME = re.compile(r"(^|_)ent_ids(_\d+)?$")


def normalise_format(fmt: str | None) -> str | None:
    """Canonical format name for ``fmt`` (aliases such as ``ttl``, ``ntriples``, ``rdf``).

    Raises
    ------
    InputError
        For an unknown format.
    """
    if fmt is None:
        return None
    return registry.get("graph", fmt).name


def detect_format(path: str | os.PathLike) -> str:
    """The format of ``path`` from its suffix (files) or contents (directories).

    Files: ``.ttl`` turtle, ``.nt`` N-Triples, ``.rdf``/``.owl``/``.xml`` RDF/XML,
    ``.jsonld``/``.json`` JSON-LD, ``.n3``; a trailing ``.gz`` is looked through; a file named
    ``ent_ids_N`` is one side of a DBP15K directory. Directories: ``ent_ids_1`` means DBP15K,
    ``rel_triples_1`` OpenEA.

    Raises
    ------
    InputError
        When the path is missing or its format cannot be told (pass ``format=`` / ``--format``).
    """
    p = Path(path)
    if not p.exists():
        raise InputError("no such file or directory", p)
    if p.is_dir():
        if (p / "ent_ids_1").is_file():
            return "dbp15k"
        if (p / "rel_triples_1").is_file():
            return "openea"
        raise InputError(
            "directory holds neither a DBP15K pair (ent_ids_1, ent_ids_2, triples_1, triples_2) "
            "nor an OpenEA pair (rel_triples_1/2, attr_triples_1/2, ent_links)",
            p,
        )
    name = p.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    entry = registry.for_path("graph", name)
    if entry is not None:
        return entry.name
    if _ENT_IDS_NAME.search(name):
        return "dbp15k"
    raise InputError(
        "cannot tell the format from the name; pass format= (CLI: --format) with one of "
        + ", ".join(registry.names("graph")),
        p,
    )


def load_kg(path: str | os.PathLike, *, format: str | None = None, encoding: str = "utf-8", engine: str = "auto"):
    """Load one knowledge graph.

    Parameters
    ----------
    path : str or os.PathLike
        An RDF file (Turtle, N-Triples, RDF/XML, JSON-LD, N3; optionally gzipped) or a DBP15K
        ``ent_ids_N`` file (its ``triples_N`` and ``rel_ids_N`` are read when beside it).
    format : str, optional
        None to detect (:func:`detect_format`), or one of :data:`FORMATS` (aliases accepted).
    encoding : str
        Text encoding (default UTF-8; a UTF-8 byte-order mark is always stripped). For
        RDF/XML, an encoding declared in the XML declaration wins.
    engine : {"rdflib", "oxigraph", "auto"}
        Parser of N-Triples, Turtle and RDF/XML: ``oxigraph`` streams large files into compact
        arrays (:mod:`kgalign.io.oxigraph`, same result); ``auto`` uses it for large files when
        pyoxigraph is installed (:func:`kgalign.io.registry.engine_for`).

    Returns
    -------
    KnowledgeGraph
        See :mod:`kgalign.io.rdf` for which IRIs become entities.

    Raises
    ------
    InputError
        Missing or unreadable file, undecodable bytes (line and byte named, ``--encoding``
        suggested), syntax errors (file and line named), a pair directory (use :func:`load_pair`).
    EmptyGraphError
        When the graph holds no entity.
    """
    entry = registry.get("graph", normalise_format(format) or detect_format(path))
    p = Path(path)
    if p.is_dir():
        if entry.pair is not None:
            raise InputError(
                f"is a {entry.name} directory holding two graphs; load it with load_pair (CLI: kgalign align DIR)", p
            )
        raise InputError(f"is a directory, expected a {entry.name} file", p)
    if entry.name in registry.ENGINES["oxigraph"][1]:
        return registry.engine_for(entry, engine, p)(p, entry.name, encoding)
    if engine not in ("rdflib", "auto"):
        registry.engine_for(entry, engine, p)  # raises for an unknown engine or format
    return entry.load()(p, entry.name, encoding)


def load_pair(path: str | os.PathLike, *, format: str | None = None, encoding: str = "utf-8"):
    """Load a directory that holds two knowledge graphs and their gold links.

    Parameters
    ----------
    path : str or os.PathLike
        A DBP15K directory (``ent_ids_1/2``, ``triples_1/2``, optional ``rel_ids_1/2``,
        ``ref_ent_ids``, ``translated_names.json``) or an OpenEA directory (``rel_triples_1/2``,
        ``attr_triples_1/2``, ``ent_links``).
    format : {None, "dbp15k", "openea"}
        None to detect from the directory contents; any graph format of
        :mod:`kgalign.io.registry` that names a ``pair`` loader.
    encoding : str

    Returns
    -------
    KGPair

    Raises
    ------
    InputError
        Not a pair directory, bad lines, undefined ids (file and line named).
    EmptyGraphError
        A side without entities.
    """
    fmt = normalise_format(format)
    p = Path(path)
    if not p.is_dir():
        raise InputError(
            "load_pair expects a DBP15K or OpenEA directory" + ("" if p.exists() else " (no such directory)"), p
        )
    entry = registry.get("graph", fmt or detect_format(p))
    if entry.pair is not None:
        return entry.load("pair")(p, encoding)
    fmt = entry.name
    raise InputError(f"format {fmt!r} holds one graph; load_pair reads dbp15k or openea directories", p)


__all__ = ["FORMATS", "detect_format", "load_kg", "load_pair", "normalise_format"]
