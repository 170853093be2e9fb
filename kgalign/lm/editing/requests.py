"""Edit requests: add, remove or replace a ``(subject, relation, object)`` triple of KG1.

An edit is stated in the terms of the source graph (KG1). Entities and relations are named
by IRI, by external id (DBP15K integer id) or, for entities, by an unambiguous label or IRI
local name. :func:`resolve_edit` checks every name against the graph and turns the request
into the concrete triples it removes and adds; :func:`read_edits` reads a JSONL file, one
request per line::

    {"op": "replace", "subject": "...", "relation": "...", "object": "NEW", "old": "OLD"}
    {"op": "add", "subject": "...", "relation": "...", "object": "..."}
    {"op": "remove", "subject": "...", "relation": "...", "object": "..."}

``replace`` without ``old`` replaces every current object of ``(subject, relation)``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kgalign.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from kgalign.kg import KnowledgeGraph

OPS = ("add", "remove", "replace")


@dataclass(frozen=True)
class EditRequest:
    """One requested change of KG1, as given (names not yet resolved).

    Attributes
    ----------
    op : {"add", "remove", "replace"}
    subject, relation, object : str
        Names in KG1 (IRI, id, label or local name). For ``replace``, ``object`` is the
        new object.
    old : str, optional
        ``replace`` only: the object replaced (default every current object).
    path : str, optional
        File the request was read from, and ``line`` its 1-based line (for messages).
    """

    op: str
    subject: str
    relation: str
    object: str
    old: str | None = None
    path: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class ResolvedEdit:
    """An edit request checked against KG1.

    Attributes
    ----------
    request : EditRequest
    subject, relation, object : int
        Positions in KG1 (``object`` is the new object for ``replace``).
    removed : tuple of (int, int, int)
        KG1 triples the edit removes (positions), sorted.
    added : tuple of (int, int, int)
        KG1 triples the edit adds (empty when the triple is already there).
    old_objects : tuple of int
        Objects of ``(subject, relation)`` before the edit.
    """

    request: EditRequest
    subject: int
    relation: int
    object: int
    removed: tuple = ()
    added: tuple = ()
    old_objects: tuple = field(default=())


def _where(req: EditRequest) -> dict:
    return {"path": req.path, "line": req.line}


def _entity_lookup(kg: KnowledgeGraph) -> dict[str, list[int]]:
    """label / local name -> entity positions (cached on the graph object)."""
    cached = getattr(kg, "_edit_name_index", None)
    if cached is not None:
        return cached
    from kgalign.labels import local_name

    out: dict[str, list[int]] = {}
    for i, iri in enumerate(kg.entities):
        names = {local_name(iri)} | {text for _, text, _ in kg.labels[i]}
        for n in names:
            out.setdefault(n, []).append(i)
    try:
        object.__setattr__(kg, "_edit_name_index", out)
    except AttributeError:  # pragma: no cover
        pass
    return out


def resolve_entity(kg: KnowledgeGraph, name: str, what: str, req: EditRequest | None = None) -> int:
    """Position of the entity ``name`` in ``kg`` (IRI, id, then unique label/local name).

    Raises
    ------
    InputError
        Unknown or ambiguous name; the message names it (and the request's file and line).
    """
    where = _where(req) if req else {}
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"edit: {what} must be a non-empty string, got {name!r}", where.get("path"), where.get("line"))
    i = kg.index.get(name)
    if i is not None:
        return i
    hits = _entity_lookup(kg).get(name, [])
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise InputError(
            f"edit: {what} {name!r} is ambiguous in {kg.source or 'KG1'} ({len(hits)} entities); use the IRI",
            where.get("path"),
            where.get("line"),
        )
    raise InputError(
        f"edit: unknown {what} {name!r}: not an entity of {kg.source or 'KG1'}", where.get("path"), where.get("line")
    )


def resolve_relation(kg: KnowledgeGraph, name: str, req: EditRequest | None = None) -> int:
    """Position of relation ``name`` (IRI or unique local name) in ``kg.relations``.

    Raises
    ------
    InputError
        Unknown or ambiguous relation.
    """
    from kgalign.lm.probing.templates import relation_local_name

    where = _where(req) if req else {}
    if not isinstance(name, str) or not name.strip():
        raise InputError(
            f"edit: relation must be a non-empty string, got {name!r}", where.get("path"), where.get("line")
        )
    if name in kg.relations:
        return kg.relations.index(name)
    hits = [k for k, r in enumerate(kg.relations) if relation_local_name(r) == name]
    if len(hits) == 1:
        return hits[0]
    what = "ambiguous" if hits else "unknown"
    raise InputError(f"edit: {what} relation {name!r} in {kg.source or 'KG1'}", where.get("path"), where.get("line"))


def resolve_edit(kg: KnowledgeGraph, req: EditRequest, triples: set | None = None) -> ResolvedEdit:
    """Check ``req`` against KG1 and compute the triples it removes and adds.

    Parameters
    ----------
    kg : KnowledgeGraph
        The source graph (KG1).
    req : EditRequest
    triples : set of (int, int, int), optional
        The graph's triples as a set (pass it when resolving many edits; default built here).

    Raises
    ------
    InputError
        Unknown operation, entity or relation; ``remove`` of a triple the graph lacks;
        ``replace`` whose ``old`` object is not an object of ``(subject, relation)``.
    """
    path, line = req.path, req.line
    if req.op not in OPS:
        raise InputError(f"edit: unknown op {req.op!r}; use one of {', '.join(OPS)}", path, line)
    s = resolve_entity(kg, req.subject, "subject", req)
    r = resolve_relation(kg, req.relation, req)
    o = resolve_entity(kg, req.object, "object", req)
    if triples is None:
        triples = {tuple(t) for t in kg.triples.tolist()}
    old_objs = tuple(sorted(b for (a, rr, b) in triples if a == s and rr == r)) if triples else ()
    if req.op == "add":
        added = () if (s, r, o) in triples else ((s, r, o),)
        return ResolvedEdit(req, s, r, o, (), added, old_objs)
    if req.op == "remove":
        if (s, r, o) not in triples:
            raise InputError(
                f"edit: cannot remove ({req.subject}, {req.relation}, {req.object}): the triple is not in the graph",
                path,
                line,
            )
        return ResolvedEdit(req, s, r, o, ((s, r, o),), (), old_objs)
    # replace
    removed: tuple[tuple[int, int, int], ...]
    if req.old is not None:
        old = resolve_entity(kg, req.old, "old object", req)
        if old not in old_objs:
            raise InputError(
                f"edit: cannot replace {req.old!r}: it is not an object of ({req.subject}, {req.relation})", path, line
            )
        removed = ((s, r, old),) if old != o else ()
    else:
        removed = tuple((s, r, b) for b in old_objs if b != o)
    added = () if (s, r, o) in triples else ((s, r, o),)
    return ResolvedEdit(req, s, r, o, removed, added, old_objs)


def request_from_dict(obj, path: str | None = None, line: int | None = None) -> EditRequest:
    """An :class:`EditRequest` from a JSON object (keys ``op, subject, relation, object[, old]``).

    Raises
    ------
    InputError
        Not an object, missing or non-string fields, unknown keys.
    """
    if not isinstance(obj, dict):
        raise InputError(f"edit must be a JSON object, got {type(obj).__name__}", path, line)
    unknown = set(obj) - {"op", "subject", "relation", "object", "old"}
    if unknown:
        raise InputError(f"edit: unknown field(s) {', '.join(sorted(unknown))}", path, line)
    for key in ("op", "subject", "relation", "object"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise InputError(f"edit: field {key!r} must be a non-empty string", path, line)
    old = obj.get("old")
    if old is not None and (not isinstance(old, str) or obj["op"] != "replace"):
        raise InputError("edit: 'old' must be a string and is only allowed with op 'replace'", path, line)
    return EditRequest(obj["op"], obj["subject"], obj["relation"], obj["object"], old, path, line)


def read_edits(path: str | os.PathLike) -> list[EditRequest]:
    """Read edit requests from a JSONL file (blank lines and ``#`` comments skipped).

    Raises
    ------
    InputError
        Unreadable file, invalid JSON or a malformed request; the message names the file
        and line. Nothing is returned (or changed) for a file with any bad line.
    """
    from kgalign.io._text import iter_lines, read_text

    path = os.fspath(path)
    out = []
    for no, raw in iter_lines(read_text(path)):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg}", path, no) from exc
        out.append(request_from_dict(obj, path, no))
    if not out:
        raise InputError("no edit in the file", path)
    return out


def resolve_edits(kg: KnowledgeGraph, requests: Iterable[EditRequest]) -> list[ResolvedEdit]:
    """:func:`resolve_edit` for every request, applied in sequence (an edit sees the earlier ones).

    Raises
    ------
    InputError
        For the first bad request (nothing is changed: the graph itself is never modified).
    """
    triples = {tuple(t) for t in kg.triples.tolist()}
    out = []
    for req in requests:
        ed = resolve_edit(kg, req, triples)
        triples.difference_update(ed.removed)
        triples.update(ed.added)
        out.append(ed)
    return out
