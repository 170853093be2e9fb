"""Where the entity links that turn two KGs into bilingual facts come from.

Probing follows kgalign's design: the aligned pairs feed probing. By default the links are
kgalign's own unsupervised alignment (:func:`kgalign.aligner.pipeline.align`, no gold link
used), or an alignment file written earlier; the gold links are used only when asked for.
Because a wrong link yields a wrong "fact" (an object that belongs to another subject), the
quality of the links used is reported next to every probing result (:func:`link_quality`).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import numpy as np

from kgalign.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from kgalign.config import AlignConfig
    from kgalign.kg import KGPair

log = logging.getLogger(__name__)

__all__ = ["LINK_SOURCES", "aligned_links", "read_links", "link_quality"]

LINK_SOURCES = ("aligner", "file", "gold")


def read_links(path: str | os.PathLike, pair: KGPair) -> tuple[np.ndarray, int]:
    """Entity pairs of an alignment file (kgalign result, SSSOM, gold file) as KG positions.

    Returns
    -------
    (ndarray of int64, shape (p, 2), int)
        Positions in ``pair.kg1`` and ``pair.kg2`` and the number of pairs skipped because
        an entity is in neither graph.

    Raises
    ------
    InputError
        The file cannot be read, or no pair names entities of the two graphs.
    """
    from kgalign.io.iri import iri_key
    from kgalign.io.readers import read_alignment

    al = read_alignment(path).equivalences()
    idx1 = {iri_key(k): v for k, v in pair.kg1.index.items()}  # IRIs or their URI form (SSSOM)
    idx2 = {iri_key(k): v for k, v in pair.kg2.index.items()}
    rows, missing = [], 0
    for a, b in al.pairs:
        a = iri_key(a if iri_key(a) in idx1 else al.aliases1.get(a, a))
        b = iri_key(b if iri_key(b) in idx2 else al.aliases2.get(b, b))
        if a in idx1 and b in idx2:
            rows.append((idx1[a], idx2[b]))
        else:
            missing += 1
    if not rows:
        raise InputError("no pair of the alignment names entities of the two graphs", path)
    return np.asarray(rows, dtype=np.int64).reshape(-1, 2), missing


def aligned_links(
    pair: KGPair,
    source: str = "aligner",
    *,
    path: str | os.PathLike | None = None,
    config: AlignConfig | None = None,
    **align_options,
) -> tuple[np.ndarray, dict]:
    """The entity links probing uses, with a record of where they came from.

    Parameters
    ----------
    pair : KGPair
        The two graphs (``pair.links``, the gold links, are read only for ``source="gold"``
        and for the quality report).
    source : {"aligner", "file", "gold"}
        ``"aligner"``: run :func:`kgalign.aligner.pipeline.align` on all entities of both
        graphs (the unsupervised setting: no gold link chooses sources or targets);
        ``"file"``: read ``path``; ``"gold"``: the pair's gold links.
    path : path, optional
        The alignment file for ``source="file"``.
    config : AlignConfig, optional
        Aligner configuration (default :class:`~kgalign.config.AlignConfig`).
    **align_options
        Further keyword arguments of :func:`~kgalign.aligner.pipeline.align` (``encoder``,
        ``translator``, ``show_progress``...).

    Returns
    -------
    (ndarray of int64, shape (p, 2), dict)
        KG positions ``(kg1, kg2)`` of each link, and ``{"source", "n_links", ...}`` plus,
        when the pair has gold links, :func:`link_quality` of the links.

    Raises
    ------
    InputError
        Unknown source, no path for ``"file"``, no gold links for ``"gold"``.
    """
    if source not in LINK_SOURCES:
        raise InputError(f"unknown link source {source!r}; use one of {', '.join(LINK_SOURCES)}")
    info: dict = {"source": source}
    if source == "gold":
        if pair.links is None or len(pair.links) == 0:
            raise InputError("the pair has no gold links")
        links = np.asarray(pair.links, dtype=np.int64).reshape(-1, 2)
    elif source == "file":
        if path is None:
            raise InputError("link source 'file' needs a path")
        links, missing = read_links(path, pair)
        info.update(path=os.fspath(path), skipped=missing)
    else:
        from kgalign.aligner.pipeline import align

        res = align(
            pair.kg1,
            pair.kg2,
            translations=pair.translations,
            config=config,
            lang1=pair.lang1,
            lang2=pair.lang2,
            **align_options,
        )
        links = np.stack([res.rows, res.cols], axis=1).astype(np.int64).reshape(-1, 2)
        info.update(
            stages={k: round(float(v.get("seconds", 0.0)), 2) for k, v in res.stages.items()},
            config=res.config.to_dict(),
        )
    info["n_links"] = int(len(links))
    if pair.links is not None and len(pair.links) and source != "gold":
        info["quality"] = link_quality(links, pair.links)
        log.info("links from %s: %d, precision %.3f against gold", source, len(links), info["quality"]["precision"])
    return links, info


def link_quality(links, gold) -> dict:
    """Precision and recall of entity links against gold links.

    Parameters
    ----------
    links, gold : array-like of int, shape (p, 2) and (g, 2)
        KG positions.

    Returns
    -------
    dict
        ``precision`` (share of links that are gold links, over links whose kg1 entity has a
        gold link, so dangling entities do not count against it), ``recall`` (share of gold
        links found), ``n_links``, ``n_gold``, ``n_correct``.
    """
    links = np.asarray(links, dtype=np.int64).reshape(-1, 2)
    gold = np.asarray(gold, dtype=np.int64).reshape(-1, 2)
    gold_set = set(map(tuple, gold.tolist()))
    gold_src = set(gold[:, 0].tolist())
    judged = [tuple(l) for l in links.tolist() if l[0] in gold_src]
    correct = sum(1 for l in judged if l in gold_set)
    return {
        "precision": correct / len(judged) if judged else 0.0,
        "recall": correct / len(gold) if len(gold) else 0.0,
        "n_links": int(len(links)),
        "n_judged": len(judged),
        "n_gold": int(len(gold)),
        "n_correct": int(correct),
    }
