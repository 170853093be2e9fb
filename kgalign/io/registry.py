"""The one registry of file formats: graph loaders, alignment readers, alignment writers.

Every format kgalign knows is one :class:`FormatEntry` here, in the manner of RDFLib's plugin
registry (``rdflib/plugin.py``): an entry names its implementation as ``"module:attribute"``
and the module is imported on first use, so ``import kgalign.io`` stays light and listing the
formats (``kgalign align --help``) imports no parser. Each entry carries its canonical name,
aliases, file suffixes and a one-line description; :func:`get` resolves a name or alias,
:func:`for_path` a file name by its suffix, :func:`names` lists the canonical names (the CLI's
``click.Choice`` lists come from it).

Kinds and the call signature of their implementations:

``"graph"``
    ``load(path: Path, fmt: str, encoding: str) -> KnowledgeGraph`` (:func:`kgalign.io.load_kg`).
    A graph entry may also name ``pair``: ``load_pair(directory: Path, encoding: str) -> KGPair``
    for a directory holding two graphs and their links (:func:`kgalign.io.load_pair`).
``"reader"``
    ``read(path: Path, fmt: str, encoding: str) -> Alignment``
    (:func:`kgalign.io.readers.read_alignment`, gold links and predictions).
``"writer"``
    ``write(path, rows, *, force: bool = False, predicate: str = OWL_SAME_AS) -> None``
    (:func:`kgalign.io.writers.write_alignment`). ``rows`` is an iterable of
    :class:`kgalign.io.writers.Row` or plain ``(source, target, score, source_label,
    target_label)`` tuples; write through :func:`kgalign.io.atomic.atomic_write`.

Registering a format is one call (or one line in :data:`_BUILTIN` below)::

    from kgalign.io import registry

    registry.register("writer", "csv", "mypkg.csvout:write_csv",
                      suffixes=(".csv",), description="comma-separated pairs")

after which ``write_alignment(result, "links.csv")`` and ``kgalign align ... -o links.csv``
use it. A suffix may belong to one entry per kind; the longest matching suffix wins
(``.sssom.tsv`` before ``.tsv``). Names, aliases and suffixes are matched case-insensitively.

Notes
-----
Only suffixes are resolved here. Rules that look at more than the suffix stay with their
kind: a DBP15K ``ent_ids_N`` or ``ref_ent_ids`` file name, a pair directory's contents, and
for alignment readers the contents of ``.tsv``/``.txt``/``.csv`` and ``.rdf``/``.xml``/``.owl``
files (SSSOM metadata, integer id pairs, OAEI ``<Alignment>`` versus owl:sameAs RDF/XML).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any

from kgalign.errors import InputError

__all__ = [
    "ENGINES",
    "KINDS",
    "FormatEntry",
    "engine_for",
    "entries",
    "for_path",
    "get",
    "names",
    "register",
    "suffixes",
    "unregister",
]

#: kind -> what it is called in messages
KINDS = {"graph": "format", "reader": "alignment format", "writer": "output format"}


@dataclass(frozen=True)
class FormatEntry:
    """One registered format.

    Attributes
    ----------
    kind : {"graph", "reader", "writer"}
    name : str
        Canonical name (what :func:`get` returns and ``format=`` values are normalised to).
    target : str
        ``"module:attribute"`` of the implementation, imported by :meth:`load`.
    aliases : tuple of str
        Other accepted names (lower case).
    suffixes : tuple of str
        File suffixes with their dot, lower case (``".sssom.tsv"`` is one suffix).
    description : str
        One line for help texts.
    pair : str or None
        Graph formats only: ``"module:attribute"`` that loads a directory of two graphs.
    """

    kind: str
    name: str
    target: str
    aliases: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    description: str = ""
    pair: str | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def load(self, which: str = "target") -> Any:
        """The implementation (``which="target"``) or pair loader (``which="pair"``), imported now.

        Raises
        ------
        ImportError, AttributeError
            When the module or attribute named by the entry does not exist.
        """
        if which not in self._cache:
            spec = getattr(self, which)
            if spec is None:
                raise AttributeError(f"{self.kind} format {self.name!r} has no {which} loader")
            module, _, attr = spec.partition(":")
            self._cache[which] = getattr(importlib.import_module(module), attr)
        return self._cache[which]


# kind -> canonical name -> entry (registration order is listing order)
_ENTRIES: dict[str, dict[str, FormatEntry]] = {kind: {} for kind in KINDS}


def _kind(kind: str) -> dict[str, FormatEntry]:
    if kind not in _ENTRIES:
        raise ValueError(f"unknown format kind {kind!r}; one of {', '.join(KINDS)}")
    return _ENTRIES[kind]


def register(
    kind: str,
    name: str,
    target: str,
    *,
    aliases=(),
    suffixes=(),
    description: str = "",
    pair: str | None = None,
    replace: bool = False,
) -> FormatEntry:
    """Add a format to the registry (nothing is imported until it is used).

    Parameters
    ----------
    kind : {"graph", "reader", "writer"}
    name : str
        Canonical name.
    target : str
        ``"module:attribute"`` of the implementation (signature: see the module notes).
    aliases : iterable of str
    suffixes : iterable of str
        With the leading dot (``".csv"``, ``".sssom.tsv"``).
    description : str
    pair : str, optional
        Graph formats: ``"module:attribute"`` of a pair-directory loader.
    replace : bool
        Replace an entry of the same name (and take over its aliases and suffixes).

    Returns
    -------
    FormatEntry

    Raises
    ------
    ValueError
        An unknown kind, a target without ``module:attribute``, a suffix without a leading dot,
        or a name, alias or suffix that another entry of this kind already owns.
    """
    table = _kind(kind)
    name = name.strip().lower()
    module, sep, attr = target.partition(":")
    if not (module and sep and attr):
        raise ValueError(f"target must be 'module:attribute', got {target!r}")
    aliases = tuple(a.strip().lower() for a in aliases if a.strip().lower() != name)
    suffixes = tuple(s.strip().lower() for s in suffixes)
    for s in suffixes:
        if not s.startswith(".") or len(s) < 2:
            raise ValueError(f"suffix must start with a dot, got {s!r}")
    for other in table.values():
        if other.name == name and replace:
            continue
        taken = ({other.name, *other.aliases} & {name, *aliases}) | (set(other.suffixes) & set(suffixes))
        if taken:
            raise ValueError(f"{kind} format {other.name!r} already owns {', '.join(sorted(taken))}")
    entry = FormatEntry(kind, name, target, aliases, suffixes, description, pair)
    table[name] = entry
    return entry


def unregister(kind: str, name: str) -> None:
    """Remove a format (for plug-ins and tests); unknown names are ignored."""
    _kind(kind).pop(name.strip().lower(), None)


def entries(kind: str) -> tuple[FormatEntry, ...]:
    """Every entry of ``kind`` in registration order."""
    return tuple(_kind(kind).values())


def names(kind: str) -> tuple[str, ...]:
    """Canonical names of ``kind`` in registration order (for ``click.Choice`` and messages)."""
    return tuple(_kind(kind))


def get(kind: str, name: str) -> FormatEntry:
    """The entry called ``name`` or with ``name`` as an alias (case and spaces ignored).

    Raises
    ------
    InputError
        For an unknown name; the message lists the known ones.
    """
    table = _kind(kind)
    key = str(name).strip().lower()
    if key in table:
        return table[key]
    for entry in table.values():
        if key in entry.aliases:
            return entry
    raise InputError(f"unknown {KINDS[kind]} {name!r}; choose one of {', '.join(table)}")


def suffixes(kind: str) -> tuple[str, ...]:
    """Every registered suffix of ``kind``, in registration order."""
    return tuple(s for e in _kind(kind).values() for s in e.suffixes)


def for_path(kind: str, path: str | os.PathLike, *, required: bool = False) -> FormatEntry | None:
    """The entry whose suffix ends the file name of ``path`` (longest suffix first).

    Parameters
    ----------
    kind : {"graph", "reader", "writer"}
    path : str or os.PathLike
        Only its last component is looked at, lower-cased. A compression suffix is not
        stripped here (callers that look through ``.gz`` strip it first).
    required : bool
        Raise instead of returning None.

    Returns
    -------
    FormatEntry or None

    Raises
    ------
    InputError
        ``required`` and no suffix matches; the message lists the known suffixes.
    """
    fname = os.path.basename(os.fspath(path)).lower()
    best, best_len = None, 0
    for entry in _kind(kind).values():
        for s in entry.suffixes:
            if len(s) > best_len and fname.endswith(s) and len(fname) > len(s):
                best, best_len = entry, len(s)
    if best is None and required:
        raise InputError(
            f"cannot tell the {KINDS[kind]} from {os.path.basename(os.fspath(path))!r}; "
            f"use a suffix ({' '.join(suffixes(kind))})"
        )
    return best


# ------------------------------------------------------------------------------------ built-ins
# (kind, name, target, aliases, suffixes, description[, pair])
_BUILTIN: list[
    tuple[str, str, str, tuple[str, ...], tuple[str, ...], str]
    | tuple[str, str, str, tuple[str, ...], tuple[str, ...], str, str]
] = [
    ("graph", "turtle", "kgalign.io.rdf:load_rdf", ("ttl",), (".ttl", ".turtle"), "Turtle (rdflib)"),
    (
        "graph",
        "nt",
        "kgalign.io.rdf:load_rdf",
        ("ntriples", "n-triples"),
        (".nt", ".ntriples"),
        "N-Triples (line-by-line, errors name the line)",
    ),
    (
        "graph",
        "xml",
        "kgalign.io.rdf:load_rdf",
        ("rdf", "rdfxml", "rdf/xml", "rdf-xml", "owl"),
        (".rdf", ".owl", ".xml"),
        "RDF/XML (rdflib)",
    ),
    ("graph", "json-ld", "kgalign.io.rdf:load_rdf", ("jsonld", "json"), (".jsonld", ".json"), "JSON-LD (rdflib)"),
    ("graph", "n3", "kgalign.io.rdf:load_rdf", (), (".n3",), "Notation3 (rdflib)"),
    (
        "graph",
        "dbp15k",
        "kgalign.io.dbp15k:load_dbp15k_graph",
        (),
        (),
        "DBP15K: an ent_ids_N file, or a pair directory (ent_ids_1/2, triples_1/2, ref_ent_ids)",
        "kgalign.io.dbp15k:load_dbp15k_pair",
    ),
    (
        "graph",
        "openea",
        "kgalign.io.openea:load_openea_graph",
        (),
        (),
        "OpenEA: a rel_triples_N file, or a pair directory (rel_triples_1/2, attr_triples_1/2, ent_links)",
        "kgalign.io.openea:load_openea_pair",
    ),
    (
        "reader",
        "tsv",
        "kgalign.io.readers:read_tsv",
        (),
        (".tsv", ".txt", ".csv"),
        "tab-separated pairs, columns found by header (kgalign TSV, OpenEA ent_links)",
    ),
    ("reader", "sssom", "kgalign.io.readers:read_sssom", (), (".sssom.tsv",), "SSSOM/TSV with curie_map"),
    (
        "reader",
        "dbp15k",
        "kgalign.io.readers:read_dbp15k_links",
        (),
        (),
        "DBP15K ref_ent_ids (integer id pairs) or its directory",
    ),
    (
        "reader",
        "oaei",
        "kgalign.io.readers:read_oaei_links",
        (),
        (".rdf", ".xml", ".owl"),
        "OAEI Alignment API RDF/XML",
    ),
    ("reader", "json", "kgalign.io.readers:read_json", (), (".json",), "kgalign JSON (pairs, ranked candidates)"),
    ("reader", "turtle", "kgalign.io.readers:read_rdf_links", ("ttl",), (".ttl",), "owl:sameAs triples in Turtle"),
    (
        "reader",
        "nt",
        "kgalign.io.readers:read_rdf_links",
        ("ntriples", "n-triples"),
        (".nt",),
        "owl:sameAs triples in N-Triples",
    ),
    (
        "reader",
        "xml",
        "kgalign.io.readers:read_rdf_links",
        ("rdf",),
        (),
        "owl:sameAs triples in RDF/XML (told from OAEI by contents)",
    ),
    (
        "writer",
        "tsv",
        "kgalign.io.writers:write_tsv",
        (),
        (".tsv", ".txt"),
        "source, target, score, labels (tab-separated)",
    ),
    ("writer", "json", "kgalign.io.writers:write_json", (), (".json",), "kgalign JSON"),
    ("writer", "sssom", "kgalign.io.writers:write_sssom", (), (".sssom.tsv",), "SSSOM/TSV with metadata block"),
    ("writer", "turtle", "kgalign.io.writers:write_turtle", (), (".ttl",), "owl:sameAs triples, Turtle"),
    ("writer", "nt", "kgalign.io.writers:write_ntriples", (), (".nt",), "owl:sameAs triples, sorted N-Triples"),
    ("writer", "oaei", "kgalign.io.oaei:write_oaei_rows", (), (".rdf", ".xml"), "OAEI Alignment API RDF/XML"),
]

for _kind_name, _name, _target, _aliases, _suffixes, _desc, *_pair in _BUILTIN:
    register(
        _kind_name,
        _name,
        _target,
        aliases=_aliases,
        suffixes=_suffixes,
        description=_desc,
        pair=_pair[0] if _pair else None,
    )
del _kind_name, _name, _target, _aliases, _suffixes, _desc, _pair


# ------------------------------------------------------------------------------------ engines
#: Graph loading engines: name -> (``"module:attribute"`` loader, formats it reads). ``rdflib``
#: is the registered loader of each format (above); ``oxigraph`` the streaming path for large
#: files (:mod:`kgalign.io.oxigraph`, optional package pyoxigraph).
ENGINES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "rdflib": (None, ()),
    "oxigraph": ("kgalign.io.oxigraph:load_oxigraph", ("nt", "turtle", "xml")),
}


def engine_for(entry: FormatEntry, engine: str, path: str | os.PathLike) -> Any:
    """The loader of a graph format under ``engine`` (``rdflib``, ``oxigraph`` or ``auto``).

    ``auto`` takes ``oxigraph`` for N-Triples, Turtle and RDF/XML files of at least
    :data:`kgalign.io.oxigraph.AUTO_BYTES` when pyoxigraph is installed, else the format's
    registered loader.

    Raises
    ------
    InputError
        An unknown engine, or ``oxigraph`` for a format it does not read.
    """
    key = str(engine).strip().lower()
    if key not in ENGINES and key != "auto":
        raise InputError(f"unknown engine {engine!r}; choose one of auto, {', '.join(ENGINES)}")
    if key == "auto":
        from kgalign.io import oxigraph

        try:
            big = os.path.getsize(path) >= oxigraph.AUTO_BYTES
        except OSError:
            big = False
        key = "oxigraph" if big and entry.name in ENGINES["oxigraph"][1] and oxigraph.available() else "rdflib"
    target, formats = ENGINES[key]
    if target is None:
        return entry.load()
    if entry.name not in formats:
        raise InputError(f"engine {key!r} reads {', '.join(formats)}, not {entry.name!r}")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)
