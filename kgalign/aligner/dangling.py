"""Gold-free abstention for dangling entities (open-world entity alignment).

In the open setting every entity of both graphs is a candidate, and many have no counterpart
(about 4,400 per side in DBP15K). A 1-to-1 assignment pairs each of them with *something*;
this module decides, after the assignment, which pairs to withdraw, without any gold link.

The rule (``"abstain": "auto"``, :class:`kgalign.config.AbstainConfig`)
--------------------------------
A pair ``(i, j)`` of the assignment is withdrawn when

* its fused similarity is below ``min_score`` (weak evidence), or
* ``i`` or ``j`` is *peripheral* in its graph: it takes part in fewer relation triples than
  ``degree_ratio`` times the median number of triples per entity of that graph
  (:func:`peripheral_entities`).

Both settings were chosen on DBP15K zh_en only and are fixed for every other pair
(``min_score = 0.3``, ``degree_ratio = 1/3``; on zh_en that is "degree <= 1" on the Chinese
side, median 5, and "degree <= 2" on the English side, median 7). The rule reads the graphs
and the scores of the run itself, never gold links; it depends on neither entity order nor
identifiers, so it is invariant under any permutation of the inputs.

Why degree
----------
A graph built by collecting the neighbourhood of a set of *described* entities mentions many
other entities only once or twice, as the object of a described entity's triple. DBP15K is
such a graph: measured on zh_en, 96 % of the Chinese entities of degree 1 and 98 % of the
English ones have no gold counterpart, against under 1 % of the linked entities; and no triple
joins two unlinked entities. The dangling entities are such mentioned-only entities, and
many of them do have a same-named partner on the other side that the gold standard omits
(a 1-to-1 assignment finds it, at a similarity as high as that of correct pairs), so score
evidence alone cannot separate them (best gold-picked score threshold: F1 0.84 on zh_en).
The degree test generalises as "too thinly described to be aligned with confidence"; on
complete graphs (few entities below a third of the median degree) it removes little.
Sun, Chen and Hu ("Knowing the No-match: Entity Alignment with Dangling Cases", ACL 2021)
observe that dangling entities have sparser neighbourhoods than matchable ones and detect
them before matching; Liu et al. ("Dangling-Aware Entity Alignment with Mixed High-Order
Proximities", Findings of NAACL 2022) use the same structural signal. Here it is a fixed,
documented rule, with no classifier to train.

Measured (open protocol: all entities of both graphs, default pipeline, presentation seeds 0
and 1, ``kgalign benchmark dbp15k --pair PAIR --protocol open``, which now passes
``"abstain": "auto"``, :class:`kgalign.config.AbstainConfig`): F1 without -> with abstention zh_en 0.816 ->
0.918 (P 0.931, R 0.905),
ja_en 0.839 -> 0.934 (P 0.930, R 0.938), fr_en 0.861 -> 0.951. On zh_en, a classifier trained
*with* gold (gradient boosting, 5-fold, on score, row/column margins, mutual-best and degrees)
reaches 0.928, and 0.926 on score and degrees alone: margins and mutual-nearest-neighbour
status add < 0.003 and are not used. Sensitivity (zh / ja / fr F1): ``degree_ratio`` 0.25:
0.911 / 0.921 / 0.950; 0.4: 0.918 / 0.927 / 0.938; ``min_score`` None: 0.916 / 0.934 / 0.951.
Of the pairs still counted wrong, 49 % (zh), 80 % (ja) and 95 % (fr) join two unlinked
entities; in a random sample of 25 such zh_en pairs (before abstention) 20 named the same
real-world entity, i.e. were right but absent from the gold standard. On a closed-world pair
(SILKNOW en/fr thesaurus, every concept linked) abstention can only cost recall: F1 0.761 ->
0.675 with "auto" before the schema stage (:mod:`kgalign.aligner.schema`) existed; after it,
"auto" withdraws 48 pairs, as many as ``schema.min_score`` withdraws (F1 0.889 either way,
0.905 with no abstention at all); so :func:`kgalign.align` keeps it off by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kgalign.config import AbstainConfig, abstain_config
from kgalign.errors import InputError

__all__ = ["peripheral_entities", "Abstention", "abstain"]

#: Default of :func:`peripheral_entities` (the ``abstain.degree_ratio`` default).
_DEGREE_RATIO = AbstainConfig().degree_ratio


def peripheral_entities(kg, degree_ratio: float = _DEGREE_RATIO) -> np.ndarray:
    """Entities taking part in fewer than ``degree_ratio * median degree`` relation triples.

    Parameters
    ----------
    kg : KnowledgeGraph
        Degrees come from :meth:`KnowledgeGraph.degrees` (relation triples in which the entity
        is head or tail; a self-loop counts twice).
    degree_ratio : float
        Non-negative; 0 (or a graph without triples, median 0) marks nothing.

    Returns
    -------
    ndarray of bool, shape (kg.n_entities,)
        True for peripheral ("mentioned only") entities. Depends only on the multiset of
        degrees, so it is invariant under any re-ordering of the entities.
    """
    deg = kg.degrees()
    if len(deg) == 0:
        return np.zeros(0, dtype=bool)
    cut = float(degree_ratio) * float(np.median(deg))
    return deg < cut


@dataclass
class Abstention:
    """What :func:`abstain` decided.

    Attributes
    ----------
    keep : ndarray of bool, shape (p,)
        One flag per input pair: True keeps it.
    low_score : ndarray of bool, shape (p,)
        Pairs withdrawn (at least) for a score below ``min_score``.
    peripheral : ndarray of bool, shape (p,)
        Pairs withdrawn (at least) because an endpoint is peripheral.
    settings : dict
        The settings used, plus ``median_degree1``/``median_degree2`` and the number of
        peripheral entities of each graph.
    """

    keep: np.ndarray
    low_score: np.ndarray
    peripheral: np.ndarray
    settings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Counts for logs and ``AlignmentResult.info``."""
        return {
            **self.settings,
            "pairs": int(len(self.keep)),
            "kept": int(self.keep.sum()),
            "withdrawn_low_score": int(self.low_score.sum()),
            "withdrawn_peripheral": int(self.peripheral.sum()),
        }


