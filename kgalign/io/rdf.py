"""RDF loader: Turtle, RDF/XML, JSON-LD and N3 through rdflib; N-Triples through a fast
line reader (a compiled regular expression, rdflib for the lines it does not accept).

What becomes an entity
----------------------
Users expect the *things described* by a file to be its entities, not the vocabulary used to
describe them. Every entity has a kind (:data:`kgalign.kg.KINDS`, rules in
:mod:`kgalign.io.owl`): the classes, object/datatype/annotation properties and SKOS concepts
a file declares are entities of those kinds, so that ontologies can be aligned kind by kind.
Any other IRI is an *individual* when it is the subject of a triple or the object of a
triple other than ``rdf:type``, and it is none of:

- a term of the RDF, RDFS, OWL, SKOS, XSD or SHACL namespaces (``skos:Concept``, ``owl:Thing``);
- a predicate used in the file (an undeclared one: declared properties are property entities);
- a class used only as an ``rdf:type`` object (instance data typed with an undeclared class);
- a metadata header or a datatype: a subject typed ``owl:Ontology``, ``skos:ConceptScheme``,
  ``rdfs:Datatype`` (so the 666 ``skos:Concept``\\ s of SILKNOW are its entities, of kind
  ``concept``, and INSPIRE's concept scheme is not one of its 34).

Blank nodes are never entities, but the OWL axioms routed through them (restrictions, unions,
intersections, lists) become relation triples between the named entities around them
(:func:`kgalign.io.owl.blank_node_edges`; rdflib-parsed formats, not the N-Triples fast path),
and ``rdf:type`` triples towards classes that are entities are relation triples too. Entities
without any label are reported in one warning (their IRI local names stand in for labels).

A triple ``(s, p, o)`` between two entities (``p`` not ``rdf:type``) is a relation triple; a
triple with a literal object is a label when ``p`` is a label predicate (see
:func:`is_label_predicate`), otherwise an attribute. Empty or whitespace-only literals are
dropped; language tags are lower-cased.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kgalign.errors import EmptyGraphError, InputError
from kgalign.io import owl
from kgalign.io._text import _LINE_BREAK, decode, line_of_offset, read_bytes, strip_bom
from kgalign.io.iri import iri_problem
from kgalign.kg import INDIVIDUAL, LABEL_PREDICATES, KnowledgeGraph
from kgalign.labels import clean_label, normalise_lang

log = logging.getLogger(__name__)

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SHACL = "http://www.w3.org/ns/shacl#"
RDF_TYPE = RDF + "type"

#: Namespaces whose terms are vocabulary, never entities.
VOCABULARY_NAMESPACES: tuple[str, ...] = (RDF, RDFS, OWL, SKOS, XSD, SHACL)

#: A subject typed with one of these is a class.
CLASS_TYPES = frozenset({OWL + "Class", RDFS + "Class", RDFS + "Datatype", OWL + "Restriction"})

#: A subject typed with one of these is a property or a metadata header, not an entity.
NON_ENTITY_TYPES = frozenset(
    {
        RDF + "Property",
        OWL + "ObjectProperty",
        OWL + "DatatypeProperty",
        OWL + "AnnotationProperty",
        OWL + "FunctionalProperty",
        OWL + "InverseFunctionalProperty",
        OWL + "TransitiveProperty",
        OWL + "SymmetricProperty",
        OWL + "Ontology",
        SKOS + "ConceptScheme",
    }
)

#: Local names that make an attribute predicate a label (case-insensitive), with their
#: priority offset after :data:`kgalign.kg.LABEL_PREDICATES`.
LABEL_LOCAL_NAMES = {"name": 0, "label": 0, "preflabel": 0, "title": 1}

#: RDF formats: canonical name -> rdflib parser name.
RDF_FORMATS = {"turtle": "turtle", "nt": "nt", "xml": "xml", "json-ld": "json-ld", "n3": "n3"}

_LOCAL = re.compile(r"[^/#:]*$")
_XML_DECL_ENCODING = re.compile(rb"^\s*<\?xml[^>]*\bencoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_XML_DECL_ENCODING_TEXT = re.compile(r"^(\s*<\?xml[^>]*\bencoding\s*=\s*[\"'])[A-Za-z0-9._-]+([\"'])")
_BADSYNTAX_LINE = re.compile(r"at line (\d+)")
_LOCATED = re.compile(r"^\S+?:(\d+):(\d+): (.*)$", re.DOTALL)

#: A triple in the form the KG builder reads: ``(subject IRI or None for a blank node,
#: predicate IRI, object IRI or None, (lexical form, language or None) for a literal or None)``.
Triple = tuple  # (str | None, str, str | None, tuple[str, str | None] | None)

#: Files larger than this (bytes) show a spinner while rdflib parses (on a terminal).
SPINNER_BYTES = 5_000_000


def is_label_predicate(predicate: str) -> int | None:
    """Label priority of ``predicate``, or None when it is not a label predicate.

    The priority is the index in :data:`kgalign.kg.LABEL_PREDICATES` (lower is preferred);
    any other predicate whose local name is ``name``, ``label``, ``prefLabel`` (priority
    ``len(LABEL_PREDICATES)``) or ``title`` (one more) is a label predicate too, so that
    ``http://a.ex/name`` in OpenEA attribute triples or ``dc:title`` give names.

    Parameters
    ----------
    predicate : str
        Predicate IRI.

    Returns
    -------
    int or None
    """
    try:
        return LABEL_PREDICATES.index(predicate)
    except ValueError:
        pass
    found = _LOCAL.search(predicate.rstrip("/#"))
    assert found is not None  # the pattern matches the empty string at the end
    local = found.group(0).lower()
    offset = LABEL_LOCAL_NAMES.get(local)
    return None if offset is None else len(LABEL_PREDICATES) + offset


def codecs_name(encoding: str) -> str:
    """Python's canonical name of a codec (``"UTF8"`` -> ``"utf-8"``); the input when unknown."""
    import codecs

    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding


