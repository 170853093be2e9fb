"""OAEI alignments: the Alignment API RDF/XML format (writer and reader).

Format (Euzenat, "An API for ontology alignment", ISWC 2004; the format of the Ontology
Alignment Evaluation Initiative, https://moex.gitlabpages.inria.fr/alignapi/format.html)::

    <rdf:RDF xmlns="http://knowledgeweb.semanticweb.org/heterogeneity/alignment#" ...>
      <Alignment>
        <xml>yes</xml> <level>0</level> <type>11</type>
        <onto1>...</onto1> <onto2>...</onto2>
        <map>
          <Cell>
            <entity1 rdf:resource="IRI1"/>
            <entity2 rdf:resource="IRI2"/>
            <relation>=</relation>
            <measure rdf:datatype="http://www.w3.org/2001/XMLSchema#float">0.93</measure>
          </Cell>
        </map>
      </Alignment>
    </rdf:RDF>

The reader is a streaming SAX parser that matches element *local names* (files in the wild
use the default namespace, an ``align:`` prefix, or none), so that it can report the line of a
malformed cell. External entities are not resolved.
"""

from __future__ import annotations

import json
import os
import xml.sax
import xml.sax.handler
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from kgalign.errors import InputError
from kgalign.io.atomic import atomic_write

ALIGN_NS = "http://knowledgeweb.semanticweb.org/heterogeneity/alignment#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#: Namespace of kgalign's extension element ``kgalign:run`` (the run record, JSON).
KGALIGN_NS = "https://w3id.org/kgalign/"
XSD_FLOAT = "http://www.w3.org/2001/XMLSchema#float"

__all__ = ["ALIGN_NS", "OAEIAlignment", "OAEICell", "oaei_string", "read_oaei", "write_oaei", "write_oaei_rows"]


@dataclass
class OAEICell:
    """One correspondence: ``entity1 relation entity2`` with confidence ``measure`` in [0, 1]."""

    entity1: str
    entity2: str
    relation: str = "="
    measure: float = 1.0
    line: int | None = None


@dataclass
class OAEIAlignment:
    """A parsed alignment: its cells and header fields (``onto1``, ``onto2``, ``type``, ``level``)."""

    cells: list[OAEICell] = field(default_factory=list)
    onto1: str | None = None
    onto2: str | None = None
    type: str | None = None
    level: str | None = None


def _split(pair) -> tuple[str, str, float | None]:
    if len(pair) == 2:
        return str(pair[0]), str(pair[1]), None
    if len(pair) >= 3:
        return str(pair[0]), str(pair[1]), None if pair[2] is None else float(pair[2])
    raise InputError(f"pair {pair!r} needs two entities")


def oaei_string(
    pairs: Iterable[Sequence],
    *,
    scores: Sequence[float] | None = None,
    relation: str = "=",
    onto1: str | None = None,
    onto2: str | None = None,
    type: str | None = None,
    run: dict | None = None,
) -> str:
    """The Alignment API RDF/XML document for ``pairs`` (see :func:`write_oaei`); ``run``: a
    record of the run (:func:`kgalign.io.writers.run_record`), written as ``method`` and the
    extension element ``kgalign:run`` (JSON)."""
    rows = [_split(p) for p in pairs]
    if scores is not None:
        scores = list(scores)
        if len(scores) != len(rows):
            raise InputError(f"{len(scores)} scores for {len(rows)} pairs")
        rows = [(a, b, float(s)) for (a, b, _), s in zip(rows, scores)]
    if type is None:
        left = [a for a, _, _ in rows]
        right = [b for _, b, _ in rows]
        # "1" = injective and total on that side is not knowable here; "?" = at most one.
        type = ("?" if len(set(left)) == len(left) else "*") + ("?" if len(set(right)) == len(right) else "*")
    out = [
        "<?xml version='1.0' encoding='utf-8' standalone='no'?>",
        f"<rdf:RDF xmlns='{ALIGN_NS}'",
        f"         xmlns:rdf='{RDF_NS}'",
        "         xmlns:xsd='http://www.w3.org/2001/XMLSchema#'",
        f"         xmlns:align='{ALIGN_NS}'" + (f"\n         xmlns:kgalign='{KGALIGN_NS}'>" if run else ">"),
        "<Alignment>",
        "  <xml>yes</xml>",
        "  <level>0</level>",
        f"  <type>{escape(type)}</type>",
    ]
    if run:
        from kgalign import __version__

        out.append(f"  <method>kgalign {escape(__version__)}</method>")
        out.append(f"  <kgalign:run>{escape(json.dumps(run, ensure_ascii=False))}</kgalign:run>")
    for tag, onto in (("onto1", onto1), ("onto2", onto2)):
        if onto:
            out.append(
                f"  <{tag}><Ontology rdf:about={quoteattr(onto)}><location>{escape(onto)}</location></Ontology></{tag}>"
            )
    for a, b, s in rows:
        m = 1.0 if s is None else min(1.0, max(0.0, s))  # the format requires [0, 1]
        if m != m:
            raise InputError(f"score of pair ({a}, {b}) is NaN")
        out += [
            "  <map>",
            "    <Cell>",
            f"      <entity1 rdf:resource={quoteattr(a)}/>",
            f"      <entity2 rdf:resource={quoteattr(b)}/>",
            f"      <relation>{escape(relation)}</relation>",
            f"      <measure rdf:datatype='{XSD_FLOAT}'>{m:.6g}</measure>",
            "    </Cell>",
            "  </map>",
        ]
    out += ["</Alignment>", "</rdf:RDF>", ""]
    return "\n".join(out)


