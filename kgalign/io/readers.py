"""Readers for gold links and predicted alignments.

Formats (``format=`` or detected from the name and contents):

``tsv``
    Tab-separated, ``#`` comments skipped. With a header, the columns are found by name
    (source: ``source``/``subject_id``/``entity1``/``id1``/...; target: ``target``/``object_id``/
    ``entity2``/``id2``/...; optional ``score``/``confidence``/``measure`` and ``rank``);
    without one, column 1 is the source, column 2 the target and a numeric column 3 the score.
    This covers kgalign's own TSV output (``source target score source_label target_label``),
    OpenEA ``ent_links`` and SILKNOW's ``gold_en_fr.tsv``.
``sssom``
    SSSOM/TSV (https://mapping-commons.github.io/sssom/): the ``#`` YAML metadata block's
    ``curie_map`` expands ``subject_id``/``object_id`` CURIEs to IRIs; rows with
    ``predicate_modifier`` = ``Not`` (negative mappings) are skipped.
``dbp15k``
    ``ref_ent_ids`` (``id1<TAB>id2`` integers) or a DBP15K directory holding it. When
    ``ent_ids_1``/``ent_ids_2`` lie beside it, pairs are given as IRIs and the integer ids
    become aliases, so predictions naming entities by id or by IRI both evaluate correctly.
``oaei``
    Alignment API RDF/XML (see :mod:`kgalign.io.oaei`).
``json``
    kgalign JSON (``{"pairs": [{"source", "target", "score"}, ...]}``), optionally with ranked
    candidates (``"candidates": {source: [target | [target, score] | {"target", "score"}, ...]}``).
    A bare list of pair objects or of ``[source, target(, score)]`` lists is accepted too.
``turtle`` / ``nt``
    ``owl:sameAs`` / ``skos:exactMatch`` / ``skos:closeMatch`` triples (kgalign's RDF outputs).

``xml``
    ``owl:sameAs`` triples in RDF/XML (an ``.rdf``/``.xml``/``.owl`` file without an OAEI
    ``<Alignment>``; ``rdf`` is an alias).

Every format is an entry of :mod:`kgalign.io.registry` (kind ``"reader"``); registering a new
one there makes :func:`read_alignment` and ``kgalign evaluate`` read it.

Ranked candidates, needed for Hits@k and MRR, come from JSON ``candidates`` or from a TSV
with a ``rank`` column or with several rows per source (ordered by rank, else by descending
score, else by file order).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kgalign.errors import InputError
from kgalign.io import registry

__all__ = [
    "Alignment",
    "detect_format",
    "read_alignment",
    "read_dbp15k_links",
    "read_json",
    "read_oaei_links",
    "read_rdf_links",
    "read_sssom",
    "read_tsv",
]


def __getattr__(name: str):
    if name == "READ_FORMATS":  # the reader names of the format registry, read when asked
        return registry.names("reader")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_SOURCE_COLS = ("source", "subject_id", "subject", "entity1", "source_id", "src", "left", "id1", "kg1", "e1", "ent1")
_TARGET_COLS = (
    "target",
    "object_id",
    "object",
    "entity2",
    "target_id",
    "tgt",
    "dst",
    "right",
    "id2",
    "kg2",
    "e2",
    "ent2",
)
_SCORE_COLS = ("score", "confidence", "measure", "similarity", "sim")
_SAME_AS = {
    "http://www.w3.org/2002/07/owl#sameAs",
    "http://www.w3.org/2004/02/skos/core#exactMatch",
    "http://www.w3.org/2004/02/skos/core#closeMatch",
}


@dataclass
class Alignment:
    """Entity pairs read from a file, with optional scores and ranked candidates.

    Attributes
    ----------
    pairs : list of (str, str)
        ``(source, target)`` entity names (IRIs or ids) in file order.
    scores : ndarray of float64, shape (len(pairs),) or None
        Confidence per pair when the file has one.
    relations : list of str or None
        Relation per pair (OAEI ``relation``, SSSOM ``predicate_id``) when the file has one.
    candidates : dict of str to list of str, or None
        Ranked candidate targets per source (best first).
    format : str
        The format that was read.
    path : str
    aliases1, aliases2 : dict of str to str
        Alternative names of source / target entities mapped to the names used in ``pairs``
        (DBP15K integer id -> IRI).
    """

    pairs: list[tuple[str, str]] = field(default_factory=list)
    scores: np.ndarray | None = None
    relations: list[str] | None = None
    candidates: dict[str, list[str]] | None = None
    format: str = ""
    path: str = ""
    aliases1: dict[str, str] = field(default_factory=dict)
    aliases2: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.pairs)

    def equivalences(self) -> Alignment:
        """The alignment restricted to equivalence pairs (relation ``=``, sameAs, exactMatch)."""
        if self.relations is None:
            return self
        keep = [i for i, r in enumerate(self.relations) if _is_equivalence(r)]
        return Alignment(
            pairs=[self.pairs[i] for i in keep],
            scores=None if self.scores is None else self.scores[keep],
            relations=[self.relations[i] for i in keep],
            candidates=self.candidates,
            format=self.format,
            path=self.path,
            aliases1=self.aliases1,
            aliases2=self.aliases2,
        )


def _is_equivalence(rel: str) -> bool:
    r = rel.strip()
    return r in ("", "=", "==", "equivalence", "owl:sameAs", "skos:exactMatch", "skos:closeMatch") or r in _SAME_AS


# ------------------------------------------------------------------------------------ detection
# formats whose suffixes (.tsv .txt .csv, .rdf .xml .owl) are shared with look-alikes: the
# first bytes decide (SSSOM metadata, integer id pairs; OAEI <Alignment> or owl:sameAs RDF/XML)
_TOLD_BY_CONTENT = ("tsv", "oaei")


def detect_format(path: str | os.PathLike) -> str:
    """Guess the format of ``path`` from its name and first bytes (see the module notes).

    Raises
    ------
    InputError
        When the file does not exist or the format cannot be told.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("no such file or directory", p)
    if p.is_dir():
        if (p / "ref_ent_ids").exists():
            return "dbp15k"
        if (p / "ent_links").exists():
            return "tsv"
        raise InputError("directory holds no ref_ent_ids (DBP15K) or ent_links (OpenEA) file", p)
    name = p.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.startswith("ref_ent_ids") or name in ("ref_pairs", "sup_ent_ids"):
        return "dbp15k"
    entry = registry.for_path("reader", name)
    if entry is not None and entry.name not in _TOLD_BY_CONTENT:
        return entry.name
    suffix = Path(name).suffix
    with open(p, "rb") as fh:
        head = fh.read(4096).decode("utf-8", "replace").lstrip("\ufeff")
    if suffix in (".rdf", ".xml", ".owl") or head.lstrip().startswith("<"):
        if "heterogeneity/alignment" in head or "<Alignment" in head or "<Cell" in head:
            return "oaei"
        return "xml"
    if "curie_map" in head or re.search(r"(^|\n)subject_id\t.*predicate_id", head):
        return "sssom"
    if suffix in (".tsv", ".txt", ".csv", "") or "\t" in head:
        lines = [ln for ln in head.splitlines()[:20] if ln.strip() and not ln.startswith("#")]
        if lines and all(re.fullmatch(r"\s*\d+\s+\d+\s*", ln) for ln in lines[:-1] or lines):
            return "dbp15k"
        return "tsv"
    raise InputError(
        f"cannot tell the alignment format of {p.name!r}; pass a format ({', '.join(registry.names('reader'))})", p
    )


