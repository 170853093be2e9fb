"""Entity kinds of RDF/OWL/SKOS vocabularies and the schema structure behind blank nodes.

Kinds (:data:`kgalign.kg.KINDS`)
--------------------------------
An IRI's kind follows its declarations (W3C OWL 2 Structural Specification, section 5;
RDF Schema 1.1; SKOS Reference):

- ``class``: typed ``owl:Class`` or ``rdfs:Class``, or named in ``rdfs:subClassOf``,
  ``owl:equivalentClass``, ``owl:disjointWith`` or as the object of ``rdfs:domain`` /
  ``rdfs:range`` (a datatype such as ``xsd:string`` is vocabulary and never an entity);
- ``object_property``: typed ``owl:ObjectProperty`` (or transitive, symmetric, inverse-functional,
  ..., which only object properties can be), or named in ``owl:inverseOf``;
- ``datatype_property``: typed ``owl:DatatypeProperty``; an untyped ``rdf:Property`` (or a
  property known only from ``rdfs:domain``/``rdfs:range``/``rdfs:subPropertyOf``) is a datatype
  property when its range is a datatype (``xsd:*``, ``rdfs:Literal``), else an object property;
- ``annotation_property``: typed ``owl:AnnotationProperty`` (not aligned by default);
- ``concept``: typed ``skos:Concept``;
- ``individual``: every other entity (the rules of :mod:`kgalign.io.rdf`).

Punning (OWL 2 lets one IRI name a class and an individual): **the declaration wins**. An IRI
declared as a class is a class, whatever else it is typed as, and is never an individual too;
its ``rdf:type`` assertions become relation triples (``rdf:type``) towards the classes that are
entities. Between declarations the order is class, object property, datatype property,
annotation property, concept. The count of punned IRIs is logged.
"""

from __future__ import annotations

from kgalign.kg import ANNOTATION_PROPERTY, CLASS, CONCEPT, DATATYPE_PROPERTY, INDIVIDUAL, OBJECT_PROPERTY

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
XSD = "http://www.w3.org/2001/XMLSchema#"

#: rdf:type object -> kind of the subject.
TYPE_KINDS: dict[str, int] = {
    OWL + "Class": CLASS,
    RDFS + "Class": CLASS,
    OWL + "ObjectProperty": OBJECT_PROPERTY,
    OWL + "TransitiveProperty": OBJECT_PROPERTY,
    OWL + "SymmetricProperty": OBJECT_PROPERTY,
    OWL + "AsymmetricProperty": OBJECT_PROPERTY,
    OWL + "ReflexiveProperty": OBJECT_PROPERTY,
    OWL + "IrreflexiveProperty": OBJECT_PROPERTY,
    OWL + "InverseFunctionalProperty": OBJECT_PROPERTY,
    OWL + "DatatypeProperty": DATATYPE_PROPERTY,
    OWL + "AnnotationProperty": ANNOTATION_PROPERTY,
    SKOS + "Concept": CONCEPT,
}
#: Types that make a subject a property of a kind decided by its range.
UNTYPED_PROPERTY_TYPES = frozenset({RDF + "Property", OWL + "FunctionalProperty"})
#: Types of subjects that are never entities (datatypes, restrictions, headers).
NOT_ENTITY_TYPES = frozenset(
    {
        RDFS + "Datatype",
        OWL + "Restriction",
        OWL + "Ontology",
        SKOS + "ConceptScheme",
        OWL + "AllDisjointClasses",
        OWL + "AllDifferent",
    }
)
#: Predicates whose (named) subject and object are classes.
CLASS_AXIOMS = frozenset({RDFS + "subClassOf", OWL + "equivalentClass", OWL + "disjointWith"})
#: Predicates whose subject is a property (kind decided elsewhere) and object a class.
DOMAIN_RANGE = frozenset({RDFS + "domain", RDFS + "range"})
#: Precedence among declared kinds (first wins; see the module notes on punning).
PRECEDENCE = (CLASS, OBJECT_PROPERTY, DATATYPE_PROPERTY, ANNOTATION_PROPERTY, CONCEPT)

#: Predicates followed through blank nodes by :func:`blank_node_edges` without emitting an edge.
_LIST = frozenset({RDF + "first", RDF + "rest"})


def is_datatype(iri: str) -> bool:
    """Whether ``iri`` names a datatype (``xsd:*``, ``rdfs:Literal``, ``rdf:PlainLiteral`` ...)."""
    return iri.startswith(XSD) or iri in (
        RDFS + "Literal",
        RDF + "PlainLiteral",
        RDF + "langString",
        RDF + "XMLLiteral",
        RDFS + "Datatype",
    )


def decide_kind(declared: set[int]) -> int:
    """The kind of an IRI declared with the kinds ``declared`` (precedence :data:`PRECEDENCE`)."""
    for k in PRECEDENCE:
        if k in declared:
            return k
    return INDIVIDUAL


