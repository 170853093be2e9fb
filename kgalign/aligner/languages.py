"""Label languages of a graph: counts, the main language, and checks of a requested language."""

from __future__ import annotations

from kgalign.errors import InputError
from kgalign.kg import KnowledgeGraph

__all__ = ["label_languages", "main_language", "check_language"]


def label_languages(kg: KnowledgeGraph) -> dict[str, int]:
    """Number of entities of ``kg`` with a label in each language.

    Returns
    -------
    dict of str to int
        Bare, lower-case language tags (``fr-CA`` counts as ``fr``); an entity counts once
        per language however many labels it has in it.
    """
    counts: dict[str, int] = {}
    for labs in kg.labels:
        for lang in {tag.split("-")[0].lower() for tag, _, _ in labs if tag}:
            counts[lang] = counts.get(lang, 0) + 1
    return counts


def main_language(kg: KnowledgeGraph) -> str | None:
    """The most frequent label language of ``kg`` (ties: the smaller tag; None without tags)."""
    counts = label_languages(kg)
    if not counts:
        return None
    return min(counts, key=lambda lang: (-counts[lang], lang))


def check_language(kg: KnowledgeGraph, lang: str, which: str) -> None:
    """Refuse a language the user asked for that none of the graph's tagged labels has.

    Parameters
    ----------
    kg : KnowledgeGraph
    lang : str
        The requested tag; a bare language matches its regional tags, case-insensitively.
    which : str
        ``"first"`` or ``"second"`` (for the message).

    Raises
    ------
    InputError
        Naming the graph's file and the languages it has, with their entity counts. A graph
        without any tagged label accepts every language.
    """
    counts = label_languages(kg)
    if counts and lang.split("-")[0].lower() not in counts:
        have = ", ".join(f"{k} ({v})" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
        raise InputError(
            f"the {which} graph has no label in language {lang!r}; its labels are in: {have}", kg.source or None
        )
