"""Schema structure for matching vocabularies: colour refinement and matched-neighbour agreement.

Two translations of one ontology share their structure exactly (the same ``rdfs:subClassOf``
tree, the same ``rdfs:domain``/``rdfs:range`` links, the same restrictions), while two
different ontologies share little of it. This module measures that structure with two
language-independent signals and uses them to re-rank the name similarity of the entities of
ontologies (classes, properties, SKOS concepts and the individuals they type):

* **Colour refinement** (1-dimensional Weisfeiler-Leman; Weisfeiler and Leman 1968, as used in
  graph isomorphism testing, e.g. Grohe, Kersting, Mladenov, Schweitzer: "Color Refinement and
  its Applications", 2017) run on the disjoint union of the two graphs: every entity starts with
  the colour of its kind; each round an entity's new colour is its colour and the multiset of
  (relation, direction, colour) of its neighbours. Colours are shared between the graphs, so
  equal colours after ``r`` rounds mean equal ``r``-hop typed neighbourhoods as far as
  refinement can tell. :func:`colour_agreement` is the share of rounds on which two entities
  carry the same colour. Symmetric predicates (``owl:disjointWith``, ``owl:inverseOf``, ...) are
  undirected, since serialisations write either direction.
* **Matched-neighbour agreement** (in the manner of similarity flooding: Melnik, Garcia-Molina,
  Rahm: "Similarity Flooding", ICDE 2002): given a current 1-to-1 matching, the number of typed
  neighbours of ``a`` whose partner is a neighbour of ``b`` by the same relation in the same
  direction, divided by the geometric mean of their typed degrees.

:func:`refine_alignment` adds both to the fused similarity and re-solves the assignment a few
times; both terms are scaled by the **structural agreement** of the two graphs
(:func:`structural_agreement`: the mean share of entities whose colour is as frequent on both
sides, about 1 for two translations of one ontology, near 0 for different ontologies), so that
structure only speaks where it is shared (between different ontologies, the neighbours of a
matching that is mostly wrong would only add noise). Entities that refinement cannot tell apart
(automorphic leaves: sibling classes with the same links) are left to the names.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_OWL = "http://www.w3.org/2002/07/owl#"
_SKOS = "http://www.w3.org/2004/02/skos/core#"

#: Predicates whose direction carries no meaning (written either way by serialisers).
SYMMETRIC = frozenset(
    {
        _OWL + "disjointWith",
        _OWL + "equivalentClass",
        _OWL + "equivalentProperty",
        _OWL + "inverseOf",
        _OWL + "sameAs",
        _OWL + "differentFrom",
        _OWL + "propertyDisjointWith",
        _SKOS + "related",
        _SKOS + "exactMatch",
        _SKOS + "closeMatch",
    }
)
#: Predicates that make a graph an ontology for :func:`has_schema`.
SCHEMA_PREDICATES = frozenset(
    {
        _RDFS + "subClassOf",
        _RDFS + "subPropertyOf",
        _RDFS + "domain",
        _RDFS + "range",
        _OWL + "disjointWith",
        _OWL + "equivalentClass",
        _OWL + "inverseOf",
        _OWL + "onProperty",
        _SKOS + "broader",
        _SKOS + "narrower",
    }
)


def has_schema(kg) -> bool:
    """Whether ``kg`` holds schema triples (:data:`SCHEMA_PREDICATES`) between its entities."""
    if not len(kg.triples):
        return False
    used = np.unique(np.asarray(kg.triples, dtype=np.int64)[:, 1])
    return any(kg.relations[int(r)] in SCHEMA_PREDICATES for r in used)


def typed_adjacency(kg) -> dict[tuple[str, str], Any]:
    """One 0/1 adjacency matrix per relation and direction.

    Parameters
    ----------
    kg : KnowledgeGraph

    Returns
    -------
    dict of (str, str) to scipy.sparse.csr_matrix of float32, shape (n, n)
        Keys ``(relation IRI, "out")`` (head -> tail), ``(relation IRI, "in")`` (its transpose)
        or, for :data:`SYMMETRIC` relations, ``(relation IRI, "both")`` (symmetric).
    """
    import scipy.sparse as sp

    n = kg.n_entities
    tr = np.asarray(kg.triples, dtype=np.int64).reshape(-1, 3)
    out: dict[tuple[str, str], Any] = {}
    for r in np.unique(tr[:, 1]).tolist():
        sel = tr[tr[:, 1] == r]
        h, t = sel[:, 0], sel[:, 2]
        rel = kg.relations[r]
        if rel in SYMMETRIC:
            A = sp.csr_matrix((np.ones(2 * len(h), np.float32), (np.r_[h, t], np.r_[t, h])), shape=(n, n))
            A.data[:] = 1.0  # duplicates (a triple written both ways) count once
            out[(rel, "both")] = A
        else:
            A = sp.csr_matrix((np.ones(len(h), np.float32), (h, t)), shape=(n, n))
            A.data[:] = 1.0
            out[(rel, "out")] = A
            out[(rel, "in")] = A.T.tocsr()
    return out


def colour_refinement(kg1, kg2, max_rounds: int = 8, adjacency=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Joint colour refinement (1-WL) of two graphs, starting from the entity kinds.

    Parameters
    ----------
    kg1, kg2 : KnowledgeGraph
    max_rounds : int
        At most this many refinement rounds; stops earlier when the joint partition is stable.
        Relations (with their direction) that only one graph uses are left out.
    adjacency : (dict, dict), optional
        :func:`typed_adjacency` of the two graphs, when the caller has it already.

    Returns
    -------
    list of (ndarray of int64 (n1,), ndarray of int64 (n2,))
        The colours after round 0 (kinds), 1, 2, ...; colour ids are shared by the two graphs
        within a round.
    """
    adjs = list(adjacency) if adjacency is not None else [typed_adjacency(kg1), typed_adjacency(kg2)]
    shared = set(adjs[0]) & set(adjs[1])  # a relation one graph never uses cannot be compared
    nbs = []
    for kg, adj in zip((kg1, kg2), adjs):
        nb: list[list[tuple[tuple[str, str], int]]] = [[] for _ in range(kg.n_entities)]
        for key, A in adj.items():
            if key not in shared:
                continue
            coo = A.tocoo()
            for i, j in zip(coo.row.tolist(), coo.col.tolist()):
                nb[i].append((key, j))
        nbs.append(nb)
    ids: dict = {}
    cur = [[ids.setdefault(int(k), len(ids)) for k in kg.kinds.tolist()] for kg in (kg1, kg2)]
    history = [(np.asarray(cur[0], np.int64), np.asarray(cur[1], np.int64))]
    n_colours = len(ids)
    for _ in range(max_rounds):
        ids = {}
        cur = [
            [
                ids.setdefault((cur[g][v], tuple(sorted((key, cur[g][u]) for key, u in nbs[g][v]))), len(ids))
                for v in range(len(nbs[g]))
            ]
            for g in (0, 1)
        ]
        history.append((np.asarray(cur[0], np.int64), np.asarray(cur[1], np.int64)))
        if len(ids) == n_colours:  # refinement only splits: same count = stable
            break
        n_colours = len(ids)
    return history


