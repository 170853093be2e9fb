"""The in-memory knowledge-graph model shared by loaders, views, matching and probing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from kgalign.errors import InputError
from kgalign.labels import local_name, select_label

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx
    import scipy.sparse as sp

#: Label predicates in order of preference (first wins when several are present).
LABEL_PREDICATES: tuple[str, ...] = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://schema.org/name",
    "https://schema.org/name",
    "http://xmlns.com/foaf/0.1/name",
    "http://www.w3.org/2004/02/skos/core#altLabel",
)

#: Entity kinds, in code order: ``KnowledgeGraph.kinds`` holds indices into this tuple.
#: ``individual`` (code 0, the default: DBP15K/OpenEA entities, RDF instances), ``class``
#: (``owl:Class``/``rdfs:Class``), ``object_property``, ``datatype_property``,
#: ``annotation_property`` and ``concept`` (``skos:Concept``).
KINDS: tuple[str, ...] = (
    "individual",
    "class",
    "object_property",
    "datatype_property",
    "annotation_property",
    "concept",
)
INDIVIDUAL, CLASS, OBJECT_PROPERTY, DATATYPE_PROPERTY, ANNOTATION_PROPERTY, CONCEPT = range(len(KINDS))


#: Longest name :meth:`KnowledgeGraph.label` returns (characters); longer labels are cut.
MAX_NAME_CHARS = 1000


@dataclass
class KnowledgeGraph:
    """A knowledge graph: entities, multilingual labels, relation and attribute triples.

    Entities are addressed by their position ``0 .. n_entities - 1``; ``entities[i]`` is the
    IRI (or, for id-based formats, the IRI the id stands for) and ``ids[i]`` an optional
    external identifier (e.g. the DBP15K integer id as a string). Outputs always name
    entities by IRI or id, never by position.

    Attributes
    ----------
    entities : list of str, length n
        Entity IRIs, unique.
    labels : list of list of (str, str, int), length n
        Per entity the labels ``(language, text, priority)``; language is lower-cased,
        ``""`` when untagged; priority is the index of the predicate in
        :data:`LABEL_PREDICATES` (lower is preferred). Empty labels are never stored.
    triples : ndarray of int64, shape (m, 3)
        Relation triples ``(head, relation, tail)``: entity positions and relation positions.
    relations : list of str
        Relation IRIs; ``triples[:, 1]`` indexes this list.
    attributes : list of (int, str, str, str)
        Attribute triples ``(entity position, predicate IRI, literal value, language)``:
        the literal-valued facts that are not labels (label predicates go to ``labels`` only,
        so an attribute view does not repeat the name view). Values are non-empty lexical
        forms; language as in ``labels``.
    ids : list of str or None
        External identifiers parallel to ``entities`` (DBP15K ids), or None.
    source : str
        Where the graph came from (a path), for messages.
    kinds : ndarray of int8, shape (n,)
        Kind of each entity, an index into :data:`KINDS` (default: all ``individual``).
    ontology : str
        The IRI of the file's ``owl:Ontology`` (the first one), ``""`` when it declares none:
        what an OAEI alignment names as ``onto1``/``onto2``.
    """

    entities: list[str]
    labels: list[list[tuple[str, str, int]]] = field(default_factory=list)
    triples: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int64))
    relations: list[str] = field(default_factory=list)
    attributes: list[tuple[int, str, str, str]] = field(default_factory=list)
    ids: list[str] | None = None
    source: str = ""
    # None (the default) means all ``individual``; __post_init__ always stores an int8 array,
    # so the attribute is typed as the array it holds after construction.
    kinds: np.ndarray = None  # type: ignore[assignment]
    ontology: str = ""

    def __post_init__(self) -> None:
        if not self.labels:
            self.labels = [[] for _ in self.entities]
        if self.kinds is None:
            self.kinds = np.zeros(len(self.entities), dtype=np.int8)
        self.kinds = np.asarray(self.kinds, dtype=np.int8).reshape(-1)
        if len(self.kinds) != len(self.entities):
            raise ValueError("kinds must have one entry per entity")
        if len(self.kinds) and (self.kinds.min() < 0 or self.kinds.max() >= len(KINDS)):
            raise ValueError(f"kinds must be codes 0..{len(KINDS) - 1} (see kgalign.kg.KINDS)")
        self.triples = np.asarray(self.triples, dtype=np.int64).reshape(-1, 3)
        if len(self.labels) != len(self.entities):
            raise ValueError("labels must have one entry per entity")
        if self.ids is not None and len(self.ids) != len(self.entities):
            raise ValueError("ids must have one entry per entity")

    # ------------------------------------------------------------------ sizes and lookup
    @property
    def n_entities(self) -> int:
        return len(self.entities)

    def __len__(self) -> int:
        return len(self.entities)

    @cached_property
    def index(self) -> dict[str, int]:
        """Map from entity IRI (and external id, when present) to position."""
        idx = {iri: i for i, iri in enumerate(self.entities)}
        if self.ids is not None:
            for i, ext in enumerate(self.ids):
                idx.setdefault(ext, i)
        return idx

    def identifier(self, i: int) -> str:
        """The entity's IRI (used in every output)."""
        return self.entities[i]

    def kind(self, i: int) -> str:
        """The kind of entity ``i`` (a name of :data:`KINDS`)."""
        return KINDS[int(self.kinds[i])]

    def kind_counts(self) -> dict[str, int]:
        """Number of entities of each kind present, ``{kind name: count}`` in :data:`KINDS` order."""
        counts = np.bincount(self.kinds, minlength=len(KINDS))
        return {KINDS[k]: int(c) for k, c in enumerate(counts) if c}

    # ------------------------------------------------------------------ labels
    def languages(self) -> list[str]:
        """Sorted language tags present in the labels (``""`` for untagged)."""
        return sorted({lang for labs in self.labels for lang, _, _ in labs})

    def label(self, i: int, lang: str | None = None) -> str:
        """The display name of entity ``i`` in ``lang``.

        Fallback order: labels tagged ``lang`` (case-insensitive; a bare language matches its
        regional tags, ``es`` matches ``es-ES``), then untagged labels, then the other
        languages sorted by tag, then the IRI's local name (see :func:`kgalign.labels.local_name`)
        when it holds a letter. An unlabelled entity whose local name has no letter (a number
        such as ``.../entity/4711``) has no name: ``""``, so that it is aligned by structure and
        attributes only, never by equal numbers. Within one language the preferred predicate
        wins (:data:`LABEL_PREDICATES`), then file order. Names are cut to
        :data:`MAX_NAME_CHARS` characters.
        """
        text = select_label(self.labels[i], lang)
        if text is not None:
            # a name, not a document: a 10 MB "label" would cost gigabytes in the tokenizer
            return text if len(text) <= MAX_NAME_CHARS else text[:MAX_NAME_CHARS]
        name = local_name(self.entities[i])
        return name if any(c.isalpha() for c in name) else ""

    def names(self, lang: str | None = None) -> list[str]:
        """``label(i, lang)`` for every entity, as a list of length n."""
        return [self.label(i, lang) for i in range(self.n_entities)]

    # ------------------------------------------------------------------ structure
    def adjacency(self, symmetric: bool = True) -> sp.csr_matrix:
        """Entity adjacency as a scipy CSR matrix of shape (n, n), float32 triple counts.

        With ``symmetric`` (default) edges count in both directions; self-loops are kept.
        """
        import scipy.sparse as sp

        n = self.n_entities
        h, t = self.triples[:, 0], self.triples[:, 2]
        if symmetric:
            h, t = np.concatenate([h, t]), np.concatenate([t, h])
        data = np.ones(len(h), dtype=np.float32)
        return sp.csr_matrix((data, (h, t)), shape=(n, n))

    def degrees(self) -> np.ndarray:
        """Number of relation triples each entity takes part in, int64 shape (n,)."""
        deg = np.bincount(self.triples[:, 0], minlength=self.n_entities)
        deg += np.bincount(self.triples[:, 2], minlength=self.n_entities)
        return deg.astype(np.int64)

    def to_networkx(self) -> nx.MultiDiGraph:
        """A networkx MultiDiGraph view: nodes are IRIs, edges carry ``relation`` (IRI)."""
        import networkx as nx

        g = nx.MultiDiGraph()
        g.add_nodes_from(self.entities)
        for h, r, t in self.triples.tolist():
            g.add_edge(self.entities[h], self.entities[t], relation=self.relations[r])
        return g

    def subgraph(self, keep: Sequence[int] | np.ndarray) -> KnowledgeGraph:
        """The graph restricted to the entity positions ``keep`` (in that order)."""
        keep = np.asarray(keep, dtype=np.int64)
        remap = np.full(self.n_entities, -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        tr = self.triples
        mask = (remap[tr[:, 0]] >= 0) & (remap[tr[:, 2]] >= 0) if len(tr) else np.zeros(0, bool)
        new_tr = np.stack([remap[tr[mask, 0]], tr[mask, 1], remap[tr[mask, 2]]], axis=1) if len(tr) else tr
        attrs = [(int(remap[e]), p, v, l) for e, p, v, l in self.attributes if remap[e] >= 0]
        return KnowledgeGraph(
            entities=[self.entities[i] for i in keep],
            labels=[list(self.labels[i]) for i in keep],
            triples=new_tr,
            relations=list(self.relations),
            attributes=attrs,
            ids=None if self.ids is None else [self.ids[i] for i in keep],
            source=self.source,
            kinds=self.kinds[keep],
            ontology=self.ontology,
        )

    def __repr__(self) -> str:
        return (
            f"KnowledgeGraph({self.source or '<memory>'}: {self.n_entities} entities, "
            f"{len(self.triples)} relation triples, {len(self.attributes)} attribute triples)"
        )


@dataclass
class KGPair:
    """Two knowledge graphs to align, optionally with gold links and a translation cache.

    Attributes
    ----------
    kg1, kg2 : KnowledgeGraph
    links : ndarray of int64, shape (k, 2) or None
        Gold 1:1 links as entity positions ``(i in kg1, j in kg2)``.
    translations : dict of str to str or None
        Name translations shipped with the data (DBP15K ``translated_names.json``):
        source text -> English text; used by the dictionary translator.
    lang1, lang2 : str or None
        Language of each side when the format implies it (``zh``/``en`` for DBP15K zh_en).
    """

    kg1: KnowledgeGraph
    kg2: KnowledgeGraph
    links: np.ndarray | None = None
    translations: dict[str, str] | None = field(default=None, repr=False)
    lang1: str | None = None
    lang2: str | None = None

    def link_iris(self) -> list[tuple[str, str]]:
        """Gold links as ``(IRI1, IRI2)`` pairs (empty when there are none)."""
        if self.links is None:
            return []
        return [(self.kg1.entities[i], self.kg2.entities[j]) for i, j in self.links.tolist()]


def iter_label_texts(kg: KnowledgeGraph) -> Iterable[str]:
    """Every stored label text of ``kg`` (all languages)."""
    for labs in kg.labels:
        for _, text, _ in labs:
            yield text


#: Names accepted by ``kinds`` -> the kind codes they select. Singular kind names work too.
KIND_SELECTORS: dict[str, tuple[int, ...]] = {
    "individuals": (INDIVIDUAL,),
    "classes": (CLASS, CONCEPT),
    "concepts": (CONCEPT,),
    "properties": (OBJECT_PROPERTY, DATATYPE_PROPERTY),
    "object_properties": (OBJECT_PROPERTY,),
    "datatype_properties": (DATATYPE_PROPERTY,),
    "annotation_properties": (ANNOTATION_PROPERTY,),
    "all": tuple(k for k in range(len(KINDS)) if k != ANNOTATION_PROPERTY),
}
#: Kinds aligned when ``kinds`` is None: everything but annotation properties.
DEFAULT_KINDS: tuple[int, ...] = KIND_SELECTORS["all"]


def parse_kinds(spec) -> tuple[int, ...]:
    """The kind codes selected by ``spec``.

    Parameters
    ----------
    spec : None, str or list of str
        None: :data:`DEFAULT_KINDS`; ``"classes,properties"`` or ``["classes", "properties"]``:
        names of :data:`KIND_SELECTORS` or of :data:`kgalign.kg.KINDS`.

    Returns
    -------
    tuple of int
        Sorted, distinct codes.

    Raises
    ------
    InputError
        For an unknown name, an empty selection or a value of another type.
    """
    if spec is None:
        return DEFAULT_KINDS
    if isinstance(spec, str):
        names = [s.strip() for s in spec.split(",") if s.strip()]
    elif isinstance(spec, (list, tuple)) and all(isinstance(s, str) for s in spec):
        names = [s.strip() for s in spec]
    else:
        raise InputError(
            f"configuration 'kinds' must be a list of kind names or a comma-separated string, got {spec!r}"
        )
    codes: set[int] = set()
    for name in names:
        key = name.lower().replace("-", "_").replace(" ", "_")
        if key in KIND_SELECTORS:
            codes.update(KIND_SELECTORS[key])
        elif key in KINDS:
            codes.add(KINDS.index(key))
        else:
            raise InputError(f"unknown entity kind {name!r} in 'kinds'; known: {', '.join(KIND_SELECTORS)}")
    if not codes:
        raise InputError("'kinds' selects no entity kind")
    return tuple(sorted(codes))
