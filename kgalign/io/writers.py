"""Output formats for alignments: TSV, JSON, SSSOM TSV, owl:sameAs Turtle / N-Triples, OAEI.

Every format is an entry of :mod:`kgalign.io.registry` (kind ``"writer"``):
:func:`write_alignment` picks it by name or by the output's suffix and calls it with
:class:`Row` objects. Every writer goes through :func:`kgalign.io.atomic.atomic_write`: the
file appears complete or not at all, and an existing file is never replaced unless ``force``.
Writers take the alignment result duck-typed (``kg1``, ``kg2``, ``rows``, ``cols``, ``scores``,
``config``; see :class:`kgalign.aligner.pipeline.AlignmentResult`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import inspect
import json
import os
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from kgalign.config import as_int
from kgalign.errors import InputError
from kgalign.io import registry
from kgalign.io.atomic import atomic_write
from kgalign.io.iri import iri_problem, iri_to_uri

OWL_SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"
SKOS_EXACT_MATCH = "http://www.w3.org/2004/02/skos/core#exactMatch"
#: Relation of a pair by the kind of its entities (names of :data:`kgalign.kg.KINDS`).
KIND_PREDICATES = {
    "individual": OWL_SAME_AS,
    "class": "http://www.w3.org/2002/07/owl#equivalentClass",
    "object_property": "http://www.w3.org/2002/07/owl#equivalentProperty",
    "datatype_property": "http://www.w3.org/2002/07/owl#equivalentProperty",
    "annotation_property": "http://www.w3.org/2002/07/owl#equivalentProperty",
    "concept": SKOS_EXACT_MATCH,
}


class Row(NamedTuple):
    """One output row: a correspondence with its score and labels.

    ``predicate`` is the relation IRI of this row; None means the writer's ``predicate``
    argument (``owl:sameAs`` by default). Writers read rows through :func:`as_rows`, so
    plain 5-tuples ``(source, target, score, source_label, target_label)`` work too.
    """

    source: str
    target: str
    score: float
    source_label: str = ""
    target_label: str = ""
    predicate: str | None = None


def as_rows(rows: Iterable[Sequence], predicate: str = OWL_SAME_AS) -> list[Row]:
    """``rows`` as :class:`Row` objects whose ``predicate`` is filled in (default ``predicate``)."""
    out = []
    for r in rows:
        r = r if isinstance(r, Row) else Row(*r)
        out.append(r if r.predicate else r._replace(predicate=predicate))
    return out


def __getattr__(name: str):
    if name == "FORMATS":  # the writer names of the format registry, read when asked
        return registry.names("writer")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def output_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The output format for ``path``: ``fmt`` when given, else chosen by suffix.

    ``*.sssom.tsv`` is SSSOM; ``.tsv``/``.txt`` plain TSV; ``.json``; ``.ttl``; ``.nt``;
    ``.rdf``/``.xml`` OAEI; and the suffixes of formats registered in :mod:`kgalign.io.registry`.

    Raises
    ------
    InputError
        An unknown ``fmt``, or no ``fmt`` and an unknown suffix (the known ones are listed).
    """
    if fmt:
        return registry.get("writer", fmt).name
    entry = registry.for_path("writer", path)
    if entry is None:
        raise InputError(
            f"cannot tell the output format from {os.path.basename(os.fspath(path))!r}; use a suffix "
            f"({' '.join(registry.suffixes('writer'))}) or --output-format"
        )
    return entry.name


