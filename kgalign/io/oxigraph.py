"""Streaming RDF loader for large files: pyoxigraph's native (Rust) parser into compact arrays.

The rdflib path (:mod:`kgalign.io.rdf`) holds every triple as rdflib objects (about 1-2 kB
each); this path streams the triples of an N-Triples, Turtle or RDF/XML file from
``pyoxigraph.parse`` (Oxigraph, https://github.com/oxigraph/oxigraph, RDF 1.1 parsers) and
keeps only

- one table of distinct IRIs and blank nodes and one of distinct literals (``dict``), and
- three ``int32``/``int64`` arrays of term codes, one row per triple,

so memory grows with the number of distinct terms plus 16 bytes per triple. The
:class:`~kgalign.kg.KnowledgeGraph` is then built by the same rules as the rdflib path
(:func:`kgalign.io.rdf.build_kg`, kinds from :mod:`kgalign.io.owl`), from the arrays, in the
same triple order (file order for N-Triples; rdflib's ``SimpleMemory`` order, subjects by
first appearance, for Turtle and RDF/XML), so entities, labels, kinds and relation triples
are the same as rdflib's. ``tests/test_io_oxigraph.py`` checks this on every RDF file of the
test data and ``../shared/cases``.

Known difference: on *damaged* files with malformed IRIs (spaces, newlines or backslashes
inside ``<...>``) the two parsers disagree, since pyoxigraph runs in lenient mode (it does not
validate IRIs, as the rdflib path keeps ``{}|^`` IRIs with a warning): one may load what the
other rejects (3 of the randomly damaged files of ``tests/test_io.py`` in the whole-suite
differential run, ``KGALIGN_DIFF_OXIGRAPH=1``).

pyoxigraph is optional (``pip install kgalign[fast]``); :func:`kgalign.io.load_kg` picks this
engine with ``engine="oxigraph"``, or with ``engine="auto"`` for files of at least
:data:`AUTO_BYTES` when pyoxigraph is installed.
"""

from __future__ import annotations

import logging
import os
import re
import time
from array import array
from pathlib import Path

import numpy as np

from kgalign.errors import InputError
from kgalign.io._text import decode, read_bytes, strip_bom
from kgalign.kg import KnowledgeGraph

log = logging.getLogger(__name__)

__all__ = ["AUTO_BYTES", "FORMATS", "available", "load_oxigraph", "read_compact", "CompactTriples"]

#: ``engine="auto"`` uses pyoxigraph for files at least this large (bytes, before gunzip).
AUTO_BYTES = 16 * 2**20
#: kgalign format name -> pyoxigraph ``RdfFormat`` attribute.
FORMATS = {"nt": "N_TRIPLES", "turtle": "TURTLE", "xml": "RDF_XML"}
#: RDF/XML errors in files up to this size are located by the rdflib path (pyoxigraph gives no line).
_RELOCATE_BYTES = 64 * 2**20
_NAMES = {"nt": "N-Triples", "turtle": "Turtle", "xml": "RDF/XML"}
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def available() -> bool:
    """Whether pyoxigraph is installed."""
    try:
        import pyoxigraph  # noqa: F401
    except ImportError:
        return False
    return True


