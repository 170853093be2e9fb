"""Bilingual cloze queries, probing runs and their metrics (P@1, consistency)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from kgalign.errors import InputError
from kgalign.lm.probing.facts import BilingualFactSet
from kgalign.lm.probing.templates import OBJ, Template, TemplateSet

if TYPE_CHECKING:  # pragma: no cover
    from kgalign.kg import KnowledgeGraph


def default_name(kg: KnowledgeGraph, i: int, lang: str | None) -> str:
    """Display name used in queries: ``kg.label(i, lang)``."""
    return kg.label(i, lang)


@dataclass
class Query:
    """One fact asked in one language.

    Attributes
    ----------
    fact : int
        Index of the fact in ``BilingualFactSet.facts`` (or any caller's fact list).
    lang : str
    side : int
        1 or 2: which KG names the fact in this language.
    relation : str
        Relation IRI on that side.
    template : Template
    subject, object : str
        Names in this language.
    candidates : str
        Key of the candidate set (typed ranking) in the ``candidates`` mapping.
    """

    fact: int
    lang: str
    side: int
    relation: str
    template: Template
    subject: str
    object: str
    candidates: str
    extra: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The cloze sentence with ``[Y]`` left in place."""
        return self.template.fill(self.subject)


def build_queries(
    fs: BilingualFactSet,
    templates: TemplateSet,
    lang1: str,
    lang2: str,
    where: Sequence[str] = ("both",),
    name: Callable[[KnowledgeGraph, int, str], str] = default_name,
    candidate_source: str = "kg",
) -> tuple[list[Query], dict[str, list[str]]]:
    """Queries in both languages for the facts of ``fs`` and their typed candidate sets.

    Parameters
    ----------
    fs : BilingualFactSet
    templates : TemplateSet
    lang1, lang2 : str
        Languages of KG1 and KG2 (``pair.lang1``, ``pair.lang2``).
    where : sequence of str
        Which facts to ask (``"both"``, ``"kg1"``, ``"kg2"``); a fact stated in one KG is
        still asked in both languages.
    name : callable
        ``name(kg, position, lang) -> str``; default ``kg.label(position, lang)``.
    candidate_source : {"kg", "facts"}
        ``"kg"``: a relation's candidates are all objects of that relation in its KG (mLAMA's
        typed candidates); ``"facts"``: only the objects of the asked facts.

    Returns
    -------
    (list of Query, dict of str to list of str)
        Queries (two per fact, language 1 first) and the candidate sets: for every relation
        of each side, the distinct object names, sorted.
    """
    if candidate_source not in ("kg", "facts"):
        raise InputError(f"unknown candidate_source {candidate_source!r}; use kg or facts")
    kg1, kg2 = fs.kg1, fs.kg2
    wanted = set(where)
    cand_sets: dict[str, set[str]] = {}

    def cands(side: int, rel: int) -> str:
        kg, lang = (kg1, lang1) if side == 1 else (kg2, lang2)
        key = f"{side}:{kg.relations[rel]}"
        if key not in cand_sets:
            if candidate_source == "kg":
                objs = np.unique(kg.triples[kg.triples[:, 1] == rel, 2])
                cand_sets[key] = {name(kg, int(o), lang) for o in objs}
            else:
                cand_sets[key] = set()
        return key

    queries = []
    for k, f in enumerate(fs.facts):
        if f.where not in wanted:
            continue
        r1, r2 = kg1.relations[f.rel1], kg2.relations[f.rel2]
        t1 = templates.get(r1, lang1, also=(r2,))
        t2 = templates.get(r2, lang2, also=(r1,))
        queries.append(Query(k, lang1, 1, r1, t1, name(kg1, f.s1, lang1), name(kg1, f.o1, lang1), cands(1, f.rel1)))
        queries.append(Query(k, lang2, 2, r2, t2, name(kg2, f.s2, lang2), name(kg2, f.o2, lang2), cands(2, f.rel2)))
        if candidate_source == "facts":
            cand_sets[queries[-2].candidates].add(queries[-2].object)
            cand_sets[queries[-1].candidates].add(queries[-1].object)
    return queries, {k: sorted(v) for k, v in cand_sets.items()}


def probe_queries(
    prober,
    queries: Sequence[Query],
    candidates: dict[str, list[str]] | None = None,
    mode: str = "typed",
    max_masks: int | None = None,
    strategy: str = "independent",
    progress: bool = False,
) -> list[dict]:
    """Ask every query; one result row per query.

    Parameters
    ----------
    prober : MaskedLMProber or CausalLMProber
    queries : sequence of Query
    candidates : dict of str to list of str
        Candidate sets (from :func:`build_queries`); needed for typed ranking. The gold
        object is added to its query's set when missing.
    mode : {"typed", "untyped", "both"}
        Typed ranking over candidates, untyped full-match decoding (masked LMs only), or both.
    max_masks : int, optional
        Untyped decoding tries 1..max_masks masks; default the longest candidate/gold object
        in tokens (at most 10).
    strategy : {"independent", "confidence"}
        Untyped decoding strategy.
    progress : bool
        Show a tqdm bar over query groups.

    Returns
    -------
    list of dict
        Per query: ``fact, lang, relation, relation_id, template, fallback, query, subject,
        object`` and, for typed ranking, ``prediction, rank`` (1-based rank of the gold object
        among the distinct candidate names; pessimistic: candidates scoring the same as the
        gold object rank before it), ``n_candidates``, ``correct`` (rank == 1); for
        untyped decoding ``untyped_prediction, untyped_n_masks, untyped_correct`` (token ids
        equal to the gold object's).
    """
    from kgalign.lm.probing.lm import MaskedLMProber

    if mode not in ("typed", "untyped", "both"):
        raise InputError(f"unknown probing mode {mode!r}; use typed, untyped or both")
    typed = mode in ("typed", "both")
    untyped = mode in ("untyped", "both")
    if untyped and not isinstance(prober, MaskedLMProber):
        raise InputError("untyped decoding needs a masked LM; use mode='typed' for causal LMs")
    if typed and candidates is None:
        raise InputError("typed ranking needs candidate sets")
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, q in enumerate(queries):
        groups[(q.candidates, q.template.text, q.lang)].append(i)
    rows: list[dict] = [None] * len(queries)  # type: ignore[list-item]
    if untyped and max_masks is None:
        longest = max((len(prober.tokens(q.object)) for q in queries), default=1)
        max_masks = max(1, min(10, longest))
    bar: Callable[..., Any] | None
    try:
        from tqdm.auto import tqdm

        bar = tqdm
    except ImportError:  # pragma: no cover
        bar = None
    items = list(groups.items())
    it = bar(items, desc="probe", leave=False) if (progress and bar is not None) else items
    for (ckey, _tt, _lang), idx in it:
        qs = [queries[i] for i in idx]
        template = qs[0].template
        subjects = [q.subject for q in qs]
        base = []
        for q in qs:
            base.append(
                {
                    "fact": q.fact,
                    "lang": q.lang,
                    "relation": q.relation,
                    "relation_id": template.relation_id,
                    "template": template.text,
                    "fallback": template.fallback,
                    "query": template.fill(q.subject, _mask_text(prober)),
                    "subject": q.subject,
                    "object": q.object,
                    **q.extra,
                }
            )
        if typed:
            assert candidates is not None  # typed ranking without candidates was rejected above
            names = list(candidates.get(ckey, []))
            known = set(names)
            for q in qs:
                if q.object not in known:
                    names.append(q.object)
                    known.add(q.object)
            scores = prober.rank_candidates(template, subjects, names)
            pos = {n: j for j, n in enumerate(names)}
            for r, q, sc in zip(base, qs, scores):
                gold = sc[pos[q.object]]
                # pessimistic ties (as kgalign's alignment metrics): a gold object tied with
                # other candidates ranks after all of them, so a constant scorer gets P@1 = 0
                rank = int(np.sum(sc >= gold))
                r.update(
                    prediction=names[int(np.argmax(sc))],
                    rank=rank,
                    n_candidates=len(names),
                    ties=int(np.sum(sc == gold)) - 1,
                    correct=rank == 1,
                    gold_score=float(gold),
                )
        if untyped:
            decoded = prober.decode(template, subjects, max_masks=max_masks, strategy=strategy)
            for r, q, d in zip(base, qs, decoded):
                r.update(
                    untyped_prediction=d.text,
                    untyped_n_masks=d.n_masks,
                    untyped_correct=d.token_ids == prober.tokens(q.object),
                )
        for i, r in zip(idx, base):
            rows[i] = r
    return rows


def _mask_text(prober) -> str:
    tok = getattr(prober, "tokenizer", None)
    return getattr(tok, "mask_token", None) or OBJ


def precision_at_1(rows: Sequence[dict], key: str = "correct") -> dict:
    """P@1 per language and relation, macro and micro.

    Parameters
    ----------
    rows : sequence of dict
        Result rows with ``lang``, ``relation_id`` and the boolean ``key``.
    key : str
        ``"correct"`` (typed ranking) or ``"untyped_correct"``.

    Returns
    -------
    dict
        ``{lang: {"micro": float, "macro": float, "n": int,
        "relations": {relation_id: {"p_at_1": float, "n": int}}}}``; micro averages over
        queries, macro over relations (each relation weighted equally). Rows without ``key``
        are skipped.
    """
    acc: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if key in r:
            acc[r["lang"]][r["relation_id"]].append(bool(r[key]))
    out = {}
    for lang, rels in sorted(acc.items()):
        per = {rid: {"p_at_1": float(np.mean(v)), "n": len(v)} for rid, v in sorted(rels.items())}
        allv = [x for v in rels.values() for x in v]
        out[lang] = {
            "micro": float(np.mean(allv)),
            "macro": float(np.mean([p["p_at_1"] for p in per.values()])),
            "n": len(allv),
            "relations": per,
        }
    return out


def consistency(rows: Sequence[dict], lang1: str, lang2: str, key: str = "correct") -> dict:
    """Cross-lingual consistency: facts correct in both languages, in one, in none.

    Returns
    -------
    dict
        Counts ``both``, ``only_<lang1>``, ``only_<lang2>``, ``none``, the number ``n`` of
        facts asked in both languages, and ``overlap`` = both / (facts correct in at least
        one language) (0 when none is correct).
    """
    by_fact: dict[int, dict[str, bool]] = defaultdict(dict)
    for r in rows:
        if key in r:
            by_fact[r["fact"]][r["lang"]] = bool(r[key])
    c = {"both": 0, f"only_{lang1}": 0, f"only_{lang2}": 0, "none": 0}
    for v in by_fact.values():
        if lang1 not in v or lang2 not in v:
            continue
        a, b = v[lang1], v[lang2]
        c["both" if a and b else f"only_{lang1}" if a else f"only_{lang2}" if b else "none"] += 1
    n = sum(c.values())
    known = n - c["none"]
    return {**c, "n": n, "overlap": c["both"] / known if known else 0.0}


def classify_facts(
    rows: Sequence[dict],
    lang1: str,
    lang2: str,
    key: str = "correct",
    shared: dict[int, bool] | None = None,
    present: dict[tuple[int, str], bool] | None = None,
) -> None:
    """Add a ``class`` field to every row, in place.

    Classes: ``shared`` / ``independent`` (correct in both languages; from the neuron
    analysis when ``shared`` is given, else ``both``), ``transferred`` (correct in this
    language although the language's corpus lacks the fact and the other language's corpus
    has it; needs ``present``), ``guessed`` (correct although neither corpus has the fact:
    a prior or a lucky guess, not transfer),
    ``<lang>-only`` (correct only in this language), ``not-known-here`` (correct only in the
    other language), ``unknown`` (correct in neither).

    Parameters
    ----------
    shared : dict of int to bool, optional
        Fact index -> shared (True) or language-independent (False).
    present : dict of (int, str) to bool, optional
        (fact, lang) -> the fact occurs in that language's corpus (:mod:`.tracing`).
    """
    by_fact: dict[int, dict[str, bool]] = defaultdict(dict)
    for r in rows:
        if key in r:
            by_fact[r["fact"]][r["lang"]] = bool(r[key])
    for r in rows:
        if key not in r:
            continue
        v = by_fact[r["fact"]]
        here = v.get(r["lang"], False)
        other = v.get(lang2 if r["lang"] == lang1 else lang1, False)
        other_lang = lang2 if r["lang"] == lang1 else lang1
        if present is not None:
            r["in_corpus"] = bool(present.get((r["fact"], r["lang"]), False))
            r["in_other_corpus"] = bool(present.get((r["fact"], other_lang), False))
        if here and present is not None and not r["in_corpus"]:
            # only a fact the other language's corpus states can have been transferred from it
            cls = "transferred" if r["in_other_corpus"] else "guessed"
        elif here and other:
            cls = (
                "both"
                if shared is None or r["fact"] not in shared
                else ("shared" if shared[r["fact"]] else "independent")
            )
        elif here:
            cls = f"{r['lang']}-only"
        elif other:
            cls = "not-known-here"
        else:
            cls = "unknown"
        r["class"] = cls