def colour_agreement(history, rows: np.ndarray, cols: np.ndarray, unique: bool = False) -> np.ndarray:
    """Share of refinement rounds (1..R) on which entity ``rows[i]`` and ``cols[j]`` have one colour.

    Colours refine (equal after round r implies equal before), so this is the depth to which
    the two typed neighbourhoods agree, over R.

    Parameters
    ----------
    history : list of (ndarray, ndarray)
        From :func:`colour_refinement`.
    rows, cols : ndarray of int64
        Entity positions in the first and the second graph.
    unique : bool
        Add 1 where the two share a final colour that no other entity of either graph has
        (refinement singles them out as each other's only structural counterpart).

    Returns
    -------
    ndarray of float32, shape (len(rows), len(cols)), values in [0, 1] ([0, 2] with ``unique``)
    """
    rounds = history[1:] or history
    W = np.zeros((len(rows), len(cols)), np.float32)
    for c1, c2 in rounds:
        W += c1[rows][:, None] == c2[cols][None, :]
    W /= np.float32(len(rounds))
    if unique:
        c1, c2 = history[-1]
        u1, n1 = np.unique(c1, return_counts=True)
        u2, n2 = np.unique(c2, return_counts=True)
        single = np.intersect1d(u1[n1 == 1], u2[n2 == 1])
        a, b = c1[rows], c2[cols]
        W += (np.isin(a, single)[:, None] & (a[:, None] == b[None, :])).astype(np.float32)
    return W


