"""Output formats for alignments: TSV, JSON, SSSOM TSV, owl:sameAs Turtle / N-Triples, OAEI.

Every writer goes through :func:`atomic_write`: the file appears complete or not at all, and
an existing file is never replaced unless ``force`` is true.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from kgalign.errors import InputError, OutputError, OutputExistsError

OWL_SAME_AS = "http://www.w3.org/2002/07/owl#sameAs"
SKOS_EXACT_MATCH = "http://www.w3.org/2004/02/skos/core#exactMatch"

#: suffix -> format name
SUFFIX_FORMATS = {
    ".tsv": "tsv",
    ".txt": "tsv",
    ".json": "json",
    ".ttl": "turtle",
    ".nt": "nt",
    ".rdf": "oaei",
    ".xml": "oaei",
}
FORMATS = ("tsv", "json", "sssom", "turtle", "nt", "oaei")


@contextmanager
def atomic_write(path: str | os.PathLike, *, force: bool = False, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temporary file next to ``path`` and move it into place on success.

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``force`` is false (checked before anything is written).
    """
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    # mkstemp creates 0600; give the file the permissions a plain open() would (0666 & ~umask)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None, newline="" if "b" not in mode else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def json_default(o):
    """``json.dump(default=...)`` for numpy scalars and arrays and paths.

    Raises
    ------
    TypeError
        For any other type (as ``json`` itself does).
    """
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def dump_json(path: str | os.PathLike, obj, *, force: bool = False) -> None:
    """Write ``obj`` as indented UTF-8 JSON to ``path`` through :func:`atomic_write`.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``force`` is False.
    """
    with atomic_write(path, force=force) as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=1, default=json_default)
        fh.write("\n")


