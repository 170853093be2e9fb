"""Model-level edit requests: one fact, its prompts in each language and its new object.

A :class:`FactEdit` is what a language model is asked to learn: ``template[lang]`` filled
with ``subject[lang]`` should give ``new_object[lang]``. :func:`fact_edits_from_kg` builds
them from KG edits and the entity alignment (names in the other language come from the
aligned entities, templates from the relation alignment and the template file), so the
alignment is what carries an edit from the source language to the target language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kgalign.errors import InputError

if TYPE_CHECKING:
    from kgalign.lm.probing.facts import RelationPair


#: Noun phrases "the <relation> of <subject>" per language, used to build one-hop
#: (portability) prompts; ``{name}`` is the relation's readable local name.
NOUN_PATTERNS = {
    "en": "the {name} of {subject}",
    "fr": "le {name} de {subject}",
    "de": "der {name} von {subject}",
    "es": "el {name} de {subject}",
    "zh": "{subject}的{name}",
    "ja": "{subject}の{name}",
}


@dataclass
class FactEdit:
    """One fact to write into a language model, named in one or more languages.

    Attributes
    ----------
    subject : dict of str to str
        Language -> subject name.
    template : dict of str to Template
        Language -> cloze template of the relation (``[X]``, ``[Y]``).
    new_object : dict of str to str
        Language -> the object the model should give after the edit.
    old_object : dict of str to str
        Language -> the object before the edit (for reports; may be empty).
    paraphrase : dict of str to Template
        Language -> a second phrasing of the relation, never used for training
        (paraphrase generality).
    portability : list of dict
        One-hop facts implied by the edit: ``{"lang", "template", "subject", "object"}``
        where ``subject`` is a noun phrase naming the new object through the edited
        relation and ``object`` follows from the KG.
    source_lang : str
        The language the edit was made in.
    key : object
        Caller's identifier (KG triple, fact index).
    """

    subject: dict
    template: dict
    new_object: dict
    old_object: dict = field(default_factory=dict)
    paraphrase: dict = field(default_factory=dict)
    portability: list = field(default_factory=list)
    source_lang: str = ""
    key: object = None

    def languages(self) -> list[str]:
        return list(self.template)


def noun_phrase(relation_iri: str, subject: str, lang: str) -> str:
    """``"the birth place of <subject>"`` in ``lang`` (readable local name of the relation)."""
    from kgalign.lm.probing.templates import readable_relation_name

    pat = NOUN_PATTERNS.get((lang or "").split("-")[0], "{name} {subject}")
    return pat.format(name=readable_relation_name(relation_iri), subject=subject)


def fact_edits_from_kg(
    edits,
    pair,
    links,
    templates,
    *,
    source_lang: str | None = None,
    target_lang: str | None = None,
    relation_pairs=None,
    name=None,
    portability: bool = True,
) -> tuple[list[FactEdit], list[dict]]:
    """Model edits for the added triples of KG edits (``add`` and ``replace``).

    Parameters
    ----------
    edits : sequence of ResolvedEdit
        KG1 edits.
    pair : KGPair
    links : array-like (k, 2) of int
        Entity alignment (positions), used for names in the target language.
    templates : TemplateSet
    source_lang, target_lang : str, optional
        Default ``pair.lang1`` and ``pair.lang2``.
    relation_pairs : sequence of RelationPair, optional
        Default :func:`~kgalign.lm.probing.facts.align_relations` on ``links``.
    name : callable, optional
        ``name(kg, position, lang)``; default ``kg.label``.
    portability : bool
        Add one-hop facts ``(new object, r2, z)`` of KG1 (with a relation aligned in KG2).

    Returns
    -------
    (list of FactEdit, list of dict)
        The model edits, and the edits (or languages) skipped with a reason (``remove``
        has no object to teach; a triple without aligned subject/object/relation is taught
        in the source language only and reported).
    """
    import numpy as np

    from kgalign.lm.editing.propagate import entity_map
    from kgalign.lm.probing.facts import align_relations
    from kgalign.lm.probing.templates import fallback_template

    kg1, kg2 = pair.kg1, pair.kg2
    l1 = source_lang or pair.lang1 or "l1"
    l2 = target_lang or pair.lang2 or "l2"
    name = name or (lambda kg, i, lang: kg.label(i, lang))
    arr = np.asarray(links, dtype=np.int64).reshape(-1, 2)
    if relation_pairs is None:
        relation_pairs = align_relations(kg1, kg2, arr)
    best: dict[int, RelationPair] = {}
    for p in relation_pairs:
        best.setdefault(p.rel1, p)
    m12, _ = entity_map(arr)
    by_s1: dict[int, list[tuple[int, int]]] = {}
    for s, r, o in kg1.triples.tolist():
        by_s1.setdefault(s, []).append((r, o))
    out, skipped = [], []
    for k, ed in enumerate(edits):
        if not ed.added:
            skipped.append({"edit": k, "reason": "nothing to teach (the edit only removes)"})
            continue
        for s, r, o in ed.added:
            r1 = kg1.relations[r]
            pr = best.get(r)
            fe = FactEdit(
                {l1: name(kg1, s, l1)},
                {l1: templates.get(r1, l1, (pr.iri2,) if pr else ())},
                {l1: name(kg1, o, l1)},
                source_lang=l1,
                key=(k, kg1.identifier(s), r1, kg1.identifier(o)),
            )
            fe.paraphrase[l1] = fallback_template(r1, l1)
            olds = [b for b in ed.old_objects if b != o]
            if olds:
                fe.old_object[l1] = name(kg1, olds[0], l1)
            if pr is not None and s in m12 and o in m12:
                r2 = pr.iri2
                fe.subject[l2] = name(kg2, m12[s], l2)
                fe.template[l2] = templates.get(r2, l2, (r1,))
                fe.new_object[l2] = name(kg2, m12[o], l2)
                fe.paraphrase[l2] = fallback_template(r2, l2)
                if olds and olds[0] in m12:
                    fe.old_object[l2] = name(kg2, m12[olds[0]], l2)
            else:
                skipped.append(
                    {"edit": k, "lang": l2, "reason": "no aligned subject, object or relation: source language only"}
                )
            if portability:
                for r_b, z in by_s1.get(o, ()):
                    if z == o:
                        continue
                    rb1 = kg1.relations[r_b]
                    fe.portability.append(
                        {
                            "lang": l1,
                            "template": templates.get(rb1, l1),
                            "subject": noun_phrase(r1, fe.subject[l1], l1),
                            "object": name(kg1, z, l1),
                        }
                    )
                    pb = best.get(r_b)
                    if l2 in fe.subject and pr is not None and pb is not None and z in m12:
                        fe.portability.append(
                            {
                                "lang": l2,
                                "template": templates.get(pb.iri2, l2, (rb1,)),
                                "subject": noun_phrase(pr.iri2, fe.subject[l2], l2),
                                "object": name(kg2, m12[z], l2),
                            }
                        )
            out.append(fe)
    return out, skipped


def check_fact_edits(fact_edits: Sequence[FactEdit], langs: Sequence[str]) -> None:
    """Raise :class:`InputError` when an edit has no prompt in any of ``langs``."""
    for k, fe in enumerate(fact_edits):
        if not any(lang in fe.template for lang in langs):
            raise InputError(f"edit #{k + 1} has no prompt in {', '.join(langs)}")