def structural_agreement(history, rows: np.ndarray, cols: np.ndarray) -> float:
    """Mean, over rounds 1..R, of the share of entities whose colour is as frequent on both sides.

    About 1 for two graphs with the same structure (two translations of one ontology), near 0
    for graphs whose structures differ.

    Parameters
    ----------
    history : list of (ndarray, ndarray)
    rows, cols : ndarray of int64
        The entities considered on each side.

    Returns
    -------
    float in [0, 1]
    """
    rounds = history[1:] or history
    shares = []
    for c1, c2 in rounds:
        a, b = c1[rows], c2[cols]
        u1, n1 = np.unique(a, return_counts=True)
        u2, n2 = np.unique(b, return_counts=True)
        count2 = dict(zip(u2.tolist(), n2.tolist()))
        balanced = {c for c, n in zip(u1.tolist(), n1.tolist()) if count2.get(c) == n}
        m = np.isin(a, list(balanced)).sum() + np.isin(b, list(balanced)).sum()
        shares.append(m / max(len(a) + len(b), 1))
    return float(np.mean(shares)) if shares else 0.0


def neighbour_agreement(adj1, adj2, pairs: tuple[np.ndarray, np.ndarray], rows, cols, n1: int, n2: int):
    """Typed matched-neighbour agreement of every (rows[i], cols[j]) under a matching.

    ``sum_k |{u in N_k(a) : M(u) in N_k(b)}| / sqrt(deg_k(a) deg_k(b))`` over the relation
    keys ``k`` both graphs have (:func:`typed_adjacency`), divided by the number of keys on
    which ``a`` or ``b`` has a neighbour (so that the value lies in [0, 1]).

    Parameters
    ----------
    adj1, adj2 : dict
        :func:`typed_adjacency` of each graph.
    pairs : (ndarray of int64, ndarray of int64)
        The matching, as entity positions in the first and the second graph.
    rows, cols : ndarray of int64
        Entities to score.
    n1, n2 : int
        Entity counts of the graphs.

    Returns
    -------
    ndarray of float32, shape (len(rows), len(cols))
    """
    import scipy.sparse as sp

    P = sp.csr_matrix((np.ones(len(pairs[0]), np.float32), pairs), shape=(n1, n2))
    acc = None  # sum over keys of D1^-1/2 A1 P A2^T D2^-1/2, kept sparse
    has1, has2 = [], []  # per key: which rows / columns have a neighbour
    for key in sorted(set(adj1) | set(adj2)):
        A1, A2 = adj1.get(key), adj2.get(key)
        B1 = None if A1 is None else A1[rows]
        B2 = None if A2 is None else A2[cols]
        d1 = np.zeros(len(rows), np.float32) if B1 is None else np.asarray(B1.sum(axis=1)).ravel()
        d2 = np.zeros(len(cols), np.float32) if B2 is None else np.asarray(B2.sum(axis=1)).ravel()
        has1.append(d1 > 0)
        has2.append(d2 > 0)
        if B1 is None or B2 is None:
            continue
        L = sp.diags(1.0 / np.sqrt(np.maximum(d1, 1.0))) @ B1
        R = sp.diags(1.0 / np.sqrt(np.maximum(d2, 1.0))) @ B2
        term = L @ P @ R.T
        acc = term if acc is None else acc + term
    if acc is None:
        return np.zeros((len(rows), len(cols)), np.float32)
    # keys on which a or b has a neighbour: |K_a| + |K_b| - |K_a & K_b|
    I1 = np.stack(has1, axis=1).astype(np.float32)
    I2 = np.stack(has2, axis=1).astype(np.float32)
    active = I1.sum(axis=1)[:, None] + I2.sum(axis=1)[None, :] - I1 @ I2.T
    F = np.asarray(acc.toarray(), dtype=np.float32)
    return np.where(active > 0, F / np.maximum(active, 1.0), 0.0).astype(np.float32)


#: Size of the IRI-derived tie-break added before each solve (far below any score difference
#: that means something; float32 resolves about 6e-8 near 1).
TIE_SCALE = np.float32(1e-6)