def blank_node_edges(graph) -> list[tuple[str, str, str]]:
    """Edges between named IRIs that OWL axioms route through blank nodes.

    For every triple ``(s, p, b)`` with a named subject and a blank-node object (a restriction,
    a union or intersection, an RDF list), the named IRIs reachable from ``b`` through blank nodes
    only are collected; each gives an edge ``(s, q, x)`` where ``q`` is the last predicate on the
    way that is not an RDF list step: ``C rdfs:subClassOf [owl:onProperty P; owl:someValuesFrom D]``
    gives ``(C, owl:onProperty, P)`` and ``(C, owl:someValuesFrom, D)``; ``P rdfs:domain
    [owl:unionOf (A B)]`` gives ``(P, owl:unionOf, A)`` and ``(P, owl:unionOf, B)``; the list
    steps ``rdf:first``/``rdf:rest`` keep the predicate that led into the list. ``rdf:type``
    (``owl:Restriction``, ``owl:Class``) is not followed.

    Parameters
    ----------
    graph : rdflib.Graph

    Returns
    -------
    list of (str, str, str)
        Distinct ``(subject IRI, predicate IRI, object IRI)`` in a deterministic order.
    """
    from rdflib import BNode, URIRef

    rdf_type = URIRef(RDF + "type")
    out: dict[tuple[str, str, str], None] = {}
    for s, p, o in graph.triples((None, None, None)):
        if not isinstance(s, URIRef) or not isinstance(o, BNode) or p == rdf_type:
            continue
        seen = {o}
        stack = [(o, str(p))]
        while stack:
            node, via = stack.pop()
            for _, q, x in graph.triples((node, None, None)):
                if q == rdf_type:
                    continue
                qs = str(q)
                step = via if qs in _LIST else qs
                if isinstance(x, URIRef):
                    if qs != RDF + "rest":  # rdf:nil
                        out.setdefault((str(s), step, str(x)))
                elif isinstance(x, BNode) and x not in seen:
                    seen.add(x)
                    stack.append((x, step))
    return sorted(out)


class SchemaDeclarations:
    """The kinds that schema triples declare, collected triple by triple (both RDF engines).

    ``rdf:type`` to an OWL/RDFS/SKOS type declares that kind (:data:`TYPE_KINDS`);
    ``rdfs:subClassOf``/``owl:equivalentClass``/``owl:disjointWith`` declare classes;
    ``rdfs:domain``/``rdfs:range`` declare a property and (unless a datatype) a class;
    ``owl:inverseOf`` declares object properties; ``rdfs:subPropertyOf`` and untyped
    ``rdf:Property`` leave the kind to the range (:meth:`finish`: a datatype range makes a
    datatype property, anything else an object property).

    Parameters
    ----------
    not_entity_types : collection of str
        Further ``rdf:type`` objects whose subjects are never entities (beyond
        :data:`NOT_ENTITY_TYPES`).

    Attributes
    ----------
    declared : dict of str to set of int
        IRI -> kinds it is declared with (codes of :data:`kgalign.kg.KINDS`).
    non_entities : set of str
        IRIs typed with a type whose instances are not entities.
    """

    def __init__(self, not_entity_types=()):
        self.declared: dict[str, set[int]] = {}
        self.non_entities: set[str] = set()
        self._untyped_props: dict[str, None] = {}
        self._datatype_range: set[str] = set()
        self._not_entity_types = frozenset(not_entity_types) | frozenset(NOT_ENTITY_TYPES)

    def declare(self, iri: str | None, kind: int) -> None:
        if iri is not None:
            self.declared.setdefault(iri, set()).add(kind)

    def add_type(self, s_iri: str, o_iri: str) -> None:
        """An ``rdf:type`` triple between two named IRIs."""
        if o_iri in TYPE_KINDS:
            self.declare(s_iri, TYPE_KINDS[o_iri])
        elif o_iri in UNTYPED_PROPERTY_TYPES:
            self._untyped_props.setdefault(s_iri)
        elif o_iri in self._not_entity_types:
            self.non_entities.add(s_iri)

    def add(self, s_iri: str | None, p_iri: str, o_iri: str | None) -> None:
        """Any other triple (None for a blank node or literal end); non-schema predicates are ignored."""
        if p_iri in CLASS_AXIOMS:
            self.declare(s_iri, CLASS)
            self.declare(o_iri, CLASS)
        elif p_iri in DOMAIN_RANGE:
            if s_iri is not None:
                self._untyped_props.setdefault(s_iri)
                if p_iri == RDFS + "range" and o_iri is not None and is_datatype(o_iri):
                    self._datatype_range.add(s_iri)
            if o_iri is not None and not is_datatype(o_iri):
                self.declare(o_iri, CLASS)
        elif p_iri == OWL + "inverseOf":
            self.declare(s_iri, OBJECT_PROPERTY)
            self.declare(o_iri, OBJECT_PROPERTY)
        elif p_iri == RDFS + "subPropertyOf":
            for x in (s_iri, o_iri):
                if x is not None:
                    self._untyped_props.setdefault(x)

    def finish(self) -> dict[str, set[int]]:
        """Give the properties without a declared kind theirs (by range) and return :attr:`declared`."""
        for iri in self._untyped_props:
            if iri not in self.declared:
                self.declare(iri, DATATYPE_PROPERTY if iri in self._datatype_range else OBJECT_PROPERTY)
        return self.declared