def read_alignment(path: str | os.PathLike, *, format: str | None = None, encoding: str = "utf-8") -> Alignment:
    """Read gold links or predictions.

    Parameters
    ----------
    path : str or PathLike
        A file, or a DBP15K directory (its ``ref_ent_ids``).
    format : {"tsv", "sssom", "dbp15k", "oaei", "json", "turtle", "nt", "xml"}, optional
        Default: :func:`detect_format`. Aliases and formats registered in
        :mod:`kgalign.io.registry` are accepted.
    encoding : str
        Text encoding of text formats (a UTF-8 byte-order mark is always stripped).

    Returns
    -------
    Alignment

    Raises
    ------
    InputError
        For a missing or malformed file; the message names the file and line.
    """
    fmt = format or detect_format(path)
    try:
        entry = registry.get("reader", fmt)
    except InputError as exc:
        raise InputError(exc.reason, path) from None
    out = entry.load()(Path(path), entry.name, encoding)
    out.format, out.path = entry.name, os.fspath(path)
    return out


# ------------------------------------------------------------------------------------ text
def _lines(path: Path, encoding: str):
    from kgalign.io._text import iter_lines, read_text

    return iter_lines(read_text(path, encoding))


def _float(text: str, path, line, what="score") -> float:
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"{what} {text!r} is not a number", path, line) from None
    if v != v:
        raise InputError(f"{what} is NaN", path, line)
    return v