def _is_vocabulary(iri: str) -> bool:
    return iri.startswith(VOCABULARY_NAMESPACES)


def _with_spinner(fn: Callable[[], Any], desc: str, enabled: bool) -> Any:
    """Run ``fn`` and, when ``enabled``, show an elapsed-time spinner on a terminal meanwhile."""
    if not enabled:
        return fn()
    from tqdm.auto import tqdm

    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the calling thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    with tqdm(desc=desc, bar_format="{desc}: {elapsed}", disable=None, leave=False) as bar:
        while thread.is_alive():
            thread.join(0.5)
            bar.refresh()
    if "error" in box:
        raise box["error"]
    return box["value"]


class _CollectInvalidIRIs(logging.Handler):
    """Collects rdflib's one-line-per-IRI "does not look like a valid URI" warnings.

    Used as a context manager around a parse: the messages are counted (one summary warning
    is logged afterwards) instead of flooding the log.
    """

    _suffix = " does not look like a valid URI"

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.examples: list[str] = []
        self._logger = logging.getLogger("rdflib.term")
        self._propagate = True

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.endswith(self._suffix) or self._suffix in msg:
            self.count += 1
            if len(self.examples) < 3:
                self.examples.append(msg.split(self._suffix)[0])
        else:  # anything else goes on as usual
            log.handle(record)

    def __enter__(self) -> _CollectInvalidIRIs:
        self._propagate = self._logger.propagate
        self._logger.addHandler(self)
        self._logger.propagate = False
        return self

    def __exit__(self, *exc) -> None:
        self._logger.removeHandler(self)
        self._logger.propagate = self._propagate


# ---------------------------------------------------------------------------- parse errors
_UCHAR = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)
_ECHAR = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape_one(m: re.Match) -> str:
    s = m.group(1)
    if s[0] in "uU" and len(s) > 1:
        return chr(int(s[1:], 16))
    return _ECHAR.get(s, "\\" + s)


def unescape_nt(text: str) -> str:
    """Decode N-Triples / Turtle string escapes (``\\uXXXX``, ``\\UXXXXXXXX``, ``\\n``, ``\\"`` ...).

    Unknown escapes are kept as written.
    """
    return _UCHAR.sub(_unescape_one, text) if "\\" in text else text