class CompactTriples:
    """Distinct triples as integer codes: the form :func:`kgalign.io.rdf.build_kg` reads.

    Attributes
    ----------
    terms : list of str
        IRIs and blank-node labels; ``is_bnode[c]`` tells which.
    is_bnode : ndarray of bool, shape (n_terms,)
    literals : list of (str, str or None)
        ``(lexical form, language tag or None)``.
    s, p : ndarray of int32, shape (m,)
        Term codes of subjects and predicates.
    o : ndarray of int64, shape (m,)
        Term code of the object, or ``-1 - literal code`` for a literal.

    Iterating yields :data:`kgalign.io.rdf.Triple` tuples (blank nodes as None), decoded on
    the fly, so the builder never holds all of them at once.
    """

    def __init__(self, terms, is_bnode, literals, s, p, o, rdf_type: int = -1):
        self.terms, self.is_bnode, self.literals = terms, is_bnode, literals
        self.s, self.p, self.o = s, p, o
        self.rdf_type = rdf_type  # code of rdf:type, -1 when absent

    def __len__(self) -> int:
        return len(self.s)

    def __iter__(self):
        terms, bn, lits = self.terms, self.is_bnode, self.literals
        for s, p, o in zip(self.s.tolist(), self.p.tolist(), self.o.tolist()):
            s_iri = None if bn[s] else terms[s]
            if o < 0:
                yield (s_iri, terms[p], None, lits[-1 - o])
            else:
                yield (s_iri, terms[p], None if bn[o] else terms[o], None)

    def blank_node_edges(self) -> list[tuple[str, str, str]]:
        """The edges of :func:`kgalign.io.owl.blank_node_edges`, computed from the codes."""
        from kgalign.io.owl import _LIST, RDF

        bn = self.is_bnode
        terms = self.terms
        rdf_type = self.rdf_type
        out_of: dict[int, list[tuple[int, int]]] = {}
        s_arr, p_arr, o_arr = self.s, self.p, self.o
        bsub = np.flatnonzero(bn[s_arr])
        for t in bsub.tolist():
            out_of.setdefault(int(s_arr[t]), []).append((int(p_arr[t]), int(o_arr[t])))
        edges: dict[tuple[str, str, str], None] = {}
        obj_is_bnode = np.zeros(len(o_arr), dtype=bool)
        nonlit = o_arr >= 0
        obj_is_bnode[nonlit] = bn[o_arr[nonlit]]
        starts = np.flatnonzero(~bn[s_arr] & obj_is_bnode & (p_arr != rdf_type))
        for t in starts.tolist():
            s, b = terms[int(s_arr[t])], int(o_arr[t])
            seen = {b}
            stack = [(b, terms[int(p_arr[t])])]
            while stack:
                node, via = stack.pop()
                for q, x in out_of.get(node, ()):
                    if q == rdf_type or x < 0:
                        continue
                    qs = terms[q]
                    step = via if qs in _LIST else qs
                    if not bn[x]:
                        if qs != RDF + "rest":
                            edges.setdefault((s, step, terms[x]))
                    elif x not in seen:
                        seen.add(x)
                        stack.append((x, step))
        return sorted(edges)


def _syntax_error(exc: BaseException, fmt: str, path, raw: bytes | None, encoding: str) -> InputError:
    """An InputError naming the file and line of a pyoxigraph parse error."""
    if raw is not None:  # undecodable bytes: the rdflib path's message (line and byte)
        decode(raw, path, encoding)
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    msg = re.sub(r"\s*\([^()]*, line \d+\)$", "", msg)  # pyoxigraph appends "(file, line N)"
    line = getattr(exc, "lineno", None)
    if fmt == "xml" and not isinstance(line, int):
        # pyoxigraph's RDF/XML errors carry no position: expat (as rdflib's SAX parser) finds the
        # line of a well-formedness error; an RDF-level error in a file of moderate size is
        # located by the rdflib path itself
        from xml.parsers import expat

        data = raw if raw is not None else strip_bom(read_bytes(path))
        try:
            expat.ParserCreate().Parse(data, True)
        except expat.ExpatError as err:
            return InputError(f"invalid RDF/XML: {expat.ErrorString(err.code)}", path, err.lineno)
        if len(data) <= _RELOCATE_BYTES:
            from kgalign.io.rdf import parse_rdf

            try:
                parse_rdf(path, "xml", encoding)
            except InputError as err:
                return err
    if fmt == "turtle" and isinstance(line, int) and path is not None:
        # pyoxigraph notices a missing " ." at the next token (often the next line); in a file of
        # moderate size the rdflib path names the statement that lacks it
        data = raw if raw is not None else strip_bom(read_bytes(path))
        if len(data) <= _RELOCATE_BYTES:
            from kgalign.io.rdf import parse_rdf

            try:
                parse_rdf(path, "turtle", encoding)
            except InputError as err:
                return err
    if isinstance(line, int) and line > 1 and fmt != "xml":
        # an error at the end of the input names the last line with content (as rdflib does)
        from kgalign.io._text import _LINE_BREAK

        text = decode(raw if raw is not None else strip_bom(read_bytes(path)), path, encoding)
        lines = _LINE_BREAK.split(text)
        if line > len(lines) or not "".join(lines[line - 1 :]).strip():
            line = max((i + 1 for i, ln in enumerate(lines[:line]) if ln.strip()), default=line)
    if fmt == "nt" and isinstance(line, int) and line > 0:
        # N-Triples is line-based: the rdflib path's line reader names the bad line exactly
        # (pyoxigraph reports a missing dot on the line after it)
        from kgalign.io._text import _LINE_BREAK
        from kgalign.io.rdf import read_ntriples

        text = decode(raw if raw is not None else strip_bom(read_bytes(path)), path, encoding)
        lines = _LINE_BREAK.split(text, maxsplit=line)[:line]
        first = max(0, line - 2)
        try:
            read_ntriples("\n".join(lines[first:line]), path)
        except InputError as err:
            return InputError(err.reason, path, None if err.line is None else err.line + first)
    return InputError(f"invalid {_NAMES[fmt]} ({msg})", path, line if isinstance(line, int) and line > 0 else None)