def _find_col(header: list[str], names) -> int | None:
    low = [h.strip().lower() for h in header]
    for n in names:
        if n in low:
            return low.index(n)
    return None


def _rows_to_alignment(rows, path, has_rank: bool) -> Alignment:
    """rows: list of (line, source, target, score|None, rank|None)."""
    pairs = [(s, t) for _, s, t, _, _ in rows]
    scores = None
    if rows and all(r[3] is not None for r in rows):
        scores = np.array([r[3] for r in rows], dtype=np.float64)
    candidates = None
    per_src: dict[str, list] = {}
    ranks_seen: set = set()
    for k, (no, s, t, sc, rk) in enumerate(rows):
        if has_rank:
            if rk is None or not (float(rk).is_integer() and rk >= 1):
                raise InputError(f"rank must be a whole number >= 1, got {rk!r}", path, no)
            if (s, rk) in ranks_seen:
                raise InputError(f"source {s!r} has two candidates at rank {int(rk)}", path, no)
            ranks_seen.add((s, rk))
        per_src.setdefault(s, []).append((rk, sc, k, t))
    if has_rank or any(len(v) > 1 for v in per_src.values()):
        candidates = {}
        for s, items in per_src.items():
            if has_rank:
                items.sort(key=lambda x: (x[0], x[2]))
            elif scores is not None:
                items.sort(key=lambda x: (-x[1], x[2]))
            seen, ranked = set(), []
            for *_, t in items:
                if t not in seen:
                    seen.add(t)
                    ranked.append(t)
            candidates[s] = ranked
        if has_rank:  # the pairs are the top-ranked candidates
            best = {src: min(x[0] for x in items) for src, items in per_src.items()}
            keep = [k for k, r in enumerate(rows) if r[4] == best[r[1]]]
            pairs = [pairs[k] for k in keep]
            scores = None if scores is None else scores[keep]
    return Alignment(pairs=pairs, scores=scores, candidates=candidates)


def read_tsv(path: Path, fmt: str, encoding: str) -> Alignment:
    """Tab-separated pairs (see the module notes); a directory means its ``ent_links``.

    Reader signature of :mod:`kgalign.io.registry`; raises InputError naming file and line.
    """
    if path.is_dir():
        path = path / "ent_links"
    rows = []
    src_col, tgt_col, score_col, rank_col = 0, 1, None, None
    header_seen = False
    for no, line in _lines(path, encoding):
        if line.startswith("#"):
            continue
        cells = line.rstrip("\n").split("\t")
        if not header_seen:
            header_seen = True
            s, t = _find_col(cells, _SOURCE_COLS), _find_col(cells, _TARGET_COLS)
            if s is not None and t is not None:
                src_col, tgt_col = s, t
                score_col = _find_col(cells, _SCORE_COLS)
                rank_col = _find_col(cells, ("rank",))
                continue
            if len(cells) >= 3:
                try:
                    float(cells[2])
                    score_col = 2
                except ValueError:
                    pass
        need = max(c for c in (src_col, tgt_col, score_col, rank_col) if c is not None) + 1
        if len(cells) < need:
            raise InputError(f"expected at least {need} tab-separated columns, found {len(cells)}", path, no)
        s, t = cells[src_col].strip(), cells[tgt_col].strip()
        if not s or not t:
            raise InputError("empty entity name", path, no)
        sc = _float(cells[score_col], path, no) if score_col is not None and cells[score_col].strip() else None
        rk = None
        if rank_col is not None:
            rk = _float(cells[rank_col], path, no, "rank")
        rows.append((no, s, t, sc, rk))
    out = _rows_to_alignment(rows, path, rank_col is not None)
    return out