_NT_IRI = r"<([^<>\s]*)>"
_NT_BNODE = r"_:[A-Za-z0-9_\u00b7-\uffff](?:[A-Za-z0-9_.\-\u00b7-\uffff]*[A-Za-z0-9_\-\u00b7-\uffff])?"
_NT_LITERAL = r'"((?:[^"\\\n\r]|\\.)*)"(?:@([A-Za-z]+(?:-[A-Za-z0-9]+)*)|\^\^<([^<>\s]*)>)?'
_NT_LINE = re.compile(
    rf"[ \t]*(?:{_NT_IRI}|{_NT_BNODE})[ \t]*{_NT_IRI}[ \t]*(?:{_NT_IRI}|{_NT_BNODE}|{_NT_LITERAL})[ \t]*\.[ \t]*(?:#.*)?$"  # noqa: E501
)
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_terms(iris, literal: str | None, path, line: int | None) -> None:
    """Raise :class:`InputError` for an IRI that breaks RFC 3987 or a literal with a lone surrogate.

    One rule for every loader (:func:`kgalign.io.iri.iri_problem`): a space, a control
    character or one of ``<>"{}|\\^``` makes an IRI invalid, wherever it comes from.
    """
    for iri in iris:
        if iri is not None:
            why = iri_problem(iri)
            if why:
                shown = iri if len(iri) <= 80 else iri[:77] + "..."
                raise InputError(f"invalid IRI {shown!r}: {why}", path, line)
    if literal is not None and _SURROGATE.search(literal):
        raise InputError("a literal holds a lone surrogate escape (not a Unicode character)", path, line)


class _NTLineSink:
    """Keeps the last triple rdflib's N-Triples line parser produced."""

    def __init__(self) -> None:
        self.last: tuple[Any, Any, Any] | None = None

    def triple(self, s, p, o) -> None:
        self.last = (s, p, o)


def _nt_line_with_rdflib(parser, sink: _NTLineSink, line: str, no: int, path) -> Triple | None:
    """Parse one line with rdflib (for lines the fast reader does not accept) or raise; None: a comment."""
    from rdflib import Literal, URIRef
    from rdflib.plugins.parsers import ntriples

    parser.line = line
    sink.last = None
    try:
        parser.parseline()
    except (ntriples.ParseError, ValueError) as exc:
        reason = str(exc)
        if ntriples.r_tail.pattern in reason:
            reason = "statement does not end with ' .'"
        elif "Failed to eat" in reason:
            rest = reason.split(" at ", 1)[-1].strip()
            reason = f"unexpected text at {rest[:40]!r}" if rest else "unexpected end of line"
        snippet = line.strip()
        if len(snippet) > 80:
            snippet = snippet[:77] + "..."
        raise InputError(f"invalid N-Triples line ({reason}): {snippet}", path, no) from None
    if sink.last is None:  # a comment
        return None
    s_, p_, o_ = sink.last
    lit = (str(o_), o_.language) if isinstance(o_, Literal) else None
    return (str(s_) if isinstance(s_, URIRef) else None, str(p_), str(o_) if isinstance(o_, URIRef) else None, lit)


def read_ntriples(text: str, path: str | os.PathLike) -> list[Triple]:
    """Read N-Triples text into distinct :data:`Triple` tuples, in file order.

    A compiled regular expression reads the ordinary lines (about 20 times faster than
    rdflib's parser); a line it does not accept is handed to rdflib's N-Triples line parser,
    and a line neither accepts is an error naming its number. IRIs with characters N-Triples
    forbids (a space, controls, ``<>{}|^`"\\``) are an error naming the line (:func:`check_terms`).

    Parameters
    ----------
    text : str
        Decoded file contents (W3C N-Triples, RDF 1.1).
    path : str or os.PathLike
        The file, for messages.

    Returns
    -------
    list of Triple

    Raises
    ------
    InputError
        The first invalid line (number and reason).
    """
    from tqdm.auto import tqdm

    lines = _LINE_BREAK.split(text)
    out: dict[Triple, None] = {}
    match = _NT_LINE.match
    parser = sink = None
    rdflib_warnings = _CollectInvalidIRIs()
    show: dict[str, Any] = dict(disable=None if len(lines) >= 500_000 else True, leave=False, unit="line")
    for no, line in enumerate(tqdm(lines, desc=f"reading {Path(path).name}", **show), start=1):
        m = match(line)
        if m is None:
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if parser is None or sink is None:  # rdflib only for the lines the fast reader does not accept
                from rdflib.plugins.parsers import ntriples

                sink = _NTLineSink()
                # rdflib annotates ``sink`` with its own classes; any object with ``triple()`` works
                parser = ntriples.W3CNTriplesParser(sink=sink)  # type: ignore[arg-type]
            with rdflib_warnings:
                t = _nt_line_with_rdflib(parser, sink, line, no, path)
            if t is not None:
                check_terms(t[:3], t[3][0] if t[3] else None, path, no)
                out.setdefault(t)
            continue
        s_iri, p_iri, o_iri, value, lang, _dtype = m.groups()
        if "\\" in line:
            s_iri = s_iri and unescape_nt(s_iri)
            p_iri = unescape_nt(p_iri)
            o_iri = o_iri and unescape_nt(o_iri)
            value = value and unescape_nt(value)
        lit = None if value is None else (value, lang)
        t = (s_iri, p_iri, o_iri, lit)
        check_terms((s_iri, p_iri, o_iri), value if "\\" in line else None, path, no)
        out.setdefault(t)
    return list(out)


