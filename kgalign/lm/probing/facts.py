"""Bilingual facts from two knowledge graphs and an entity alignment.

An entity alignment turns two monolingual KGs into one bilingual fact set: a relation
triple ``(s1, r1, o1)`` of KG1 whose subject and object are aligned to ``s2`` and ``o2`` of
KG2 is the same fact as ``(s2, r2, o2)`` when the relations ``r1`` and ``r2`` mean the same.
Which relations mean the same is itself derived from the entity alignment (relations whose
aligned subject-object pairs co-occur, as in the relation-alignment step of JAPE,
Sun et al. ISWC 2017, and of most entity-alignment papers that induce relation pairs).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from kgalign.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from kgalign.kg import KGPair, KnowledgeGraph


@dataclass(frozen=True)
class RelationPair:
    """Two relations (one per KG) whose aligned subject-object pairs co-occur.

    Attributes
    ----------
    rel1, rel2 : int
        Relation positions in ``kg1.relations`` and ``kg2.relations``.
    iri1, iri2 : str
        Their IRIs.
    support : int
        Number of aligned ``(subject, object)`` pairs linked by ``rel1`` in KG1 *and* by
        ``rel2`` in KG2.
    n1, n2 : int
        Number of aligned pairs linked by ``rel1`` in KG1 (resp. ``rel2`` in KG2): the pairs
        that could have co-occurred (both ends aligned).
    confidence : float
        Jaccard overlap of the two aligned pair sets, ``support / (n1 + n2 - support)``, in
        [0, 1]; 1 when the relations link exactly the same aligned pairs.
    conf12, conf21 : float
        Directional confidences ``support / n1`` and ``support / n2`` (the share of rel1's
        aligned pairs that rel2 also links, and the converse).
    """

    rel1: int
    rel2: int
    iri1: str
    iri2: str
    support: int
    n1: int
    n2: int
    confidence: float
    conf12: float
    conf21: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BilingualFact:
    """One fact named in both languages (entity positions in each KG).

    Attributes
    ----------
    s1, o1 : int
        Subject and object positions in KG1.
    s2, o2 : int
        Their aligned counterparts in KG2.
    rel1, rel2 : int
        Relation positions in KG1 and KG2 (an aligned :class:`RelationPair`).
    where : str
        ``"both"`` when the fact is stated in both KGs, ``"kg1"`` when only KG1 states it
        (KG2 lacks ``(s2, rel2, o2)``), ``"kg2"`` when only KG2 states it.
    """

    s1: int
    o1: int
    s2: int
    o2: int
    rel1: int
    rel2: int
    where: str


@dataclass
class BilingualFactSet:
    """The result of :func:`bilingual_facts`.

    Attributes
    ----------
    facts : list of BilingualFact
        Facts whose subject and object are aligned and whose relation is aligned; stated in
        both KGs (``where == "both"``) or in one of them only.
    relation_pairs : list of RelationPair
        The relation alignment used (after the support/confidence thresholds).
    kg1, kg2 : KnowledgeGraph
    """

    facts: list[BilingualFact]
    relation_pairs: list[RelationPair]
    kg1: KnowledgeGraph = field(repr=False)
    kg2: KnowledgeGraph = field(repr=False)

    def where(self, which: str) -> list[BilingualFact]:
        """Facts with ``where == which`` (``"both"``, ``"kg1"`` or ``"kg2"``)."""
        return [f for f in self.facts if f.where == which]

    def counts(self) -> dict[str, int]:
        """Number of facts per ``where`` class."""
        out = {"both": 0, "kg1": 0, "kg2": 0}
        for f in self.facts:
            out[f.where] += 1
        return out


def _links_array(links, kg1: KnowledgeGraph, kg2: KnowledgeGraph) -> np.ndarray:
    """Normalise an alignment to an int64 array (k, 2) of entity positions."""
    if links is None:
        raise InputError("no entity alignment given (the pair has no gold links; pass an alignment file)")
    if isinstance(links, np.ndarray) and links.dtype.kind in "iu":
        arr = links.astype(np.int64).reshape(-1, 2)
    else:
        rows = []
        for k, pair in enumerate(links):
            a, b = pair[0], pair[1]
            if isinstance(a, str):
                if a not in kg1.index:
                    raise InputError(f"alignment row {k + 1}: entity {a!r} is not in KG1 ({kg1.source or 'memory'})")
                a = kg1.index[a]
            if isinstance(b, str):
                if b not in kg2.index:
                    raise InputError(f"alignment row {k + 1}: entity {b!r} is not in KG2 ({kg2.source or 'memory'})")
                b = kg2.index[b]
            rows.append((int(a), int(b)))
        arr = np.asarray(rows, dtype=np.int64).reshape(-1, 2)
    if len(arr) and (
        arr[:, 0].min() < 0
        or arr[:, 0].max() >= kg1.n_entities
        or arr[:, 1].min() < 0
        or arr[:, 1].max() >= kg2.n_entities
    ):
        raise InputError("alignment holds entity positions outside the graphs")
    return arr


def _one_to_one(links: np.ndarray) -> tuple[dict[int, int], dict[int, int]]:
    """Keep the links whose both ends occur once (a 1:1 alignment), as two dicts."""
    c1 = np.bincount(links[:, 0]) if len(links) else np.zeros(0, np.int64)
    c2 = np.bincount(links[:, 1]) if len(links) else np.zeros(0, np.int64)
    m12: dict[int, int] = {}
    for a, b in links.tolist():
        if c1[a] == 1 and c2[b] == 1:
            m12[a] = b
    return m12, {b: a for a, b in m12.items()}


def align_relations(
    kg1: KnowledgeGraph,
    kg2: KnowledgeGraph,
    links,
    min_support: int = 2,
    min_confidence: float = 0.05,
) -> list[RelationPair]:
    """Relation alignment induced by an entity alignment.

    For every relation ``r1`` of KG1 and ``r2`` of KG2, count the aligned subject-object
    pairs they share: triples ``(s1, r1, o1)`` of KG1 and ``(s2, r2, o2)`` of KG2 with
    ``s1~s2`` and ``o1~o2`` in the alignment. Only links whose ends are each aligned once
    are used (a 1:1 alignment); direction matters (an inverse relation is not matched).

    Parameters
    ----------
    kg1, kg2 : KnowledgeGraph
    links : array-like (k, 2) of int, or iterable of (str, str)
        Entity alignment as positions ``(i in kg1, j in kg2)`` or as IRIs/ids.
    min_support : int
        Keep pairs with at least this many shared aligned pairs.
    min_confidence : float
        Keep pairs whose Jaccard confidence is at least this (0 keeps all).

    Returns
    -------
    list of RelationPair
        Sorted by decreasing support, then confidence, then IRIs (deterministic).

    Raises
    ------
    InputError
        When ``links`` is missing or names an entity that is not in the graphs.
    """
    arr = _links_array(links, kg1, kg2)
    m12, _ = _one_to_one(arr)
    # KG2: aligned (s2, o2) -> relations
    pairs2: dict[tuple[int, int], set[int]] = defaultdict(set)
    n2: dict[int, set[tuple[int, int]]] = defaultdict(set)
    aligned2 = set(m12.values())
    for s, r, o in kg2.triples.tolist():
        if s in aligned2 and o in aligned2:
            pairs2[(s, o)].add(r)
            n2[r].add((s, o))
    n1: dict[int, set[tuple[int, int]]] = defaultdict(set)
    support: dict[tuple[int, int], set[tuple[int, int]]] = defaultdict(set)
    for s, r, o in kg1.triples.tolist():
        s2, o2 = m12.get(s), m12.get(o)
        if s2 is None or o2 is None:
            continue
        n1[r].add((s2, o2))
        for r2 in pairs2.get((s2, o2), ()):
            support[(r, r2)].add((s2, o2))
    out = []
    for (r1, r2), shared in support.items():
        sup, a, b = len(shared), len(n1[r1]), len(n2[r2])
        conf = sup / (a + b - sup)
        if sup < min_support or conf < min_confidence:
            continue
        out.append(RelationPair(r1, r2, kg1.relations[r1], kg2.relations[r2], sup, a, b, conf, sup / a, sup / b))
    out.sort(key=lambda p: (-p.support, -p.confidence, p.iri1, p.iri2))
    return out


def bilingual_facts(
    kg1: KnowledgeGraph,
    kg2: KnowledgeGraph,
    links,
    relation_pairs: Sequence[RelationPair] | None = None,
    min_support: int = 2,
    min_confidence: float = 0.05,
    best_only: bool = True,
) -> BilingualFactSet:
    """Facts present in both KGs and facts present in only one of them.

    A fact is a triple whose subject and object are both aligned (so it can be named in
    both languages) and whose relation takes part in the relation alignment. It is stated
    in both KGs when the aligned triple exists on the other side.

    Parameters
    ----------
    kg1, kg2 : KnowledgeGraph
    links : array-like (k, 2) of int, or iterable of (str, str)
        The entity alignment (a kgalign result or a gold file, as positions or IRIs).
    relation_pairs : sequence of RelationPair, optional
        A relation alignment; computed with :func:`align_relations` when omitted.
    min_support, min_confidence : see :func:`align_relations`.
    best_only : bool
        Keep, for every relation of each side, only its best partner (highest support,
        then confidence), so that every triple gives at most one fact per direction.

    Returns
    -------
    BilingualFactSet
        ``facts`` sorted by (rel1, rel2, s1, o1); a fact stated in both KGs appears once.
    """
    arr = _links_array(links, kg1, kg2)
    if relation_pairs is None:
        relation_pairs = align_relations(kg1, kg2, arr, min_support, min_confidence)
    pairs = list(relation_pairs)
    if best_only:
        best1: dict[int, RelationPair] = {}
        best2: dict[int, RelationPair] = {}
        for p in pairs:  # already sorted by support desc
            best1.setdefault(p.rel1, p)
            best2.setdefault(p.rel2, p)
        pairs = [p for p in pairs if best1[p.rel1] is p and best2[p.rel2] is p]
    m12, m21 = _one_to_one(arr)
    by_r1: dict[int, list[int]] = defaultdict(list)
    by_r2: dict[int, list[int]] = defaultdict(list)
    for p in pairs:
        by_r1[p.rel1].append(p.rel2)
        by_r2[p.rel2].append(p.rel1)
    set1 = {tuple(t) for t in kg1.triples.tolist()}
    set2 = {tuple(t) for t in kg2.triples.tolist()}
    facts: dict[tuple[int, int, int, int], BilingualFact] = {}
    for s, r, o in sorted(set1):
        s2, o2 = m12.get(s), m12.get(o)
        if s2 is None or o2 is None:
            continue
        for r2 in by_r1.get(r, ()):
            where = "both" if (s2, r2, o2) in set2 else "kg1"
            facts[(r, r2, s, o)] = BilingualFact(s, o, s2, o2, r, r2, where)
    for s2, r2, o2 in sorted(set2):
        s, o = m21.get(s2), m21.get(o2)
        if s is None or o is None:
            continue
        for r in by_r2.get(r2, ()):
            if (s, r, o) not in set1:
                facts[(r, r2, s, o)] = BilingualFact(s, o, s2, o2, r, r2, "kg2")
    ordered = [facts[k] for k in sorted(facts)]
    return BilingualFactSet(ordered, pairs, kg1, kg2)


def pair_links(pair: KGPair, alignment=None) -> np.ndarray:
    """The alignment to use for ``pair``: ``alignment`` when given, else the gold links.

    Raises
    ------
    InputError
        When neither is available.
    """
    if alignment is not None:
        return _links_array(alignment, pair.kg1, pair.kg2)
    if pair.links is None or len(pair.links) == 0:
        raise InputError("the pair has no gold links; pass an alignment file (--alignment)")
    return _links_array(pair.links, pair.kg1, pair.kg2)


def iter_fact_rows(fs: BilingualFactSet) -> Iterable[dict]:
    """Facts as JSON-ready dicts naming entities and relations by IRI."""
    for f in fs.facts:
        yield {
            "subject1": fs.kg1.identifier(f.s1),
            "object1": fs.kg1.identifier(f.o1),
            "relation1": fs.kg1.relations[f.rel1],
            "subject2": fs.kg2.identifier(f.s2),
            "object2": fs.kg2.identifier(f.o2),
            "relation2": fs.kg2.relations[f.rel2],
            "where": f.where,
        }