def write_alignment(
    result, path: str | os.PathLike, *, fmt: str | None = None, force: bool = False, predicate: str | None = None
) -> str:
    """Write the pairs of an alignment result to ``path`` in the format of its suffix or ``fmt``.

    Parameters
    ----------
    result : AlignmentResult
        Duck-typed: ``kg1``, ``kg2`` (``entities``, ``label(i, lang)``), ``rows``, ``cols``,
        ``scores`` (parallel int/float arrays of the pairs), ``config`` (``lang1``, ``lang2``).
    path : str or os.PathLike
    fmt : str, optional
        A writer name or alias of :mod:`kgalign.io.registry` (default: by suffix,
        :func:`output_format`).
    force : bool
        Overwrite an existing file.
    predicate : str, optional
        Relation IRI of every row. None (default): each pair's relation by the kind of its
        entities (:data:`KIND_PREDICATES`): ``owl:sameAs`` (individuals),
        ``owl:equivalentClass`` (classes), ``owl:equivalentProperty`` (properties),
        ``skos:exactMatch`` (SKOS concepts).

    Returns
    -------
    str
        The format name used.

    Raises
    ------
    InputError
        Unknown format or suffix.
    OutputExistsError
        ``path`` exists and ``force`` is False.
    """
    entry = registry.get("writer", output_format(path, fmt))
    if predicate is None:
        from kgalign.kg import KINDS

        kinds = getattr(result.kg1, "kinds", None)
        per_row = (
            [KIND_PREDICATES[KINDS[k]] for k in kinds[result.rows].tolist()]
            if kinds is not None
            else [OWL_SAME_AS] * len(result.rows)
        )
    else:
        per_row = [predicate] * len(result.rows)
    rows = [
        Row(result.kg1.entities[i], result.kg2.entities[j], float(s), _label(result, 1, i), _label(result, 2, j), p)
        for i, j, s, p in zip(result.rows.tolist(), result.cols.tolist(), result.scores.tolist(), per_row)
    ]
    writer = entry.load()
    extra = {}
    if "metadata" in inspect.signature(writer).parameters:  # formats with a header (SSSOM, OAEI)
        extra["metadata"] = run_record(result)
    writer(path, rows, force=force, predicate=predicate or OWL_SAME_AS, **extra)
    return entry.name


def run_record(result) -> dict:
    """What a run chose, for the header of an output (issue 13: reproduce a run, judge it).

    Parameters
    ----------
    result : AlignmentResult
        Duck-typed: ``info`` (``kinds``, ``choice``, ``schema``, ``senses``), ``kg1``/``kg2``
        (``source``).

    Returns
    -------
    dict
        ``sources`` (the two inputs), ``ontologies`` (their ``owl:Ontology`` IRIs, ``""`` for
        one that declares none; only when one does), ``kinds`` (per kind aligned: sources, targets, pairs),
        ``side1``/``side2`` (translator, why, fallback and the resources it used), ``encoder``,
        ``schema`` (whether the schema stage ran, its agreement and withdrawals), ``senses``
        (the sense-overlap view's synonym setting and WordNet folder); keys a run does not have
        are left out.
    """
    info = getattr(result, "info", None) or {}
    out: dict = {"sources": [getattr(result.kg1, "source", "") or "", getattr(result.kg2, "source", "") or ""]}
    ontologies = [getattr(result.kg1, "ontology", "") or "", getattr(result.kg2, "ontology", "") or ""]
    if any(ontologies):
        out["ontologies"] = ontologies
    kinds = info.get("kinds")
    if isinstance(kinds, dict):
        out["kinds"] = {k: {x: v[x] for x in ("sources", "targets", "pairs") if x in v} for k, v in kinds.items()}
    choice = info.get("choice")
    if isinstance(choice, dict):
        for side in ("side1", "side2"):
            if isinstance(choice.get(side), dict):
                out[side] = {
                    k: choice[side][k]
                    for k in ("lang", "translator", "reason", "fallback", "resources")
                    if k in choice[side]
                }
        out["encoder"] = {"name": choice.get("encoder"), "reason": choice.get("encoder_reason")}
    if isinstance(info.get("schema"), dict):
        out["schema"] = info["schema"]
    if isinstance(info.get("senses"), dict):
        out["senses"] = info["senses"]
    return out