def _deep_line(text: str, limit: int = 100) -> int | None:
    """Line where brackets (``[`` ``(`` ``{``, outside strings) first nest ``limit`` deep."""
    depth, in_str, prev = 0, False, ""
    for pos, ch in enumerate(text):
        if ch == '"' and prev != "\\":
            in_str = not in_str
        elif not in_str:
            if ch in "[({":
                depth += 1
                if depth >= limit:
                    return line_of_offset(text, pos)
            elif ch in "])}":
                depth -= 1
        prev = ch
    return None


def _parse_error(exc: Exception, fmt: str, text: str, path: str | os.PathLike) -> InputError:
    """Turn an rdflib / parser exception into an InputError with the line when known."""
    from xml.sax import SAXParseException

    name = {"nt": "N-Triples", "turtle": "Turtle", "xml": "RDF/XML", "json-ld": "JSON-LD", "n3": "N3"}[fmt]
    if isinstance(exc, SAXParseException):
        return InputError(f"invalid {name}: {exc.getMessage()}", path, exc.getLineNumber())
    if isinstance(exc, json.JSONDecodeError):
        return InputError(f"invalid JSON: {exc.msg} (column {exc.colno})", path, exc.lineno)
    if isinstance(exc, RecursionError):
        return InputError(
            f"invalid {name}: nesting too deep for the parser (blank nodes or lists nested "
            f"more than a few hundred levels)",
            path,
            _deep_line(text),
        )
    line = None
    why = getattr(exc, "_why", None)
    located = _LOCATED.match(str(exc).strip())
    if located:  # rdflib's RDF/XML errors: "<system id>:<line>:<column>: <message>"
        return InputError(
            f"invalid {name}: {located.group(3)} (column {located.group(2)})", path, int(located.group(1))
        )
    src, pos = getattr(exc, "_str", None), getattr(exc, "_i", None)
    if isinstance(src, bytes) and isinstance(pos, int):
        line = line_of_offset(src.decode("utf-8", "replace"), pos)
    elif isinstance(lines := getattr(exc, "lines", None), int):
        line = lines + 1
    else:
        m = _BADSYNTAX_LINE.search(str(exc))
        line = int(m.group(1)) if m else None
    first = str(exc).strip().splitlines()
    message = why or (first[0] if first else type(exc).__name__)
    if line is not None and isinstance(src, bytes) and isinstance(pos, int) and "end of statement" in message:
        # the parser notices a missing " ." at the next token; when that token opens a new
        # line, the statement that lacks its end is the one on the line before
        full = src.decode("utf-8", "replace")
        line_start = full.rfind("\n", 0, pos) + 1
        if not full[line_start:pos].strip():
            prev = len(full[:line_start].rstrip())
            if prev > 0:
                line = line_of_offset(full, prev - 1)
                pos = prev - 1
                message += " (the statement on this line lacks its closing ' .')"
    if line is not None and src is not None and pos is not None:
        full = src.decode("utf-8", "replace")
        start = full.rfind("\n", 0, pos) + 1
        end = full.find("\n", pos)
        snippet = full[start : end if end >= 0 else None].strip()
        if len(snippet) > 80:
            snippet = snippet[:77] + "..."
        if snippet:
            message += f": {snippet}"
    return InputError(f"invalid {name} ({message})", path, line)