def _xml_as_utf8(p: Path, raw: bytes | None, encoding: str, utf8: bool) -> bytes | None:
    """RDF/XML bytes in UTF-8 with a matching declaration, as the rdflib path reads them: an
    encoding declared in the XML declaration wins when ``encoding`` is left at UTF-8 (XML 1.0
    section 4.3.3); text decoded here is declared UTF-8 again. None: stream the file as it is."""
    from kgalign.io.rdf import _XML_DECL_ENCODING, _XML_DECL_ENCODING_TEXT, codecs_name

    if utf8:
        head = raw[:300] if raw is not None else open(p, "rb").read(300)
        declared = _XML_DECL_ENCODING.match(strip_bom(head))
        if declared is None or codecs_name(declared.group(1).decode()) == "utf-8":
            return raw
        data = raw if raw is not None else strip_bom(read_bytes(p))
        text = decode(data, p, declared.group(1).decode())
    else:
        assert raw is not None  # the caller has read and re-encoded the file when not UTF-8
        text = raw.decode("utf-8")  # already decoded from ``encoding`` and re-encoded
    return _XML_DECL_ENCODING_TEXT.sub(r"\1UTF-8\2", text, count=1).encode("utf-8")


def read_compact(path: str | os.PathLike, fmt: str, encoding: str = "utf-8") -> CompactTriples:
    """Stream the triples of an RDF file into :class:`CompactTriples`.

    Parameters
    ----------
    path : str or os.PathLike
        N-Triples, Turtle or RDF/XML, optionally gzipped; relative IRIs resolve against the
        file's URI, as on the rdflib path.
    fmt : {"nt", "turtle", "xml"}
    encoding : str
        Text encoding; UTF-8 files (the common case, and the only encoding N-Triples allows)
        are streamed from disk, others are decoded in memory first.

    Returns
    -------
    CompactTriples
        Distinct triples in the rdflib path's order (see the module notes).

    Raises
    ------
    InputError
        Missing file, undecodable bytes, a syntax error (file and line named), or pyoxigraph
        missing.
    """
    try:
        import pyoxigraph as ox
    except ImportError as exc:
        raise InputError(
            "engine 'oxigraph' needs the optional package pyoxigraph (pip install kgalign[fast])", path
        ) from exc
    if fmt not in FORMATS:
        raise InputError(f"engine 'oxigraph' reads {', '.join(FORMATS)}, not {fmt!r}", path)
    p = Path(path)
    rdf_format = getattr(ox.RdfFormat, FORMATS[fmt])
    base = p.resolve().as_uri()
    utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
    raw: bytes | None = None
    if utf8 and p.suffix.lower() != ".gz" and p.is_file():
        with open(p, "rb") as fh:
            head = fh.read(3)
        if head == b"\xef\xbb\xbf":
            raw = strip_bom(read_bytes(p))
    else:
        raw = read_bytes(p)
        raw = strip_bom(raw)
        if not utf8:
            raw = decode(raw, p, encoding).encode("utf-8")
    if raw is None and not p.is_file():
        read_bytes(p)  # raises the rdflib path's message
    if fmt == "xml":
        raw = _xml_as_utf8(p, raw, encoding, utf8)

    t0 = time.perf_counter()
    codes: dict[str, int] = {}
    lit_codes: dict[tuple, int] = {}
    s_arr, p_arr, o_arr = array("i"), array("i"), array("q")
    NamedNode = ox.NamedNode

    Literal = ox.Literal
    s_append, p_append, o_append = s_arr.append, p_arr.append, o_arr.append
    term_code, lit_code = codes.setdefault, lit_codes.setdefault  # (key, next code) -> code
    last_s = last_p = None  # files often list a subject's triples together: skip the lookup
    cs = cp = 0
    try:
        if raw is None:
            stream = ox.parse(path=str(p), format=rdf_format, base_iri=base, lenient=True)
        else:
            stream = ox.parse(input=raw, format=rdf_format, base_iri=base, lenient=True)
        # terms are keyed by IRI, blank nodes by "_:" + id (an absolute IRI never starts so)
        for t in stream:
            subj, pred, o = t.subject, t.predicate, t.object
            if subj != last_s:
                last_s = subj
                cs = term_code(subj.value if type(subj) is NamedNode else "_:" + subj.value, len(codes))
            if pred != last_p:
                last_p = pred
                cp = term_code(pred.value, len(codes))
            s_append(cs)
            p_append(cp)
            to = type(o)
            if to is NamedNode:
                o_append(term_code(o.value, len(codes)))
            elif to is Literal:
                o_append(-1 - lit_code((o.value, o.language), len(lit_codes)))
            else:
                o_append(term_code("_:" + o.value, len(codes)))
    except SyntaxError as exc:
        bad = raw if raw is not None else read_bytes(p)
        raise _syntax_error(exc, fmt, p, bad if utf8 else None, encoding) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc}", p) from None

    s = np.frombuffer(s_arr, dtype=np.int32)
    pr = np.frombuffer(p_arr, dtype=np.int32)
    o = np.frombuffer(o_arr, dtype=np.int64)
    order = _distinct_in_order(s, pr, o, grouped=fmt != "nt")
    terms = list(codes)
    literals = [(v, lang or None) for v, lang in lit_codes]
    is_bnode = np.fromiter((k.startswith("_:") for k in terms), dtype=bool, count=len(terms))
    log.info(
        "read %d triples (%d distinct terms, %d literals) from %s with pyoxigraph in %.1f s",
        len(order),
        len(terms),
        len(literals),
        p,
        time.perf_counter() - t0,
    )
    return CompactTriples(
        terms, is_bnode, literals, s[order].copy(), pr[order].copy(), o[order].copy(), rdf_type=codes.get(_RDF_TYPE, -1)
    )