def read_sssom(path: Path, fmt: str, encoding: str) -> Alignment:
    """SSSOM/TSV: CURIEs expanded by the ``curie_map``; ``predicate_modifier: Not`` rows skipped.

    Reader signature of :mod:`kgalign.io.registry`; raises InputError naming file and line.
    """
    import yaml

    meta_lines, rows, header = [], [], None
    for no, line in _lines(path, encoding):
        if header is None and line.startswith("#"):
            meta_lines.append(line[1:])
            continue
        cells = line.rstrip("\n").split("\t")
        if header is None:
            header = [c.strip() for c in cells]
            for col in ("subject_id", "object_id"):
                if col not in header:
                    raise InputError(f"SSSOM header lacks the column {col!r}", path, no)
            continue
        rows.append((no, cells))
    meta: dict[str, Any] = {}
    if meta_lines:
        try:
            meta = yaml.safe_load("\n".join(meta_lines)) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise InputError(
                f"SSSOM metadata block is not valid YAML: {exc}", path, None if mark is None else mark.line + 1
            ) from None
        if not isinstance(meta, dict):
            raise InputError("SSSOM metadata block is not a mapping", path, 1)
    curie_map = dict(meta.get("curie_map") or {})

    def expand(curie: str, no: int) -> str:
        curie = curie.strip()
        if "://" in curie or curie.startswith("urn:"):
            return curie
        if ":" in curie:
            prefix, local = curie.split(":", 1)
            if prefix in curie_map:
                return str(curie_map[prefix]) + local
        return curie

    if header is None:
        raise InputError("no SSSOM header row (subject_id, object_id, ...)", path)
    si, oi = header.index("subject_id"), header.index("object_id")
    pi = header.index("predicate_id") if "predicate_id" in header else None
    ci = header.index("confidence") if "confidence" in header else None
    mi = header.index("predicate_modifier") if "predicate_modifier" in header else None
    pairs, scores, rels = [], [], []
    for no, cells in rows:
        if len(cells) < len(header):
            cells = cells + [""] * (len(header) - len(cells))
        if mi is not None and cells[mi].strip().lower() == "not":
            continue
        s, o = expand(cells[si], no), expand(cells[oi], no)
        if not s or not o:
            raise InputError("empty subject_id or object_id", path, no)
        pairs.append((s, o))
        scores.append(_float(cells[ci], path, no, "confidence") if ci is not None and cells[ci].strip() else None)
        rels.append(expand(cells[pi], no) if pi is not None else "")
    sc = np.array(scores, dtype=np.float64) if scores and all(x is not None for x in scores) else None
    return Alignment(pairs=pairs, scores=sc, relations=rels if pi is not None else None)


def _read_id_map(path: Path, encoding: str) -> dict[str, str]:
    out = {}
    for no, line in _lines(path, encoding):
        cells = line.split("\t")
        if len(cells) < 2:
            raise InputError("expected '<id>\\t<IRI>'", path, no)
        out[cells[0].strip()] = cells[1].strip()
    return out


def read_dbp15k_links(path: Path, fmt: str, encoding: str) -> Alignment:
    """DBP15K ``ref_ent_ids`` (or its directory); IRIs when ``ent_ids_1/2`` lie beside it.

    Reader signature of :mod:`kgalign.io.registry`; raises InputError naming file and line.
    """
    if path.is_dir():
        path = path / "ref_ent_ids"
    pairs = []
    for no, line in _lines(path, encoding):
        cells = line.split()
        if len(cells) != 2 or not all(re.fullmatch(r"-?\d+", c) for c in cells):
            raise InputError("expected two integer ids '<id1>\\t<id2>'", path, no)
        pairs.append((cells[0], cells[1]))
    out = Alignment(pairs=pairs)
    e1, e2 = path.parent / "ent_ids_1", path.parent / "ent_ids_2"
    if e1.exists() and e2.exists():
        m1, m2 = _read_id_map(e1, encoding), _read_id_map(e2, encoding)
        for k, (a, b) in enumerate(pairs):
            if a not in m1:
                raise InputError(f"id {a} is not in ent_ids_1", path, k + 1)
            if b not in m2:
                raise InputError(f"id {b} is not in ent_ids_2", path, k + 1)
        out.pairs = [(m1[a], m2[b]) for a, b in pairs]
        out.aliases1, out.aliases2 = m1, m2
    return out