# ---------------------------------------------------------------------------- parsing
def parse_rdf(path: str | os.PathLike, fmt: str, encoding: str = "utf-8"):
    """Parse an RDF file into an rdflib Graph (``SimpleMemory`` store: deterministic order).

    Parameters
    ----------
    path : str or os.PathLike
        The file (``.gz`` is decompressed).
    fmt : {"turtle", "nt", "xml", "json-ld", "n3"}
    encoding : str
        Text encoding (a UTF-8 byte-order mark is stripped in every format). For RDF/XML left
        at UTF-8, an encoding named in the XML declaration is used (XML 1.0 section 4.3.3);
        another ``encoding`` given here overrides the declaration.

    Returns
    -------
    rdflib.Graph

    Raises
    ------
    InputError
        Undecodable bytes (line and byte named) or a syntax error (line named).
    """
    from urllib.error import URLError

    import rdflib

    raw = strip_bom(read_bytes(path))
    declared = _XML_DECL_ENCODING.match(raw[:300]) if fmt == "xml" else None
    user_encoding = codecs_name(encoding) != "utf-8"
    text = ""
    payload: bytes | str
    if declared is not None and not user_encoding and codecs_name(declared.group(1).decode()) != "utf-8":
        payload = raw  # the XML parser decodes by the declaration
    else:
        text = decode(raw, path, encoding)
        if fmt == "json-ld":
            try:
                json.loads(text)
            except json.JSONDecodeError as exc:
                raise _parse_error(exc, fmt, text, path) from None
        if fmt == "xml":
            if declared is not None:  # the text is now Unicode: declare what we hand over
                text = _XML_DECL_ENCODING_TEXT.sub(r"\1UTF-8\2", text, count=1)
            payload = text.encode("utf-8")
        else:
            payload = text

    # SimpleMemory iterates subjects in order of first appearance (the default store's order depends on string
    # hashing); JSON-LD needs a context-aware store, so its triples are sorted later instead.
    graph = rdflib.Graph(store="Memory" if fmt == "json-ld" else "SimpleMemory")
    size = len(raw)
    log.info("parsing %s (%s, %.1f MB)", path, fmt, size / 1e6)
    t0 = time.perf_counter()

    base = Path(path).resolve().as_uri()

    invalid_iris = _CollectInvalidIRIs()

    def run() -> None:
        with warnings.catch_warnings():
            # rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph internally
            warnings.simplefilter("ignore", DeprecationWarning)
            _parse(graph)

    def _parse(graph) -> None:
        if isinstance(payload, bytes):
            stream = io.BytesIO(payload)
            stream.name = os.fspath(path)  # rdflib's FileInputSource wants a name
            graph.parse(file=stream, format=RDF_FORMATS[fmt], publicID=base)
        else:
            graph.parse(data=payload, format=RDF_FORMATS[fmt], publicID=base)

    with invalid_iris:
        try:
            _with_spinner(run, f"parsing {Path(path).name}", size >= SPINNER_BYTES)
        except InputError:
            raise
        except Exception as exc:  # rdflib raises many kinds; never let one escape bare
            if not text and fmt == "xml":
                text = raw.decode("utf-8", "replace")
            if isinstance(exc, (URLError, OSError)) and fmt == "json-ld":
                raise InputError(
                    f"a remote JSON-LD @context could not be fetched ({exc}); kgalign works offline: "
                    "inline the @context in the file",
                    path,
                ) from None
            raise _parse_error(exc, fmt, text, path) from None
    _check_graph_terms(graph, text, path)
    log.info("parsed %d triples from %s in %.1f s", len(graph), path, time.perf_counter() - t0)
    return graph