def write_candidates(
    result, path: str | os.PathLike, k: int = 10, *, method: str = "reexchange", force: bool = False
) -> int:
    """Write the top-``k`` ranked candidates of every source as TSV (for review and Hits@k).

    Columns: ``source, target, rank, score, source_label, target_label``; ``rank`` starts at 1
    and ``score`` is the fused similarity of the pair. ``kgalign evaluate`` reads the file as a
    ranked candidate list (Hits@k, MRR).

    Parameters
    ----------
    result : AlignmentResult
    path : str or os.PathLike
    k : int, default 10
        Candidates per source (fewer when a source has fewer candidates).
    method : {"reexchange", "similarity"}
        Ranking of :meth:`~kgalign.aligner.result.AlignmentResult.ranking`: the re-exchange
        (least-regret) list, whose first entry is the assigned partner (UDCEA, Jiang et al. 2023),
        or decreasing similarity.
    force : bool
        Overwrite an existing file.

    Returns
    -------
    int
        Number of rows written.

    Raises
    ------
    InputError
        ``k < 1`` or an unknown method.
    OutputExistsError
        ``path`` exists and ``force`` is False.
    """
    import scipy.sparse as sp

    k = as_int(k, "k")
    if k < 1:
        raise InputError(f"the number of candidates must be >= 1, got {k}")
    if method not in ("reexchange", "similarity"):
        raise InputError(f"unknown ranking method {method!r} (reexchange, similarity)")
    ranking = result.ranking(k, method=method)
    col_of = np.full(result.kg2.n_entities, -1, dtype=np.int64)
    col_of[result.targets] = np.arange(len(result.targets))
    r_idx, rank0 = np.nonzero(ranking >= 0)  # row-major: per source, in rank order
    c_idx = col_of[ranking[r_idx, rank0]]
    sim = result.similarity.tocsr() if sp.issparse(result.similarity) else result.similarity
    scores = np.asarray(sim[r_idx, c_idx], dtype=np.float64).ravel() if len(r_idx) else np.zeros(0)
    with atomic_write(path, force=force) as fh:
        fh.write("source\ttarget\trank\tscore\tsource_label\ttarget_label\n")
        for r, rk, c, score in zip(r_idx.tolist(), rank0.tolist(), c_idx.tolist(), scores.tolist()):
            src, tgt = int(result.sources[r]), int(result.targets[c])
            fh.write(
                f"{_clean_cell(result.kg1.entities[src])}\t{_clean_cell(result.kg2.entities[tgt])}\t"
                f"{rk + 1}\t{score:.6f}\t{_label_cell(_label(result, 1, src))}\t"
                f"{_label_cell(_label(result, 2, tgt))}\n"
            )
    return len(r_idx)


def _label(result, side: int, i: int) -> str:
    """Label of entity ``i`` in the language the run resolved for that side (``result.config``)."""
    kg = result.kg1 if side == 1 else result.kg2
    cfg = result.config
    lang = cfg.get(f"lang{side}") if isinstance(cfg, dict) else getattr(cfg, f"lang{side}", None)
    return kg.label(i, lang)


#: Longest label written to an output cell (characters); longer ones end with "…".
MAX_LABEL_CHARS = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _clean_cell(text: str) -> str:
    """One TSV cell: control characters, line and paragraph separators and lone surrogates as spaces."""
    text = str(text)
    return _CONTROL.sub(" ", text) if _CONTROL.search(text) else text


def _label_cell(text: str) -> str:
    """A label cell: :func:`_clean_cell`, cut to :data:`MAX_LABEL_CHARS` characters.

    A label that starts with ``"`` is quoted as CSV readers (Python's csv, pandas, so sssom-py)
    expect: otherwise they take the quote as the start of a quoted cell and merge cells.
    """
    text = str(text)
    if len(text) > MAX_LABEL_CHARS:
        text = text[: MAX_LABEL_CHARS - 1] + "…"
    text = _clean_cell(text)
    return '"' + text.replace('"', '""') + '"' if text.startswith('"') else text


def _label_json(text: str) -> str:
    text = str(text)
    if len(text) > MAX_LABEL_CHARS:
        text = text[: MAX_LABEL_CHARS - 1] + "…"
    return re.sub(r"[\ud800-\udfff]", "\ufffd", text)


def check_iris(rows: Iterable[Row]) -> None:
    """Raise :class:`InputError` naming the entity when a row holds an invalid IRI (RDF, SSSOM, OAEI).

    The loaders already refuse such IRIs (:func:`kgalign.io.iri.iri_problem`); this guards
    graphs built in Python.
    """
    for r in rows:
        for iri in (r.source, r.target, r.predicate):
            if not iri:
                continue
            why = iri_problem(iri)
            if why:
                raise InputError(f"entity {iri[:80]!r} cannot be written as an IRI: {why}")