def write_oaei(
    path: str | os.PathLike,
    pairs: Iterable[Sequence],
    *,
    scores: Sequence[float] | None = None,
    relation: str = "=",
    onto1: str | None = None,
    onto2: str | None = None,
    force: bool = False,
) -> None:
    """Write an alignment in the OAEI / Alignment API RDF/XML format, atomically.

    Parameters
    ----------
    path : str or PathLike
        Output file (conventionally ``.rdf``).
    pairs : iterable of (IRI1, IRI2) or (IRI1, IRI2, score)
        Correspondences; the score becomes ``measure`` (clipped to [0, 1], the format's range;
        1.0 when absent).
    scores : sequence of float, optional
        Scores parallel to ``pairs`` (override a third element).
    relation : str
        The relation of every cell (``=`` equivalence).
    onto1, onto2 : str, optional
        IRIs of the two graphs, written as ``onto1``/``onto2``.
    force : bool
        Overwrite an existing file.

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``force`` is false.
    InputError
        For a NaN score or mismatched ``scores``.
    """
    text = oaei_string(pairs, scores=scores, relation=relation, onto1=onto1, onto2=onto2)
    with atomic_write(path, force=force) as fh:
        fh.write(text)


def write_oaei_rows(
    path: str | os.PathLike,
    rows: Iterable[Sequence],
    *,
    force: bool = False,
    predicate: str | None = None,
    metadata: dict | None = None,
) -> None:
    """:func:`write_oaei` with the writer signature of :mod:`kgalign.io.registry`.

    ``rows`` are ``(source, target, score, ...)`` sequences (:class:`kgalign.io.writers.Row`);
    labels are not part of the format. Every cell gets the relation ``=``: owl:sameAs (and
    equivalence predicates in general) is the Alignment API's equivalence. ``metadata``
    (:func:`kgalign.io.writers.run_record`) gives ``onto1``/``onto2`` (the inputs'
    ``owl:Ontology`` IRIs, else the input files as ``file:`` URIs) and becomes the ``method``
    (``kgalign``) and an extension element ``kgalign:run`` holding the record as JSON.
    """
    from kgalign.io.iri import iri_problem

    rows = list(rows)
    for r in rows:
        for iri in r[:2]:
            why = iri_problem(iri)
            if why:
                raise InputError(f"entity {iri[:80]!r} cannot be written as an IRI: {why}")
    ontos: list[str | None] = [None, None]
    declared = (metadata or {}).get("ontologies") or ["", ""]
    for k, src in enumerate((metadata or {}).get("sources", [])[:2]):
        if k < len(declared) and declared[k]:
            ontos[k] = declared[k]  # the owl:Ontology IRI, as OAEI alignments name ontologies
        elif src:
            ontos[k] = Path(src).resolve().as_uri()
    text = oaei_string([(r[0], r[1], r[2]) for r in rows], onto1=ontos[0], onto2=ontos[1], run=metadata)
    with atomic_write(path, force=force) as fh:
        fh.write(text)