def abstain(kg1, kg2, rows, cols, scores, settings: AbstainConfig | dict | str | None = "auto") -> Abstention:
    """Decide which pairs of a 1-to-1 assignment to withdraw (see the module notes).

    Parameters
    ----------
    kg1, kg2 : KnowledgeGraph
        The full graphs (degrees and medians are taken over all their entities).
    rows, cols : array_like of int, shape (p,)
        The assigned pairs as entity positions in ``kg1`` and ``kg2``.
    scores : array_like of float, shape (p,)
        Fused similarity of each pair (:func:`kgalign.aligner.similarity.compute_similarity`, a
        weighted mean of cosines in [-1, 1]); NaN counts as below any threshold.
    settings : AbstainConfig, dict, str or None
        Anything :func:`kgalign.config.abstain_config` accepts (``"auto"``, a mapping of
        :class:`~kgalign.config.AbstainConfig` keys); ``None``/"none" keeps every pair.

    Returns
    -------
    Abstention

    Raises
    ------
    InputError
        For bad settings, mismatched lengths or positions outside the graphs.
    """
    cfg = abstain_config(settings)  # an AbstainConfig passes unchanged
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    cols = np.asarray(cols, dtype=np.int64).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if not (len(rows) == len(cols) == len(scores)):
        raise InputError(f"abstain: rows, cols and scores differ in length ({len(rows)}, {len(cols)}, {len(scores)})")
    for pos, kg, what in ((rows, kg1, "rows"), (cols, kg2, "cols")):
        if len(pos) and (pos.min() < 0 or pos.max() >= kg.n_entities):
            raise InputError(f"abstain: {what} hold positions outside 0..{kg.n_entities - 1}")
    p = len(rows)
    if cfg is None:
        none = np.zeros(p, dtype=bool)
        return Abstention(np.ones(p, dtype=bool), none, none.copy(), {"enabled": False})
    low = np.zeros(p, dtype=bool)
    if cfg.min_score is not None:
        low = ~(scores >= cfg.min_score)  # NaN -> withdrawn
    per1 = peripheral_entities(kg1, cfg.degree_ratio)
    per2 = peripheral_entities(kg2, cfg.degree_ratio)
    periph = per1[rows] | per2[cols]
    info = {
        "enabled": True,
        **cfg.to_dict(),
        "median_degree1": float(np.median(kg1.degrees())) if kg1.n_entities else 0.0,
        "median_degree2": float(np.median(kg2.degrees())) if kg2.n_entities else 0.0,
        "peripheral_entities1": int(per1.sum()),
        "peripheral_entities2": int(per2.sum()),
    }
    return Abstention(~(low | periph), low, periph, info)