def check_writable(path: str | os.PathLike, *, force: bool = False) -> None:
    """Fail early when ``path`` exists (without ``force``) or its folder cannot be written.

    Raises
    ------
    OutputExistsError, OutputError
    """
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(path)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: {parent} is not a folder")
    try:  # the real test: can a file be created there (permissions, read-only or special fs)?
        fd, probe = tempfile.mkstemp(prefix=".kgalign-probe.", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def output_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The output format for ``path``: ``fmt`` when given, else chosen by suffix.

    ``*.sssom.tsv`` is SSSOM; ``.tsv`` plain TSV; ``.json``; ``.ttl``; ``.nt``; ``.rdf``/``.xml`` OAEI.
    """
    if fmt:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise InputError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return fmt
    name = Path(path).name.lower()
    if name.endswith(".sssom.tsv"):
        return "sssom"
    suffix = Path(name).suffix
    if suffix not in SUFFIX_FORMATS:
        raise InputError(
            f"cannot tell the output format from {Path(path).name!r}; use a suffix "
            f"(.tsv .sssom.tsv .json .ttl .nt .rdf) or --output-format"
        )
    return SUFFIX_FORMATS[suffix]


def write_alignment(result, path: str | os.PathLike, *, fmt: str | None = None, force: bool = False,
                    predicate: str = OWL_SAME_AS) -> str:
    """Write the pairs of an :class:`~kgalign.aligner.result.AlignmentResult` to ``path``.

    Returns the format name used. Rows are ``(IRI1, IRI2, score)`` with labels.
    """
    fmt = output_format(path, fmt)
    rows = [
        (result.kg1.entities[i], result.kg2.entities[j], float(s), _label(result, 1, i), _label(result, 2, j))
        for i, j, s in zip(result.rows.tolist(), result.cols.tolist(), result.scores.tolist())
    ]
    writer = {
        "tsv": write_tsv,
        "json": write_json,
        "sssom": write_sssom,
        "turtle": write_turtle,
        "nt": write_ntriples,
        "oaei": _write_oaei,
    }[fmt]
    writer(path, rows, force=force, predicate=predicate)
    return fmt


def write_candidates(result, path: str | os.PathLike, k: int = 10, *, method: str = "reexchange",
                     force: bool = False) -> int:
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

    from kgalign.matching.topk import _check_k

    k = _check_k(k)
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
            fh.write(f"{_clean_cell(result.kg1.entities[src])}\t{_clean_cell(result.kg2.entities[tgt])}\t"
                     f"{rk + 1}\t{score:.6f}\t{_clean_cell(_label(result, 1, src))}\t"
                     f"{_clean_cell(_label(result, 2, tgt))}\n")
    return len(r_idx)


def _label(result, side: int, i: int) -> str:
    """Label of entity ``i`` in the language the run resolved for that side (``result.config``)."""
    kg = result.kg1 if side == 1 else result.kg2
    cfg = result.config
    lang = cfg.get(f"lang{side}") if isinstance(cfg, dict) else getattr(cfg, f"lang{side}", None)
    return kg.label(i, lang)


Row = Sequence  # (subject IRI, object IRI, confidence, subject label, object label)


def _clean_cell(text: str) -> str:
    return str(text).replace("\t", " ").replace("\r", " ").replace("\n", " ")


def write_tsv(path, rows: Iterable[Row], *, force: bool = False, predicate: str = OWL_SAME_AS) -> None:
    """Plain TSV with header ``source, target, score, source_label, target_label``."""
    with atomic_write(path, force=force) as fh:
        fh.write("source\ttarget\tscore\tsource_label\ttarget_label\n")
        for s, o, c, sl, ol in rows:
            fh.write(f"{_clean_cell(s)}\t{_clean_cell(o)}\t{c:.6f}\t{_clean_cell(sl)}\t{_clean_cell(ol)}\n")


def write_json(path, rows: Iterable[Row], *, force: bool = False, predicate: str = OWL_SAME_AS) -> None:
    """JSON: ``{"predicate": ..., "pairs": [{"source", "target", "score", "source_label", "target_label"}]}``."""
    data = {
        "tool": _tool(),
        "predicate": predicate,
        "pairs": [
            {"source": s, "target": o, "score": round(float(c), 6), "source_label": sl, "target_label": ol}
            for s, o, c, sl, ol in rows
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
# A CURIE reference is an irelative-ref (W3C CURIE syntax 1.0): IRI characters are fine, but
# not whitespace or the characters IRIs exclude.
_LOCAL_OK = re.compile(r'^[^\s<>"{}|\\^`]*$')


def _split_iri(iri: str) -> tuple[str, str]:
    for marker in ("/resource/",):
        pos = iri.find(marker)
        if pos >= 0:
            return iri[: pos + len(marker)], iri[pos + len(marker):]
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1], iri[cut + 1:]


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
            parts = [p for p in re.split(r"[^A-Za-z0-9]+", host) if p and p not in ("www", "org", "com", "net", "example")]
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
        """``prefix:local`` for ``iri``; expanding it (prefix IRI + local) gives ``iri`` back."""
        ns, local = _split_iri(iri)
        if not _LOCAL_OK.match(local):
            ns, local = iri, ""  # cannot be a CURIE reference: the whole IRI becomes a namespace
        return f"{self._prefix_for(ns)}:{local}"

    def items(self):
        return sorted((p, ns) for ns, p in self.prefixes.items())


def write_sssom(path, rows: Iterable[Row], *, force: bool = False, predicate: str = OWL_SAME_AS,
                mapping_set_id: str | None = None, license: str = "https://creativecommons.org/publicdomain/zero/1.0/") -> None:
    """SSSOM/TSV (https://mapping-commons.github.io/sssom/): metadata block + mapping rows.

    The metadata block carries ``curie_map``, ``mapping_set_id``, ``license``, ``mapping_tool``
    and ``mapping_date``; rows use CURIEs for ``subject_id``/``object_id``/``predicate_id``, the
    justification ``semapv:SemanticSimilarityThresholdMatching`` and ``confidence`` in [0, 1]
    (the fused score, a weighted mean of cosines, clipped to that range).
    """
    rows = list(rows)
    cm = CurieMap()
    for ns in ("http://www.w3.org/2002/07/owl#", "http://www.w3.org/2004/02/skos/core#", "https://w3id.org/semapv/vocab/"):
        cm._prefix_for(ns)
    body = []
    for s, o, c, sl, ol in rows:
        conf = min(1.0, max(0.0, float(c)))
        body.append((cm.compress(s), _clean_cell(sl), cm.compress(predicate), cm.compress(o), _clean_cell(ol),
                     "semapv:SemanticSimilarityThresholdMatching", f"{conf:.6f}", _tool()))
    if mapping_set_id is None:
        digest = hashlib.sha256("\n".join(f"{s}\t{o}" for s, o, *_ in rows).encode()).hexdigest()[:16]
        mapping_set_id = f"https://w3id.org/kgalign/mappings/{digest}"
    with atomic_write(path, force=force) as fh:
        fh.write("# curie_map:\n")
        for prefix, ns in cm.items():
            fh.write(f"#   {prefix}: {json.dumps(ns)}\n")
        fh.write(f"# mapping_set_id: {mapping_set_id}\n")
        fh.write(f"# license: {license}\n")
        fh.write(f"# mapping_tool: {_tool()}\n")
        fh.write(f"# mapping_date: {_dt.date.today().isoformat()}\n")
        fh.write("subject_id\tsubject_label\tpredicate_id\tobject_id\tobject_label\t"
                 "mapping_justification\tconfidence\tmapping_tool\n")
        for r in body:
            fh.write("\t".join(r) + "\n")


# ---------------------------------------------------------------------------- RDF
def _rdf_graph(rows: Iterable[Row], predicate: str):
    from rdflib import Graph, URIRef

    g = Graph()
    g.bind("owl", "http://www.w3.org/2002/07/owl#")
    g.bind("skos", "http://www.w3.org/2004/02/skos/core#")
    p = URIRef(predicate)
    for s, o, *_ in rows:
        g.add((URIRef(s), p, URIRef(o)))
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


def _write_oaei(path, rows, *, force: bool = False, predicate: str = OWL_SAME_AS) -> None:
    from kgalign.io.oaei import write_oaei

    write_oaei(path, [(s, o, c) for s, o, c, *_ in rows], force=force)