def read_oaei_links(path: Path, fmt: str, encoding: str) -> Alignment:
    """OAEI Alignment API RDF/XML (:func:`kgalign.io.oaei.read_oaei`) as an :class:`Alignment`.

    Reader signature of :mod:`kgalign.io.registry`; raises InputError naming file and line.
    """
    from kgalign.io.oaei import read_oaei

    al = read_oaei(path)
    return Alignment(
        pairs=[(c.entity1, c.entity2) for c in al.cells],
        scores=np.array([c.measure for c in al.cells], dtype=np.float64),
        relations=[c.relation for c in al.cells],
    )


def read_json(path: Path, fmt: str, encoding: str) -> Alignment:
    """kgalign JSON pairs and optional ranked ``candidates``.

    Reader signature of :mod:`kgalign.io.registry`; raises InputError naming file and line.
    """
    from kgalign.io._text import read_text

    text = read_text(path, encoding)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path, exc.lineno) from None
    items = data
    cands_raw = None
    if isinstance(data, dict):
        for key in ("pairs", "alignment", "alignments", "mappings", "links", "matches"):
            if key in data:
                items = data[key]
                break
        else:
            items = [] if "candidates" in data else None
        cands_raw = data.get("candidates")
    if not isinstance(items, list):
        raise InputError("expected a list of pairs or an object with a 'pairs' list", path)
    rows = []
    for k, it in enumerate(items):
        where = f"pair {k}"
        if isinstance(it, dict):
            s = next((it[c] for c in _SOURCE_COLS if c in it), None)
            t = next((it[c] for c in _TARGET_COLS if c in it), None)
            sc = next((it[c] for c in _SCORE_COLS if c in it), None)
        elif isinstance(it, (list, tuple)) and len(it) >= 2:
            s, t = it[0], it[1]
            sc = it[2] if len(it) > 2 else None
        else:
            raise InputError(f"{where}: expected an object or a [source, target] list", path)
        if s is None or t is None:
            raise InputError(f"{where}: no source/target", path)
        if sc is not None:
            if not isinstance(sc, (int, float)) or sc != sc:
                raise InputError(f"{where}: score {sc!r} is not a number", path)
        rows.append((k, str(s), str(t), None if sc is None else float(sc), None))
    out = _rows_to_alignment(rows, path, False) if rows else Alignment()
    if cands_raw is not None:
        out.candidates = _json_candidates(cands_raw, path)
    return out


def _json_candidates(raw, path) -> dict[str, list[str]]:
    if isinstance(raw, list):  # [{"source": s, "targets"/"candidates": [...]}]
        conv = {}
        for k, it in enumerate(raw):
            if not isinstance(it, dict) or "source" not in it:
                raise InputError(f"candidates entry {k}: expected an object with 'source'", path)
            conv[str(it["source"])] = it.get("targets", it.get("candidates", []))
        raw = conv
    if not isinstance(raw, dict):
        raise InputError("'candidates' must map each source to a ranked list of targets", path)
    out = {}
    for s, lst in raw.items():
        if not isinstance(lst, list):
            raise InputError(f"candidates of {s!r} must be a list", path)
        ranked, seen = [], set()
        for c in lst:
            t = c.get("target") if isinstance(c, dict) else c[0] if isinstance(c, (list, tuple)) else c
            if t is None:
                raise InputError(f"a candidate of {s!r} has no target", path)
            t = str(t)
            if t not in seen:
                seen.add(t)
                ranked.append(t)
        out[str(s)] = ranked
    return out


def read_rdf_links(path: Path, fmt: str, encoding: str) -> Alignment:
    """``owl:sameAs``/``skos:exactMatch``/``skos:closeMatch`` triples of an RDF file (``fmt``: turtle, nt, xml).

    Reader signature of :mod:`kgalign.io.registry`; raises InputError naming file and line.
    """
    from kgalign.io.rdf import parse_rdf

    graph = parse_rdf(path, fmt, encoding)
    pairs, rels = [], []
    for s, p, o in graph:
        if str(p) in _SAME_AS:
            pairs.append((str(s), str(o)))
            rels.append(str(p))
    if not pairs:
        raise InputError("no owl:sameAs / skos:exactMatch / skos:closeMatch triples found", path)
    order = sorted(range(len(pairs)), key=lambda k: pairs[k])  # rdflib stores are unordered
    return Alignment(pairs=[pairs[k] for k in order], relations=[rels[k] for k in order])