def tie_breaker(kg1, kg2, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A pseudo-random value in [0, 1) per pair, from the two entities' IRIs only.

    Parameters
    ----------
    kg1, kg2 : KnowledgeGraph
    rows, cols : ndarray of int64
        Entity positions in each graph.

    Returns
    -------
    ndarray of float32, shape (len(rows), len(cols))
        The same value for a pair of IRIs whatever the order of the entities, so that exact
        ties are resolved independently of it.
    """
    import zlib

    h1 = np.array([zlib.crc32(kg1.entities[i].encode("utf-8")) for i in rows.tolist()], np.uint64)
    h2 = np.array([zlib.crc32(kg2.entities[j].encode("utf-8")) ^ 0x9E3779B9 for j in cols.tolist()], np.uint64)
    mixed = (h1[:, None] * np.uint64(2654435761) + h2[None, :] * np.uint64(40503)) & np.uint64(0xFFFFFFFF)
    mixed = ((mixed ^ (mixed >> np.uint64(15))) * np.uint64(2246822519)) & np.uint64(0xFFFFFFFF)
    return (mixed.astype(np.float64) / 2**32).astype(np.float32)


def refine_alignment(
    kg1,
    kg2,
    similarity: np.ndarray,
    sources: np.ndarray,
    targets: np.ndarray,
    assignment: tuple[np.ndarray, np.ndarray],
    solve,
    *,
    colours: float = 1.0,
    neighbours: float = 1.0,
    iterations: int = 5,
    max_rounds: int = 8,
    forbidden: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], dict]:
    """Re-rank a similarity with schema structure and re-solve the matching until it is stable.

    ``S = (similarity + q * (colours * colour_agreement + neighbours * neighbour_agreement(M))) / Z``
    with ``Z = 1 + q * (2 colours + neighbours)`` (a similarity in [-1, 1] stays in it),
    where ``q`` is :func:`structural_agreement`, the colour agreement counts a shared
    singleton final colour (``unique=True``) and ``M`` is the matching of the previous
    iteration (its pairs with a positive score), starting from the matching without ``M``.

    Parameters
    ----------
    kg1, kg2 : KnowledgeGraph
    similarity : ndarray of float32, shape (len(sources), len(targets))
        The fused similarity (cells of ``forbidden`` are never assigned).
    sources, targets : ndarray of int64
        Entity positions of its rows and columns.
    assignment : (ndarray of int64, ndarray of int64)
        The name-based matching, as rows and columns of ``similarity``; ``info["changed"]``
        counts the pairs that differ from it. The neighbour term starts from the matching of
        the similarity with the colour term (not from this one), each solve with a tie-break
        drawn from the IRIs (:func:`tie_breaker`), so that the result does not depend on the
        order of the entities.
    solve : callable
        ``solve(S) -> (rows, cols)``, a 1-to-1 assignment maximising ``S``.
    colours, neighbours : float
        Weights of the two structural terms (>= 0).
    iterations : int
        At most this many re-solves; stops when the matching no longer changes.
    max_rounds : int
        Colour refinement rounds (:func:`colour_refinement`).
    forbidden : ndarray of bool, shape like ``similarity``, optional
        Cells that must never be assigned (e.g. between two kinds); kept at the similarity's
        value and given no structural term.

    Returns
    -------
    (ndarray of float32, (ndarray, ndarray), dict)
        The re-ranked similarity, its matching, and ``info``: ``agreement`` (q), ``rounds``,
        ``iterations`` run, ``changed`` (pairs that differ from ``assignment``).

    Raises
    ------
    ValueError
        For a similarity whose shape does not match ``sources`` x ``targets``.
    """
    S0 = np.asarray(similarity, dtype=np.float32)
    if S0.shape != (len(sources), len(targets)):
        raise ValueError(f"similarity of shape {S0.shape} for {len(sources)} sources x {len(targets)} targets")
    adj1, adj2 = typed_adjacency(kg1), typed_adjacency(kg2)
    history = colour_refinement(kg1, kg2, max_rounds, adjacency=(adj1, adj2))
    q = structural_agreement(history, sources, targets)
    base = S0.copy()
    # the largest structural term is q * (2 colours + neighbours): divide by 1 + that, so that a
    # fused similarity in [-1, 1] stays in [-1, 1] (a threshold keeps its meaning)
    scale = 1.0 + q * (2.0 * colours + neighbours)
    if colours > 0 and q > 0:
        base += np.float32(colours * q) * colour_agreement(history, sources, targets, unique=True)
    # exact ties (two entities with the same label and the same links) are broken by the IRIs,
    # not by the order in which the entities come
    tie = TIE_SCALE * tie_breaker(kg1, kg2, sources, targets) if len(sources) and len(targets) else None
    first = set(zip(np.asarray(assignment[0]).tolist(), np.asarray(assignment[1]).tolist()))
    # the matching the neighbour term starts from: re-solved with the tie-break, so that it does
    # not inherit the order-dependent choice between tied candidates of the given one
    S = base / np.float32(scale)
    if forbidden is not None:
        S = np.where(forbidden, S0, S)
    r, c = solve(S + tie if tie is not None else S)
    S = base
    done = 0
    for step in range(1, max(iterations, 0) + 1):
        done = step
        S = base
        if neighbours > 0:
            keep = S[r, c] > 0 if len(r) else np.zeros(0, bool)
            F = neighbour_agreement(
                adj1, adj2, (sources[r[keep]], targets[c[keep]]), sources, targets, kg1.n_entities, kg2.n_entities
            )
            S = base + np.float32(neighbours * q) * F
        S = S / np.float32(scale)
        if forbidden is not None:
            S = np.where(forbidden, S0, S)
        r2, c2 = solve(S + tie if tie is not None else S)
        same = set(zip(r2.tolist(), c2.tolist())) == set(zip(r.tolist(), c.tolist()))
        r, c = r2, c2
        if same:
            break
    changed = len(set(zip(r.tolist(), c.tolist())) - first)
    info = {"agreement": round(q, 4), "rounds": len(history) - 1, "iterations": done, "changed": changed}
    log.info(
        "schema structure: agreement %.3f over %d refinement rounds, %d iteration(s), %d pair(s) changed",
        q,
        len(history) - 1,
        done,
        changed,
    )
    return S.astype(np.float32), (r, c), info


#: Predicates from a property to the classes of its domain and range (a union in a domain or
#: range reaches its member classes as ``owl:unionOf`` edges, :func:`kgalign.io.owl.blank_node_edges`).
DOMAIN_RANGE = frozenset({_RDFS + "domain", _RDFS + "range", _OWL + "unionOf"})


def _domains_ranges(kg) -> dict[int, set[int]]:
    from kgalign.kg import CLASS, DATATYPE_PROPERTY, OBJECT_PROPERTY

    out: dict[int, set[int]] = {}
    props = (OBJECT_PROPERTY, DATATYPE_PROPERTY)
    for h, r, t in np.asarray(kg.triples, dtype=np.int64).reshape(-1, 3).tolist():
        if kg.relations[r] in DOMAIN_RANGE and kg.kinds[h] in props and kg.kinds[t] == CLASS:
            out.setdefault(h, set()).add(t)
    return out


def unsupported_properties(kg1, kg2, rows: np.ndarray, cols: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Which matched property pairs no matched class pair of their domains and ranges supports.

    A correspondence between two properties is consistent with the class correspondences when
    a class of the first one's domain or range is matched to a class of the second one's (the
    property-consistency check of ontology matchers such as LogMap, Jimenez-Ruiz and Cuenca
    Grau, ISWC 2011, and AgreementMakerLight, Faria et al., OTM 2013). Between two different
    ontologies a property pair that shares only function words (``has member`` / ``has
    program``) and links unrelated classes fails it.

    Parameters
    ----------
    kg1, kg2 : KnowledgeGraph
    rows, cols : ndarray of int64, shape (p,)
        The matched pairs, as entity positions in each graph.
    keep : ndarray of bool, shape (p,)
        The pairs still kept; only their class pairs count as support.

    Returns
    -------
    ndarray of bool, shape (p,)
        True for a pair of properties (object or datatype) whose domains/ranges are known on
        both sides and contain no kept class pair; False for every other pair (a property
        without a declared domain or range is given the benefit of the doubt).
    """
    from kgalign.kg import CLASS

    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    dr1, dr2 = _domains_ranges(kg1), _domains_ranges(kg2)
    kept = zip(rows.tolist(), cols.tolist(), np.asarray(keep).tolist())
    matched = {(a, b) for a, b, k in kept if k and kg1.kinds[a] == CLASS}
    out = np.zeros(len(rows), bool)
    for n, (a, b) in enumerate(zip(rows.tolist(), cols.tolist())):
        d1, d2 = dr1.get(a), dr2.get(b)
        if d1 and d2:
            out[n] = not any((x, y) in matched for x in d1 for y in d2)
    return out


def schema_kinds(kinds: Iterable[int]) -> bool:
    """Whether any of ``kinds`` is vocabulary (not only individuals)."""
    from kgalign.kg import INDIVIDUAL

    return any(int(k) != INDIVIDUAL for k in kinds)