class _Handler(xml.sax.handler.ContentHandler):
    def __init__(self, path):
        super().__init__()
        self.path = path
        self.result = OAEIAlignment()
        self.stack: list[str] = []
        self.cell: dict | None = None
        self.text: list[str] = []
        self.locator = None
        self.seen_alignment = False

    def setDocumentLocator(self, locator):
        self.locator = locator

    def _line(self):
        return self.locator.getLineNumber() if self.locator is not None else None

    @staticmethod
    def _local(name: str) -> str:
        return name.rsplit(":", 1)[-1]

    @staticmethod
    def _resource(attrs) -> str | None:
        for key in attrs.getNames():
            if key.rsplit(":", 1)[-1] in ("resource", "about"):
                return attrs.getValue(key)
        return None

    def startElement(self, name, attrs):
        local = self._local(name)
        parent = self.stack[-1] if self.stack else None
        self.stack.append(local)
        self.text = []
        if local == "Alignment":
            self.seen_alignment = True
        if local == "Cell":
            self.cell = {"line": self._line()}
        elif self.cell is not None and local in ("entity1", "entity2"):
            res = self._resource(attrs)
            if res is not None:
                self.cell[local] = res
        elif self.cell is not None and parent in ("entity1", "entity2") and parent not in self.cell:
            res = self._resource(attrs)  # <entity1><rdf:Description rdf:about="..."/></entity1>
            if res is not None:
                self.cell[parent] = res
        elif parent == "onto1" or parent == "onto2" or local in ("onto1", "onto2"):
            res = self._resource(attrs)
            key = local if local in ("onto1", "onto2") else parent
            if res is not None and getattr(self.result, key) is None:
                setattr(self.result, key, res)

    def characters(self, content):
        self.text.append(content)

    def endElement(self, name):
        local = self._local(name)
        text = "".join(self.text).strip()
        self.stack.pop()
        if self.cell is not None:
            if local in ("entity1", "entity2") and local not in self.cell and text:
                self.cell[local] = text
            elif local == "relation":
                self.cell["relation"] = text or "="
            elif local == "measure":
                try:
                    value = float(text)
                except ValueError:
                    raise InputError(f"measure {text!r} is not a number", self.path, self._line()) from None
                if value != value:
                    raise InputError("measure is NaN", self.path, self._line())
                self.cell["measure"] = value
            elif local == "Cell":
                c = self.cell
                self.cell = None
                for key in ("entity1", "entity2"):
                    if not c.get(key):
                        raise InputError(f"Cell without {key}", self.path, c["line"])
                self.result.cells.append(
                    OAEICell(c["entity1"], c["entity2"], c.get("relation", "="), c.get("measure", 1.0), c["line"])
                )
        elif local in ("type", "level") and self.stack and self.stack[-1] == "Alignment":
            setattr(self.result, local, text)
        elif local in ("onto1", "onto2") and getattr(self.result, local) is None and text:
            setattr(self.result, local, text)
        self.text = []


def read_oaei(path: str | os.PathLike) -> OAEIAlignment:
    """Read an Alignment API RDF/XML file.

    Parameters
    ----------
    path : str or PathLike

    Returns
    -------
    OAEIAlignment
        Cells in file order; ``relation`` defaults to ``=`` and ``measure`` to 1.0 when absent.

    Raises
    ------
    InputError
        For malformed XML (with the line), a ``Cell`` without ``entity1``/``entity2``, a
        non-numeric ``measure``, or a file without any ``Alignment`` element.
    """
    path = os.fspath(path)
    handler = _Handler(path)
    parser = xml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_namespaces, False)
    parser.setFeature(xml.sax.handler.feature_external_ges, False)
    parser.setFeature(xml.sax.handler.feature_external_pes, False)
    parser.setContentHandler(handler)
    try:
        with open(path, "rb") as fh:
            parser.parse(fh)
    except xml.sax.SAXParseException as exc:
        raise InputError(f"not well-formed XML: {exc.getMessage()}", path, exc.getLineNumber()) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    if not handler.seen_alignment:
        raise InputError("no <Alignment> element: not an OAEI / Alignment API file", path)
    return handler.result
