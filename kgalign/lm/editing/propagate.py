"""KG-level edit propagation: carry an edit of KG1 to KG2 through the entity alignment.

Each triple an edit removes or adds in KG1, ``(s, r, o)``, is mapped to ``(s2, r2, o2)``:
``s2`` and ``o2`` are the counterparts of ``s`` and ``o`` in the entity alignment (a
kgalign result, 1:1 links only), ``r2`` the partner of ``r`` in the relation alignment
induced by the entity alignment (:func:`kgalign.lm.probing.facts.align_relations`, its
best partner by support). A triple with a missing counterpart, an entity link whose
confidence is below ``min_confidence`` or a relation pair whose Jaccard confidence is below
``min_relation_confidence`` is *reported and not propagated*: nothing is guessed.

The result, :class:`KGPatch`, is written as a SPARQL 1.1 Update (``DELETE DATA`` /
``INSERT DATA``, W3C SPARQL 1.1 Update section 3.1) and as Turtle graphs of the removed and
added triples, for either side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from kgalign.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from kgalign.kg import KnowledgeGraph
    from kgalign.lm.editing.requests import ResolvedEdit
    from kgalign.lm.probing.facts import RelationPair

Triple = tuple[str, str, str]


@dataclass
class GraphPatch:
    """Triples removed from and added to one graph (IRIs), in edit order, without repeats."""

    removed: list[Triple] = field(default_factory=list)
    added: list[Triple] = field(default_factory=list)

    def _push(self, lst: list, t: Triple) -> None:
        if t not in lst:
            lst.append(t)

    def sparql(self) -> str:
        """The patch as a SPARQL 1.1 Update request (``DELETE DATA`` then ``INSERT DATA``).

        Returns an empty string when the patch is empty.
        """
        from rdflib import URIRef

        def block(ts):
            return "\n".join(f"  {URIRef(s).n3()} {URIRef(p).n3()} {URIRef(o).n3()} ." for s, p, o in ts)

        parts = []
        if self.removed:
            parts.append("DELETE DATA {\n" + block(self.removed) + "\n}")
        if self.added:
            parts.append("INSERT DATA {\n" + block(self.added) + "\n}")
        return " ;\n".join(parts) + ("\n" if parts else "")

    def graph(self, which: str):
        """``rdflib.Graph`` of the ``"removed"`` or ``"added"`` triples."""
        from rdflib import Graph, URIRef

        g = Graph()
        for s, p, o in getattr(self, which):
            g.add((URIRef(s), URIRef(p), URIRef(o)))
        return g

    def turtle(self, which: str) -> str:
        """The ``"removed"`` or ``"added"`` triples serialised as Turtle."""
        return self.graph(which).serialize(format="turtle")

    def apply(self, kg: KnowledgeGraph) -> KnowledgeGraph:
        """A copy of ``kg`` with the patch applied (new relations are appended).

        Raises
        ------
        InputError
            When an added triple names an entity that is not in ``kg``.
        """
        from kgalign.kg import KnowledgeGraph

        idx = kg.index
        rel = {r: k for k, r in enumerate(kg.relations)}
        relations = list(kg.relations)
        triples = [tuple(t) for t in kg.triples.tolist()]
        drop = set()
        for s, p, o in self.removed:
            if s in idx and o in idx and p in rel:
                drop.add((idx[s], rel[p], idx[o]))
        kept = [t for t in triples if t not in drop]
        present = set(kept)
        for s, p, o in self.added:
            for e in (s, o):
                if e not in idx:
                    raise InputError(
                        f"patch adds a triple with entity {e!r}, which is not in {kg.source or 'the graph'}"
                    )
            if p not in rel:
                rel[p] = len(relations)
                relations.append(p)
            t = (idx[s], rel[p], idx[o])
            if t not in present:
                kept.append(t)
                present.add(t)
        return KnowledgeGraph(
            entities=list(kg.entities),
            labels=[list(x) for x in kg.labels],
            triples=np.asarray(kept, dtype=np.int64).reshape(-1, 3),
            relations=relations,
            attributes=list(kg.attributes),
            ids=None if kg.ids is None else list(kg.ids),
            source=kg.source,
        )


@dataclass
class KGPatch:
    """The outcome of :func:`propagate_edits`.

    Attributes
    ----------
    source, target : GraphPatch
        Changes of KG1 (the edits themselves) and of KG2 (what propagated).
    mapped : list of dict
        Per propagated KG1 triple: ``edit`` (0-based edit index), ``action``
        (``remove``/``add``), the KG1 and KG2 triples and the confidences used.
    unresolved : list of dict
        Per KG1 triple that was *not* propagated: ``edit``, ``action``, ``triple`` and
        ``reason`` (missing subject/object/relation counterpart, low confidence).
    notes : list of dict
        Propagated edits that were already true in KG2 (no-op) or leave other objects of
        ``(s2, r2)`` in KG2 (a replace whose old object KG2 states differently).
    """

    source: GraphPatch
    target: GraphPatch
    mapped: list = field(default_factory=list)
    unresolved: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def stats(self) -> dict:
        """Counts for reports: triples removed/added per side, propagated, unresolved by reason."""
        reasons: dict[str, int] = {}
        for u in self.unresolved:
            key = u["reason"].split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
        return {
            "source_removed": len(self.source.removed),
            "source_added": len(self.source.added),
            "target_removed": len(self.target.removed),
            "target_added": len(self.target.added),
            "propagated": len(self.mapped),
            "unresolved": len(self.unresolved),
            "unresolved_by_reason": reasons,
            "notes": len(self.notes),
        }


def entity_map(links, scores=None) -> tuple[dict[int, int], dict[int, float]]:
    """1:1 part of an alignment: KG1 position -> KG2 position, and KG1 position -> confidence.

    Parameters
    ----------
    links : array-like of int, shape (k, 2)
    scores : array-like of float, shape (k,), optional
        Confidence per link (missing confidences count as 1.0).
    """
    arr = np.asarray(links, dtype=np.int64).reshape(-1, 2)
    sc = np.ones(len(arr)) if scores is None else np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(sc) != len(arr):
        raise InputError(f"alignment has {len(arr)} links but {len(sc)} scores")
    c1 = np.bincount(arr[:, 0]) if len(arr) else np.zeros(0, np.int64)
    c2 = np.bincount(arr[:, 1]) if len(arr) else np.zeros(0, np.int64)
    m12, conf = {}, {}
    for (a, b), s in zip(arr.tolist(), sc.tolist()):
        if c1[a] == 1 and c2[b] == 1:
            m12[a] = b
            conf[a] = float(s) if np.isfinite(s) else 0.0
    return m12, conf


def propagate_edits(
    edits: Sequence[ResolvedEdit],
    kg1: KnowledgeGraph,
    kg2: KnowledgeGraph,
    links,
    scores=None,
    *,
    min_confidence: float = 0.0,
    relation_pairs: Sequence[RelationPair] | None = None,
    min_relation_confidence: float = 0.05,
    min_support: int = 2,
) -> KGPatch:
    """Map KG1 edits to KG2 through an entity alignment and the relation alignment it induces.

    Parameters
    ----------
    edits : sequence of ResolvedEdit
        From :func:`kgalign.lm.editing.requests.resolve_edits` on ``kg1``.
    kg1, kg2 : KnowledgeGraph
    links : array-like of int, shape (k, 2)
        Entity alignment as positions ``(i in kg1, j in kg2)``: a kgalign result (gold links
        only for comparison). Entities aligned more than once are treated as unaligned.
    scores : array-like of float, shape (k,), optional
        Link confidences (a result's scores); links below ``min_confidence`` are not used.
    min_confidence : float
        Minimum entity-link confidence.
    relation_pairs : sequence of RelationPair, optional
        Relation alignment; default :func:`~kgalign.lm.probing.facts.align_relations` on
        ``links`` with ``min_support`` (and no confidence floor, which is applied here).
    min_relation_confidence : float
        Minimum Jaccard confidence of the relation pair used.
    min_support : int

    Returns
    -------
    KGPatch
    """
    from kgalign.lm.probing.facts import align_relations

    arr = np.asarray(links, dtype=np.int64).reshape(-1, 2)
    if relation_pairs is None:
        relation_pairs = align_relations(kg1, kg2, arr, min_support=min_support, min_confidence=0.0)
    best: dict[int, RelationPair] = {}
    for p in sorted(relation_pairs, key=lambda p: (-p.support, -p.confidence, p.iri1, p.iri2)):
        best.setdefault(p.rel1, p)
    m12, conf = entity_map(arr, scores)
    set2 = {tuple(t) for t in kg2.triples.tolist()}
    by_sr2: dict[tuple[int, int], set[int]] = {}
    for s, r, o in set2:
        by_sr2.setdefault((s, r), set()).add(o)
    src, tgt = GraphPatch(), GraphPatch()
    patch = KGPatch(src, tgt)
    e1, e2 = kg1.identifier, kg2.identifier

    for k, ed in enumerate(edits):
        for action, triples in (("remove", ed.removed), ("add", ed.added)):
            for s, r, o in triples:
                t1 = (e1(s), kg1.relations[r], e1(o))
                src._push(src.removed if action == "remove" else src.added, t1)
                reason = None
                for role, ent in (("subject", s), ("object", o)):
                    if ent not in m12:
                        reason = f"no counterpart: {role} {e1(ent)} is not aligned (1:1)"
                        break
                    if conf[ent] < min_confidence:
                        reason = (
                            f"low confidence: {role} {e1(ent)} -> {e2(m12[ent])} "
                            f"has confidence {conf[ent]:.3f} < {min_confidence}"
                        )
                        break
                pr = best.get(r)
                if reason is None:
                    if pr is None:
                        reason = f"no counterpart: relation {kg1.relations[r]} has no aligned relation in KG2"
                    elif pr.confidence < min_relation_confidence:
                        reason = (
                            f"low confidence: relation {pr.iri1} -> {pr.iri2} has Jaccard "
                            f"{pr.confidence:.3f} < {min_relation_confidence}"
                        )
                if reason is not None:
                    patch.unresolved.append({"edit": k, "action": action, "triple": t1, "reason": reason})
                    continue
                assert pr is not None  # a missing relation counterpart sets ``reason`` above
                s2, r2, o2 = m12[s], pr.rel2, m12[o]
                t2 = (e2(s2), kg2.relations[r2], e2(o2))
                row = {
                    "edit": k,
                    "action": action,
                    "kg1": t1,
                    "kg2": t2,
                    "confidence": min(conf[s], conf[o]),
                    "relation_confidence": pr.confidence,
                }
                present = (s2, r2, o2) in set2
                if action == "remove":
                    if present:
                        tgt._push(tgt.removed, t2)
                        set2.discard((s2, r2, o2))
                        by_sr2.get((s2, r2), set()).discard(o2)
                    else:
                        patch.notes.append({**row, "note": "already absent from KG2"})
                else:
                    if not present:
                        tgt._push(tgt.added, t2)
                        set2.add((s2, r2, o2))
                        by_sr2.setdefault((s2, r2), set()).add(o2)
                    else:
                        patch.notes.append({**row, "note": "already in KG2"})
                patch.mapped.append(row)
        if ed.request.op == "replace":
            subj2 = m12.get(ed.subject)
            pr = best.get(ed.relation)
            if subj2 is not None and pr is not None and ed.object in m12:
                others = sorted(by_sr2.get((subj2, pr.rel2), set()) - {m12[ed.object]})
                if others:
                    patch.notes.append(
                        {
                            "edit": k,
                            "note": "KG2 keeps other objects of the replaced pair "
                            "(not aligned to the replaced KG1 objects; not removed)",
                            "objects": [e2(x) for x in others],
                        }
                    )
    return patch


def kg_graph(kg: KnowledgeGraph):
    """The relation triples of ``kg`` as an ``rdflib.Graph`` (IRIs)."""
    from rdflib import Graph, URIRef

    g = Graph()
    for s, r, o in kg.triples.tolist():
        g.add((URIRef(kg.entities[s]), URIRef(kg.relations[r]), URIRef(kg.entities[o])))
    return g


def write_patch(patch: KGPatch, out_dir, *, force: bool = False, sides=("target", "source")) -> list:
    """Write ``<side>.sparql``, ``<side>_removed.ttl``, ``<side>_added.ttl`` and ``patch.json``.

    Files are written atomically; existing files raise
    :class:`~kgalign.errors.OutputExistsError` unless ``force`` (checked before any write).

    Returns
    -------
    list of pathlib.Path
    """
    from pathlib import Path

    from kgalign.io.atomic import atomic_write, check_writable, dump_json

    out = Path(out_dir)
    names = [f"{s}{ext}" for s in sides for ext in (".sparql", "_removed.ttl", "_added.ttl")] + ["patch.json"]
    for n in names:
        check_writable(out / n, force=force, create_parents=True)  # ``out`` is this function's folder
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for side in sides:
        gp = getattr(patch, side)
        for suffix, text in (
            (".sparql", gp.sparql()),
            ("_removed.ttl", gp.turtle("removed")),
            ("_added.ttl", gp.turtle("added")),
        ):
            with atomic_write(out / f"{side}{suffix}", force=True) as fh:
                fh.write(text)
            written.append(out / f"{side}{suffix}")
    dump_json(
        out / "patch.json",
        {"stats": patch.stats(), "mapped": patch.mapped, "unresolved": patch.unresolved, "notes": patch.notes},
        force=True,
    )
    written.append(out / "patch.json")
    return written


def write_kg(kg: KnowledgeGraph, path, *, force: bool = False):
    """Write the relation triples of ``kg`` as N-Triples (atomic; never overwrites without ``force``)."""
    from kgalign.io.atomic import atomic_write

    data = kg_graph(kg).serialize(format="nt")
    with atomic_write(path, force=force) as fh:
        fh.write(data)
    return path