def _distinct_in_order(s: np.ndarray, p: np.ndarray, o: np.ndarray, *, grouped: bool) -> np.ndarray:
    """Positions of the distinct triples, in file order, or, with ``grouped``, in the order of
    rdflib's ``SimpleMemory`` store (subject by first appearance, then predicate by first
    appearance within the subject, then object by first appearance)."""
    m = len(s)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    # first occurrence of each distinct (s, p, o): a stable sort on two int64 keys (faster than
    # np.unique on a structured array), the first of each run has the smallest position
    spk = (s.astype(np.int64) << 32) | p.astype(np.int64)  # codes are >= 0
    srt = np.lexsort((o, spk))
    new = np.ones(m, dtype=bool)
    new[1:] = (spk[srt[1:]] != spk[srt[:-1]]) | (o[srt[1:]] != o[srt[:-1]])
    first = np.sort(srt[new])
    if not grouped:
        return first
    ss = s[first]
    _, s_first_idx, s_inv = np.unique(ss, return_index=True, return_inverse=True)
    _, sp_first_idx, sp_inv = np.unique(spk[first], return_index=True, return_inverse=True)  # (s, p) pairs
    order = np.lexsort((np.arange(len(first)), sp_first_idx[sp_inv.ravel()], s_first_idx[s_inv.ravel()]))
    return first[order]