def write_tsv(path, rows: Iterable[Row], *, force: bool = False, predicate: str = OWL_SAME_AS) -> None:
    """Plain TSV with header ``source, target, score, source_label, target_label, predicate``."""
    with atomic_write(path, force=force) as fh:
        fh.write("source\ttarget\tscore\tsource_label\ttarget_label\tpredicate\n")
        for s, o, c, sl, ol, p in as_rows(rows, predicate):
            fh.write(f"{_clean_cell(s)}\t{_clean_cell(o)}\t{c:.6f}\t{_label_cell(sl)}\t{_label_cell(ol)}\t{p}\n")


def write_json(path, rows: Iterable[Row], *, force: bool = False, predicate: str = OWL_SAME_AS) -> None:
    """JSON: ``{"predicate": ..., "pairs": [{"source", "target", "score", "source_label", "target_label",
    "predicate"}]}``.

    The top-level ``predicate`` is the relation every pair shares (None when the kinds differ).
    """
    rows = as_rows(rows, predicate)
    shared = {r.predicate for r in rows}
    data = {
        "tool": _tool(),
        "predicate": shared.pop() if len(shared) == 1 else (predicate if not rows else None),
        "pairs": [
            {
                "source": s,
                "target": o,
                "score": round(float(c), 6),
                "source_label": _label_json(sl),
                "target_label": _label_json(ol),
                "predicate": p,
            }
            for s, o, c, sl, ol, p in rows
        ],
    }
    with atomic_write(path, force=force) as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.write("\n")


def _tool() -> str:
    from kgalign import __version__

    return f"kgalign {__version__}"


# ---------------------------------------------------------------------------- SSSOM
_WELL_KNOWN = {
    "http://www.w3.org/2002/07/owl#": "owl",
    "http://www.w3.org/2004/02/skos/core#": "skos",
    "https://w3id.org/semapv/vocab/": "semapv",
    "http://www.w3.org/2000/01/rdf-schema#": "rdfs",
    "http://dbpedia.org/resource/": "dbr",
}
# A CURIE reference of an SSSOM entity expands to a URI (RFC 3986): after the RFC 3987 mapping
# (iri_to_uri) only ASCII is left; sssom-py / curies accept these characters in a reference.
_LOCAL_OK = re.compile(r"^[A-Za-z0-9_.~%!$&'()*+,;=@/-]*$")


def _split_iri(iri: str) -> tuple[str, str]:
    for marker in ("/resource/",):
        pos = iri.find(marker)
        if pos >= 0:
            return iri[: pos + len(marker)], iri[pos + len(marker) :]
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1], iri[cut + 1 :]


class CurieMap:
    """Assigns CURIE prefixes to IRI namespaces (SSSOM requires CURIEs for entity ids)."""

    def __init__(self) -> None:
        self.prefixes: dict[str, str] = {}  # namespace -> prefix

    def _prefix_for(self, ns: str) -> str:
        if ns in self.prefixes:
            return self.prefixes[ns]
        base = _WELL_KNOWN.get(ns)
        if base is None:
            m = re.match(r"^[a-z]+://([^/]+)", ns)
            host = m.group(1) if m else "ns"
            parts = [
                p for p in re.split(r"[^A-Za-z0-9]+", host) if p and p not in ("www", "org", "com", "net", "example")
            ]
            base = ("_".join(parts[:2]) if parts else "ns").lower()
            if not base[0].isalpha():
                base = "ns" + base
        prefix, n = base, 1
        while prefix in self.prefixes.values():
            n += 1
            prefix = f"{base}{n}"
        self.prefixes[ns] = prefix
        return prefix

    def compress(self, iri: str) -> str:
        """``prefix:local`` for ``iri``, as a URI (RFC 3987 section 3.1 mapping, :func:`iri_to_uri`).

        Expanding it (prefix IRI + local) gives ``iri_to_uri(iri)``; :func:`kgalign.io.iri.uri_to_iri`
        gives ``iri`` back (unless ``iri`` itself held percent-encoded UTF-8).
        """
        ns, local = _split_iri(iri_to_uri(iri))
        if not _LOCAL_OK.match(local):
            ns, local = iri, ""  # cannot be a CURIE reference: the whole IRI becomes a namespace
        return f"{self._prefix_for(ns)}:{local}"

    def items(self):
        return sorted((p, ns) for ns, p in self.prefixes.items())