def _check_graph_terms(graph, text: str, path) -> None:
    """:func:`check_terms` over a parsed graph; the line is the first one holding the bad term."""
    from rdflib import Literal, URIRef

    for term in graph.all_nodes() | set(graph.predicates()):
        try:
            if isinstance(term, URIRef):
                check_terms((str(term),), None, path, None)
            elif isinstance(term, Literal):
                check_terms((), str(term), path, None)
        except InputError as exc:
            line = None
            if isinstance(term, URIRef) and text:
                iri = str(term)
                esc = [
                    re.sub(r'[\x00-\x20<>"{}|\\^`\x7f-\x9f]', lambda m: f"\\u{ord(m.group(0)):04{c}}", iri)  # noqa: B023 (called at once)
                    for c in "Xx"
                ]  # as written with \u escapes
                bad = re.search(r'[\x00-\x20<>"{}|\\^`\x7f-\x9f\ud800-\udfff]', iri)
                head = iri[: bad.start()] if bad else ""
                for cand in (iri, *esc, head if len(head) > 12 else "", iri.rsplit("/", 1)[-1]):
                    pos = text.find(cand) if cand else -1
                    if pos >= 0:
                        line = line_of_offset(text, pos)
                        break
            elif text:
                m = re.search(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|[\ud800-\udfff]", text)
                line = line_of_offset(text, m.start()) if m else None
            raise InputError(exc.reason, path, line) from None


def rdflib_triples(graph) -> list[Triple]:
    """The triples of an rdflib Graph as :data:`Triple` tuples, in a deterministic order.

    The ``SimpleMemory`` store gives subjects in order of first appearance in the file (each
    subject's triples together); other stores iterate in an order that depends on string
    hashing, so their triples are sorted.
    """
    from rdflib import Literal, URIRef

    items = graph
    if graph.store.__class__.__name__ != "SimpleMemory":
        items = sorted(graph, key=lambda t: (str(t[0]), str(t[1]), str(t[2]), repr(t[2])))
    out = []
    for s, p, o in items:
        lit = (str(o), o.language) if isinstance(o, Literal) else None
        out.append((str(s) if isinstance(s, URIRef) else None, str(p), str(o) if isinstance(o, URIRef) else None, lit))
    return out


def graph_to_kg(graph, source: str = "") -> KnowledgeGraph:
    """Build a :class:`KnowledgeGraph` from an rdflib Graph (rules in the module docstring).

    Parameters
    ----------
    graph : rdflib.Graph
    source : str
        Path for messages.

    Returns
    -------
    KnowledgeGraph

    Raises
    ------
    EmptyGraphError
        When no entity is found.
    """
    from kgalign.io.owl import blank_node_edges

    return build_kg(rdflib_triples(graph), source, extra_edges=blank_node_edges(graph))


def build_kg(triples: list[Triple], source: str = "", extra_edges=None) -> KnowledgeGraph:
    """Build a :class:`KnowledgeGraph` from :data:`Triple` tuples (rules in the module docstring).

    Entity and relation positions follow first appearance in ``triples``.

    Parameters
    ----------
    triples : list of Triple
        Distinct triples.
    source : str
        Path for messages.
    extra_edges : iterable of (str, str, str), optional
        Further relation triples between named IRIs (kept when both ends are entities), e.g.
        the OWL axioms routed through blank nodes (:func:`kgalign.io.owl.blank_node_edges`).

    Returns
    -------
    KnowledgeGraph

    Raises
    ------
    EmptyGraphError
        When no entity is found.
    """
    from tqdm.auto import tqdm

    n_triples = len(triples)
    show: dict[str, Any] = dict(
        disable=None if n_triples >= 500_000 else True, leave=False, total=n_triples, unit="triple"
    )

    # pass 1: collect candidates, predicates, declared kinds and non-entities
    candidates: dict[str, None] = {}
    predicates: set[str] = set()
    type_objects: set[str] = set()
    schema = owl.SchemaDeclarations(NON_ENTITY_TYPES)  # kinds declared by the schema triples
    ontology = ""  # the first subject typed owl:Ontology
    for s_iri, p_iri, o_iri, _ in tqdm(triples, desc=f"reading {Path(source).name}", **show):
        predicates.add(p_iri)
        if s_iri is not None:
            candidates.setdefault(s_iri)
        if p_iri == RDF_TYPE:
            if o_iri is not None:
                type_objects.add(o_iri)
                if s_iri is not None:
                    schema.add_type(s_iri, o_iri)
                    if not ontology and o_iri == OWL + "Ontology":
                        ontology = s_iri
            continue
        if o_iri is not None:
            candidates.setdefault(o_iri)
        schema.add(s_iri, p_iri, o_iri)
    declared, non_entities = schema.finish(), schema.non_entities

    def ok(iri: str) -> bool:
        return not _is_vocabulary(iri) and iri not in non_entities

    kind_of: dict[str, int] = {}
    punned = 0
    for c in {**candidates, **dict.fromkeys(declared)}:
        if not ok(c):
            continue
        if c in declared:
            kind_of[c] = owl.decide_kind(declared[c])
            punned += len(declared[c]) > 1
        elif c not in predicates and c not in type_objects:
            kind_of[c] = INDIVIDUAL
    if punned:
        log.info(
            "%s: %d IRIs are declared with several kinds (punning); each keeps the first of "
            "class, object property, datatype property, annotation property, concept",
            source,
            punned,
        )
    entities = list(kind_of)
    if not entities:
        raise EmptyGraphError(
            "no entities found (no subject or object IRI other than classes, properties and RDF/OWL/SKOS vocabulary)",
            source or None,
        )

    # pass 2: labels, attributes and relation triples
    index = {iri: i for i, iri in enumerate(entities)}
    labels: list[list[tuple[str, str, int]]] = [[] for _ in entities]
    attributes: list[tuple[int, str, str, str]] = []
    rel_index: dict[str, int] = {}
    rel_rows: list[tuple[int, int, int]] = []
    label_prio: dict[str, int | None] = {}
    for s_iri, p_iri, o_iri, lit in triples:
        i = index.get(s_iri) if s_iri is not None else None
        if i is None:
            continue
        if lit is not None:
            raw_value, raw_lang = lit
            value = clean_label(raw_value)
            if value is None:
                continue  # empty or whitespace-only: missing
            lang = normalise_lang(raw_lang)
            if p_iri not in label_prio:
                label_prio[p_iri] = is_label_predicate(p_iri)
            prio = label_prio[p_iri]
            if prio is not None:
                labels[i].append((lang, value, prio))
            else:
                attributes.append((i, p_iri, raw_value.strip(), lang))
        elif o_iri is not None:
            j = index.get(o_iri)  # rdf:type counts only towards classes that are entities
            if j is not None:
                r = rel_index.setdefault(p_iri, len(rel_index))
                rel_rows.append((i, r, j))
    for s_iri, p_iri, o_iri in extra_edges or ():
        i, j = index.get(s_iri), index.get(o_iri)
        if i is not None and j is not None and i != j:
            r = rel_index.setdefault(p_iri, len(rel_index))
            rel_rows.append((i, r, j))
    kinds = np.asarray([kind_of[e] for e in entities], dtype=np.int8)
    _warn_unlabelled(entities, labels, source)
    return KnowledgeGraph(
        entities=entities,
        labels=labels,
        triples=np.asarray(rel_rows, dtype=np.int64).reshape(-1, 3),
        relations=list(rel_index),
        attributes=attributes,
        source=source,
        kinds=kinds,
        ontology=ontology,
    )


_OPAQUE = re.compile(r"^[^A-Za-z]*(?:[A-Za-z]{1,2}[^A-Za-z]+)*[A-Za-z]{0,2}$")


def _warn_unlabelled(entities: list[str], labels: list[list], source: str) -> None:
    """Log a warning when entities have no label (their IRI local names stand in for them)."""
    from kgalign.labels import local_name

    missing = [e for e, labs in zip(entities, labels) if not labs]
    if not missing:
        return
    opaque = sum(bool(_OPAQUE.match(local_name(e).replace(" ", ""))) for e in missing)
    numeric = [e for e in missing if not any(c.isalpha() for c in local_name(e))]
    msg = (
        f"{source or 'graph'}: {len(missing)} of {len(entities)} entities have no label; their IRI local names are used"
    )
    if numeric:
        msg += (
            f"; {len(numeric)} of them have no letter in their IRI (e.g. {local_name(numeric[0])!r}) and so "
            "no name: they are aligned by structure and attributes only"
        )
    elif opaque:
        msg += (
            f" ({opaque} of them look opaque, e.g. {local_name(missing[0])!r}: those are aligned by "
            "structure and attributes only)"
        )
    log.warning(msg)


def load_rdf(path: str | os.PathLike, fmt: str, encoding: str = "utf-8") -> KnowledgeGraph:
    """Load an RDF file as a :class:`KnowledgeGraph`.

    Parameters
    ----------
    path : str or os.PathLike
    fmt : {"turtle", "nt", "xml", "json-ld", "n3"}
    encoding : str

    Returns
    -------
    KnowledgeGraph

    Raises
    ------
    InputError
        Unreadable file, bad encoding or syntax (file and line named).
    EmptyGraphError
        No entity in the file.
    """
    if fmt == "nt":
        t0 = time.perf_counter()
        triples = read_ntriples(decode(read_bytes(path), path, encoding), path)
        log.info("read %d triples from %s in %.1f s", len(triples), path, time.perf_counter() - t0)
        return build_kg(triples, source=os.fspath(path))
    graph = parse_rdf(path, fmt, encoding)
    return graph_to_kg(graph, source=os.fspath(path))