def load_oxigraph(path: str | os.PathLike, fmt: str, encoding: str = "utf-8") -> KnowledgeGraph:
    """Load an N-Triples, Turtle or RDF/XML file with pyoxigraph (same result as the rdflib path).

    Parameters
    ----------
    path : str or os.PathLike
    fmt : {"nt", "turtle", "xml"}
    encoding : str

    Returns
    -------
    KnowledgeGraph

    Raises
    ------
    InputError
        As :func:`read_compact`.
    EmptyGraphError
        No entity in the file.
    """
    compact = read_compact(path, fmt, encoding)
    edges = None if fmt == "nt" else compact.blank_node_edges()
    t0 = time.perf_counter()
    kg = build_compact(compact, source=os.fspath(path), extra_edges=edges)
    log.info("built %r in %.1f s", kg, time.perf_counter() - t0)
    return kg


def build_compact(ct: CompactTriples, source: str = "", extra_edges=None) -> KnowledgeGraph:
    """:func:`kgalign.io.rdf.build_kg` on :class:`CompactTriples`, vectorised over the codes.

    The same rules give the same graph (entity order included): the candidates, predicates,
    rdf:type objects and relation triples are found with numpy on the code arrays; only the
    schema triples (declarations, class axioms, domains and ranges) and the literals are
    visited in Python.

    Raises
    ------
    EmptyGraphError
        When no entity is found.
    """
    from kgalign.errors import EmptyGraphError
    from kgalign.io import owl
    from kgalign.io.rdf import NON_ENTITY_TYPES, OWL, RDFS, _is_vocabulary, _warn_unlabelled, is_label_predicate
    from kgalign.kg import INDIVIDUAL
    from kgalign.labels import clean_label, normalise_lang

    terms, bn = ct.terms, ct.is_bnode
    S, P, obj = ct.s.astype(np.int64), ct.p.astype(np.int64), ct.o
    m, n_terms = len(S), len(terms)
    code_of = {t: c for c, t in enumerate(terms) if not bn[c]} if m else {}
    rdf_type = ct.rdf_type
    is_iri_obj = np.zeros(m, dtype=bool)
    nonlit = obj >= 0
    is_iri_obj[nonlit] = ~bn[obj[nonlit]]
    is_type = P == rdf_type

    # pass 1: candidates in order of first appearance (subject, then object of a non-type triple)
    s_named = ~bn[S]
    o_cand = is_iri_obj & ~is_type
    ev_code = np.concatenate([S[s_named], obj[o_cand]])
    ev_key = np.concatenate([2 * np.flatnonzero(s_named), 2 * np.flatnonzero(o_cand) + 1])
    first_key = np.full(n_terms, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_key, ev_code, ev_key)
    cand_codes = np.flatnonzero(first_key < np.iinfo(np.int64).max)
    cand_codes = cand_codes[np.argsort(first_key[cand_codes], kind="stable")]
    is_pred = np.zeros(n_terms, dtype=bool)
    is_pred[P] = True
    is_type_obj = np.zeros(n_terms, dtype=bool)
    is_type_obj[obj[is_type & is_iri_obj]] = True

    # the schema triples, in triple order, by build_kg's rules
    def codes(iris) -> set[int]:
        return {code_of[x] for x in iris if x in code_of}

    typed = (
        codes(owl.TYPE_KINDS)
        | codes(owl.UNTYPED_PROPERTY_TYPES)
        | codes(owl.NOT_ENTITY_TYPES)
        | codes(NON_ENTITY_TYPES)
    )
    schema_preds = (
        codes(owl.CLASS_AXIOMS) | codes(owl.DOMAIN_RANGE) | codes([OWL + "inverseOf", RDFS + "subPropertyOf"])
    )
    mask = np.isin(P, np.fromiter(schema_preds, dtype=np.int64, count=len(schema_preds)))
    if typed:
        mask |= is_type & np.isin(obj, np.fromiter(typed, dtype=np.int64, count=len(typed)))
    schema = owl.SchemaDeclarations(NON_ENTITY_TYPES)  # the same rules as build_kg
    for t in np.flatnonzero(mask).tolist():
        sc, pc, oc = int(S[t]), int(P[t]), int(obj[t])
        s_iri = None if bn[sc] else terms[sc]
        o_iri = None if oc < 0 or bn[oc] else terms[oc]
        if pc == rdf_type:
            if o_iri is not None and s_iri is not None:
                schema.add_type(s_iri, o_iri)
            continue
        schema.add(s_iri, terms[pc], o_iri)
    declared, non_entities = schema.finish(), schema.non_entities

    entities: list[str] = []
    kinds: list[int] = []
    punned = 0
    seen: set[str] = set()
    for c in cand_codes.tolist():
        iri = terms[c]
        seen.add(iri)
        if _is_vocabulary(iri) or iri in non_entities:
            continue
        if iri in declared:
            entities.append(iri)
            kinds.append(owl.decide_kind(declared[iri]))
            punned += len(declared[iri]) > 1
        elif not is_pred[c] and not is_type_obj[c]:
            entities.append(iri)
            kinds.append(INDIVIDUAL)
    for iri, ks in declared.items():
        if iri not in seen and not _is_vocabulary(iri) and iri not in non_entities:
            entities.append(iri)
            kinds.append(owl.decide_kind(ks))
            punned += len(ks) > 1
    if punned:
        log.info(
            "%s: %d IRIs are declared with several kinds (punning); each keeps the first of "
            "class, object property, datatype property, annotation property, concept",
            source,
            punned,
        )
    if not entities:
        raise EmptyGraphError(
            "no entities found (no subject or object IRI other than classes, properties and RDF/OWL/SKOS vocabulary)",
            source or None,
        )

    # pass 2: labels and attributes (literal triples), relation triples (vectorised)
    pos = np.full(n_terms, -1, dtype=np.int64)
    pos[np.fromiter((code_of[e] for e in entities), dtype=np.int64, count=len(entities))] = np.arange(len(entities))
    si = pos[S]
    labels: list[list[tuple[str, str, int]]] = [[] for _ in entities]
    attributes: list[tuple[int, str, str, str]] = []
    lit_rows = np.flatnonzero((obj < 0) & (si >= 0))
    lits = ct.literals
    cleaned: dict[int, str | None] = {}
    prio_of: dict[int, int | None] = {}
    for i, pc, oc in zip(si[lit_rows].tolist(), P[lit_rows].tolist(), obj[lit_rows].tolist()):
        lc = -1 - oc
        if lc not in cleaned:
            cleaned[lc] = clean_label(lits[lc][0])
        value = cleaned[lc]
        if value is None:
            continue
        if pc not in prio_of:
            prio_of[pc] = is_label_predicate(terms[pc])
        prio = prio_of[pc]
        raw_value, raw_lang = lits[lc]
        lang = normalise_lang(raw_lang)
        if prio is not None:
            labels[i].append((lang, value, prio))
        else:
            attributes.append((i, terms[pc], raw_value.strip(), lang))
    oj = np.full(m, -1, dtype=np.int64)
    oj[nonlit] = pos[obj[nonlit]]
    rel = np.flatnonzero((si >= 0) & (oj >= 0))
    rel_p = P[rel]
    uniq, first = np.unique(rel_p, return_index=True)
    order = uniq[np.argsort(first, kind="stable")]
    rel_code = np.full(n_terms, -1, dtype=np.int64)
    rel_code[order] = np.arange(len(order))
    relations = [terms[c] for c in order.tolist()]
    rows = np.stack([si[rel], rel_code[rel_p], oj[rel]], axis=1) if len(rel) else np.zeros((0, 3), np.int64)
    extra = []
    if extra_edges:
        index = {e: i for i, e in enumerate(entities)}
        rel_index = {r: k for k, r in enumerate(relations)}
        for s_iri, p_iri, o_iri in extra_edges:
            i, j = index.get(s_iri), index.get(o_iri)
            if i is not None and j is not None and i != j:
                r = rel_index.setdefault(p_iri, len(rel_index))
                extra.append((i, r, j))
        relations = list(rel_index)
    if extra:
        rows = np.concatenate([rows, np.asarray(extra, dtype=np.int64)])
    _warn_unlabelled(entities, labels, source)
    return KnowledgeGraph(
        entities=entities,
        labels=labels,
        triples=rows,
        relations=relations,
        attributes=attributes,
        source=source,
        kinds=np.asarray(kinds, dtype=np.int8),
    )