def write_sssom(
    path,
    rows: Iterable[Row],
    *,
    force: bool = False,
    predicate: str = OWL_SAME_AS,
    mapping_set_id: str | None = None,
    license: str = "https://creativecommons.org/publicdomain/zero/1.0/",
    metadata: dict | None = None,
) -> None:
    """SSSOM/TSV (https://mapping-commons.github.io/sssom/): metadata block + mapping rows.

    The metadata block carries ``curie_map``, ``mapping_set_id``, ``license``, ``mapping_tool``
    and ``mapping_date``, and with ``metadata`` (:func:`run_record`: kinds, translator, encoder,
    fallback and resources per side, schema stage) the slot ``other`` holding it as JSON; rows
    use CURIEs for ``subject_id``/``object_id``/``predicate_id``, the justification
    ``semapv:SemanticSimilarityThresholdMatching`` and ``confidence`` in [0, 1] (the fused
    score, a weighted mean of cosines, clipped to that range).
    """
    rows = as_rows(rows, predicate)
    check_iris(rows)
    cm = CurieMap()
    for ns in (
        "http://www.w3.org/2002/07/owl#",
        "http://www.w3.org/2004/02/skos/core#",
        "https://w3id.org/semapv/vocab/",
    ):
        cm._prefix_for(ns)
    body = []
    for s, o, c, sl, ol, p in rows:
        assert p is not None  # as_rows fills the predicate in
        conf = min(1.0, max(0.0, float(c)))
        body.append(
            (
                cm.compress(s),
                _label_cell(sl),
                cm.compress(p),
                cm.compress(o),
                _label_cell(ol),
                "semapv:SemanticSimilarityThresholdMatching",
                f"{conf:.6f}",
                _tool(),
            )
        )
    if mapping_set_id is None:
        digest = hashlib.sha256("\n".join(f"{s}\t{o}" for s, o, *_ in rows).encode()).hexdigest()[:16]
        mapping_set_id = f"https://w3id.org/kgalign/mappings/{digest}"
    with atomic_write(path, force=force) as fh:
        fh.write("# curie_map:\n")
        for prefix, ns in cm.items():
            fh.write(f"#   {prefix}: {json.dumps(ns, ensure_ascii=False)}\n")
        fh.write(f"# mapping_set_id: {mapping_set_id}\n")
        fh.write(f"# license: {license}\n")
        fh.write(f"# mapping_tool: {_tool()}\n")
        fh.write(f"# mapping_date: {_dt.date.today().isoformat()}\n")
        if metadata:  # a JSON string is a YAML double-quoted scalar
            fh.write(f"# other: {json.dumps(json.dumps(metadata, ensure_ascii=False), ensure_ascii=False)}\n")
        fh.write(
            "subject_id\tsubject_label\tpredicate_id\tobject_id\tobject_label\t"
            "mapping_justification\tconfidence\tmapping_tool\n"
        )
        for r in body:
            fh.write("\t".join(r) + "\n")


# ---------------------------------------------------------------------------- RDF
def _rdf_graph(rows: Iterable[Row], predicate: str):
    from rdflib import Graph, URIRef

    rows = as_rows(rows, predicate)
    check_iris(rows)
    g = Graph()
    g.bind("owl", "http://www.w3.org/2002/07/owl#")
    g.bind("skos", "http://www.w3.org/2004/02/skos/core#")
    for r in rows:
        assert r.predicate is not None  # as_rows fills the predicate in
        g.add((URIRef(r.source), URIRef(r.predicate), URIRef(r.target)))
    return g


def write_turtle(path, rows: Iterable[Row], *, force: bool = False, predicate: str = OWL_SAME_AS) -> None:
    """``<s> owl:sameAs <o> .`` triples as Turtle (rdflib serialiser)."""
    data = _rdf_graph(rows, predicate).serialize(format="turtle")
    with atomic_write(path, force=force) as fh:
        fh.write(data)


def write_ntriples(path, rows: Iterable[Row], *, force: bool = False, predicate: str = OWL_SAME_AS) -> None:
    """``<s> owl:sameAs <o> .`` triples as N-Triples, sorted (rdflib serialiser)."""
    data = _rdf_graph(rows, predicate).serialize(format="nt")
    lines = sorted(line for line in data.splitlines() if line.strip())
    with atomic_write(path, force=force) as fh:
        fh.write("\n".join(lines) + ("\n" if lines else ""))
