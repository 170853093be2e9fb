"""Self-training without gold links: confident pairs become pseudo-anchors.

Each round takes the pairs that are mutual best matches of the current similarity with a
margin over the runner-up (no gold involved), describes every entity by the pseudo-anchors in
its 1-hop and 2-hop neighbourhood, adds the cosine of those anchor profiles to the base
similarity (the neighbour-consistency idea of anchor label propagation, cf. LightEA: Mao et al.,
EMNLP 2022), and repeats. It stops when the confident set stops growing (relative growth below
``min_growth``) or after ``rounds`` rounds: a rule that reads no gold.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from kgalign.aligner.views.strings import sparse_cosine_into
from kgalign.config import SelftrainConfig

log = logging.getLogger(__name__)

#: Cells per row block of :func:`confident_pairs` (about 16 MiB of float32).
_BLOCK_CELLS = 1 << 22


@dataclass
class SelfTrainInfo:
    """What self-training did: per round the number of confident pairs."""

    confident: list[int] = field(default_factory=list)
    rounds: int = 0
    stopped: str = ""
    #: sparse path: the last round's anchor profiles ``(w, P1, P2)`` per hop (rows of the
    #: sources / targets), so that pairs outside the candidate graph can be scored alike
    profiles: list = field(default_factory=list, repr=False)


#: Scores this close to a column's best count as a tie there (float32 rounding of sums taken in
#: another order is ~1e-7)
TIE_TOL = 1e-5


def confident_pairs(S: np.ndarray, margin: float = 0.05):
    """Mutual-best pairs whose score beats the row's runner-up by more than ``margin``.

    Parameters
    ----------
    S : ndarray of float, shape (n1, n2)
        Similarity (higher is better). Needs n2 >= 2 for a margin; with one column every
        mutual best pair counts.
    margin : float
        Required gap between the best and second-best score of the row.

    Returns
    -------
    rows, cols : ndarray of int64, shape (k,)
        Row and column indices of the confident pairs (rows increasing).

    Notes
    -----
    Ties: with a positive margin tied rows are never confident, and a column whose best score
    another row comes within :data:`TIE_TOL` of (two sources with the same label: which one
    ``argmax`` finds first would depend on the order of the entities, and float sums in
    another order differ in the last bits) gives no confident pair.
    """
    S = np.asarray(S)
    if S.ndim != 2:
        raise ValueError(f"similarity must be 2-D, got shape {S.shape}")
    if S.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not np.issubdtype(S.dtype, np.floating):
        S = S.astype(np.float64)
    n1, n2 = S.shape
    # One pass over row blocks (a column-wise argmax of a C-ordered matrix would copy it):
    # row best and runner-up, and the first row that attains each column's maximum.
    col_max = S.max(axis=0)
    best_c = np.empty(n1, np.int64)
    gap = np.full(n1, np.inf, S.dtype)
    best_r = np.full(n2, -1, np.int64)
    near = np.zeros(n2, np.int64)  # rows within TIE_TOL of the column's best
    block = max(1, min(n1, _BLOCK_CELLS // max(1, n2)))
    tmp = np.empty((block, n2), S.dtype)
    for start in range(0, n1, block):
        blk = S[start : start + block]
        b = len(blk)
        bc = blk.argmax(axis=1)
        best_c[start : start + b] = bc
        if n2 >= 2:
            t = tmp[:b]
            np.copyto(t, blk)
            top = t[np.arange(b), bc]
            t[np.arange(b), bc] = -np.inf
            gap[start : start + b] = top - t.max(axis=1)
        hit = blk == col_max
        near += (blk >= col_max - TIE_TOL).sum(axis=0)
        new = hit.any(axis=0) & (best_r < 0)
        if new.any():
            best_r[new] = start + hit[:, new].argmax(axis=0)
    missing = np.nonzero(best_r < 0)[0]  # only columns holding NaN
    if len(missing):
        best_r[missing] = S[:, missing].argmax(axis=0)
    rows = np.nonzero((best_r[best_c] == np.arange(n1)) & (near[best_c] <= 1))[0]
    if n2 >= 2:
        rows = rows[gap[rows] > margin]
    return rows.astype(np.int64), best_c[rows].astype(np.int64)


def _reach(A, hops: int):
    """Binary reachability matrices within exactly 1..hops steps (paths may revisit)."""
    import scipy.sparse as sp

    B = (A > 0).astype(np.float32).tocsr()
    out, P = [B], B
    for _ in range(hops - 1):
        P = (P @ B).tocsr()
        P.data[:] = 1.0
        out.append(P.astype(np.float32))
    return [sp.csr_matrix(m) for m in out]


def anchor_similarity(
    out: np.ndarray, reach1, reach2, sources, targets, anchors1, anchors2, hop_weights, idf: bool = False
) -> np.ndarray:
    """Add the weighted cosine of pseudo-anchor neighbourhood profiles to ``out``.

    The k-hop profile of entity i is the binary vector over anchors a (pairs
    ``(anchors1[a], anchors2[a])``) that lie within k hops of i; two entities are similar when
    their neighbourhoods hold the same anchor pairs.

    Parameters
    ----------
    out : ndarray of float32, shape (len(sources), len(targets)); modified in place
    reach1, reach2 : list of scipy.sparse.csr_matrix
        Per hop, binary reachability matrices of each graph (shape (n1, n1) and (n2, n2)).
    sources, targets : ndarray of int64
        Entity positions of the rows and columns of ``out``.
    anchors1, anchors2 : ndarray of int64, shape (k,)
        Entity positions (in kg1 and kg2) of the pseudo-anchor pairs.
    hop_weights : sequence of float
        One weight per hop.
    idf : bool
        Weight each anchor pair by ``sqrt(idf1 * idf2)`` with ``idf = log(1 + n / df)``, df the
        number of entities that reach the anchor within the hop, so that hubs count less.

    Returns
    -------
    ndarray
        ``out``.
    """

    for w, P1, P2 in _anchor_profiles(reach1, reach2, sources, targets, anchors1, anchors2, hop_weights, idf):
        sparse_cosine_into(out, P1, P2, float(w))
    return out


def _anchor_profiles(reach1, reach2, sources, targets, anchors1, anchors2, hop_weights, idf):
    """Per hop with a positive weight: ``(w, P1, P2)``, the unit-norm anchor profiles (CSR)."""
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    k = len(anchors1)
    if k == 0:
        return
    M1 = sp.csr_matrix((np.ones(k, np.float32), (anchors1, np.arange(k))), shape=(reach1[0].shape[0], k))
    M2 = sp.csr_matrix((np.ones(k, np.float32), (anchors2, np.arange(k))), shape=(reach2[0].shape[0], k))
    for w, R1, R2 in zip(hop_weights, reach1, reach2):
        if w <= 0:
            continue
        P1 = (R1[sources] @ M1).tocsr()
        P2 = (R2[targets] @ M2).tocsr()
        if idf:
            df1 = np.asarray((R1 @ M1).sum(axis=0)).ravel()
            df2 = np.asarray((R2 @ M2).sum(axis=0)).ravel()
            col = np.sqrt(np.log1p(R1.shape[0] / np.maximum(df1, 1)) * np.log1p(R2.shape[0] / np.maximum(df2, 1)))
            P1 = (P1 @ sp.diags(col.astype(np.float32))).tocsr()
            P2 = (P2 @ sp.diags(col.astype(np.float32))).tocsr()
        yield w, normalize(P1), normalize(P2)


def confident_pairs_sparse(S, margin: float = 0.05):
    """:func:`confident_pairs` on a candidate graph: only stored pairs are compared.

    A row's best and runner-up are its best two stored values (a row with one candidate has
    no runner-up: its gap is infinite, as with one column in the dense case); a column's best
    row is the first row attaining the column's largest stored value. Ties as in
    :func:`confident_pairs` (tied rows and columns give no confident pair).

    Parameters
    ----------
    S : scipy.sparse matrix, shape (n1, n2)
    margin : float

    Returns
    -------
    rows, cols : ndarray of int64
    """
    import scipy.sparse as sp

    S = sp.csr_matrix(S)
    n1, n2 = S.shape
    if S.nnz == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    S.sort_indices()  # the first maximum of a row segment is then its smallest column
    r = np.repeat(np.arange(n1, dtype=np.int64), np.diff(S.indptr))
    c = S.indices.astype(np.int64)
    v = S.data.astype(np.float64)
    # segment reductions in O(nnz), no sort: row best (smallest column among ties) and gap
    starts = S.indptr[:-1][np.diff(S.indptr) > 0]
    nonempty = r[starts]
    row_max = np.full(n1, -np.inf)
    row_max[nonempty] = np.maximum.reduceat(v, starts)
    at_max = np.flatnonzero(v == row_max[r])
    first = at_max[np.r_[True, r[at_max][1:] != r[at_max][:-1]]]
    best_c = np.full(n1, -1, np.int64)
    best_c[r[first]] = c[first]
    rest = v.copy()
    rest[first] = -np.inf
    second = np.full(n1, -np.inf)
    second[nonempty] = np.maximum.reduceat(rest, starts)
    gap = np.full(n1, np.inf)  # inf for a row with one candidate (and for empty rows)
    gap[nonempty] = row_max[nonempty] - second[nonempty]
    # column best: the smallest row attaining the column's largest value
    col_max = np.full(n2, -np.inf)
    np.maximum.at(col_max, c, v)
    hit = v == col_max[c]
    best_r = np.full(n2, n1, np.int64)
    np.minimum.at(best_r, c[hit], r[hit])
    best_r[best_r == n1] = -1
    near = np.bincount(c[v >= col_max[c] - TIE_TOL], minlength=n2)
    has = best_c >= 0
    rows = np.flatnonzero(has)
    rows = rows[(best_r[best_c[rows]] == rows) & (near[best_c[rows]] <= 1)]
    rows = rows[gap[rows] > margin]
    return rows.astype(np.int64), best_c[rows]


def self_train(
    S_base: np.ndarray, kg1, kg2, sources, targets, config: SelftrainConfig | None = None, timer=None
) -> tuple[np.ndarray, SelfTrainInfo]:
    """Iterative pseudo-anchor self-training on top of a base similarity.

    Parameters
    ----------
    S_base : ndarray of float32, shape (len(sources), len(targets))
        Fused similarity of the other views (not modified).
    kg1, kg2 : KnowledgeGraph
        Full graphs (their triples carry the anchor profiles).
    sources, targets : ndarray of int64
        Entity positions of the rows and columns.
    config : SelftrainConfig, optional
        Default ``SelftrainConfig()`` (:class:`kgalign.config.SelftrainConfig`).
    timer : StageTimer, optional

    Returns
    -------
    S : ndarray of float32, same shape
        ``S_base`` plus the anchor-profile similarity of the last round (``S_base`` itself,
        copied, when no round ran).
    info : SelfTrainInfo
    """
    from kgalign.aligner.views.structure import normalized_adjacency

    cfg = SelftrainConfig() if config is None else config
    if not isinstance(cfg, SelftrainConfig):
        raise TypeError(f"self_train takes a SelftrainConfig (kgalign.config), not {type(cfg).__name__}")
    info = SelfTrainInfo()
    sources = np.asarray(sources, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    hop_weights = _used_hop_weights(cfg)
    S_base = np.asarray(S_base, dtype=np.float32)
    S = np.array(S_base, dtype=np.float32, copy=True)
    if not hop_weights:
        info.stopped = "disabled"
        return S, info
    reach1 = _reach(normalized_adjacency(kg1), len(hop_weights))
    reach2 = _reach(normalized_adjacency(kg2), len(hop_weights))

    def rescore(rows, cols):
        np.copyto(S, S_base)  # reuse the buffer: a fresh 15k x 20k array costs page faults
        anchor_similarity(S, reach1, reach2, sources, targets, sources[rows], targets[cols], hop_weights, idf=cfg.idf)
        return S

    return _run_rounds(cfg, info, S, lambda cur: confident_pairs(cur, cfg.margin), rescore), info


def abstain_threshold(scores, bins: int = 256) -> float:
    """A gold-free score threshold separating matched from unmatched (dangling) entities.

    Otsu's rule (Otsu: "A threshold selection method from gray-level histograms", IEEE SMC
    1979) on the scores of the assigned pairs: the cut that maximises the between-class
    variance of the two groups. Correct pairs of a good similarity score high and the forced
    partners of dangling entities low, so the histogram is bimodal; no gold link is read.

    Parameters
    ----------
    scores : array-like of float, shape (k,)
        Scores of the pairs of a 1-to-1 assignment (non-finite values are ignored).
    bins : int
        Histogram resolution.

    Returns
    -------
    float
        Keep pairs with ``score >= threshold``; ``-inf`` when fewer than two distinct finite
        scores exist (nothing to separate).
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    s = s[np.isfinite(s)]
    if len(s) < 2 or s.min() == s.max():
        return float("-inf")
    hist, edges = np.histogram(s, bins=bins)
    p = hist / hist.sum()
    centers = 0.5 * (edges[:-1] + edges[1:])
    w0 = np.cumsum(p)
    mu = np.cumsum(p * centers)
    w1 = 1.0 - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu[-1] * w0 - mu) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = -1.0
    k = int(np.argmax(between[:-1]))
    return float(edges[k + 1])


def self_train_sparse(S_base, kg1, kg2, sources, targets, config: SelftrainConfig | None = None, timer=None):
    """:func:`self_train` on a candidate graph: anchor profiles are compared for stored pairs only.

    Parameters
    ----------
    S_base : scipy.sparse.csr_matrix of float32, shape (len(sources), len(targets))
        Fused similarity of the candidate pairs (not modified).
    kg1, kg2, sources, targets, config, timer
        As in :func:`self_train`.

    Returns
    -------
    S : scipy.sparse.csr_matrix of float32
        Same pairs as ``S_base``, values plus the anchor-profile similarity of the last round.
    info : SelfTrainInfo
    """
    import scipy.sparse as sp

    from kgalign.aligner.views.strings import pair_dot
    from kgalign.aligner.views.structure import normalized_adjacency

    cfg = SelftrainConfig() if config is None else config
    if not isinstance(cfg, SelftrainConfig):
        raise TypeError(f"self_train_sparse takes a SelftrainConfig (kgalign.config), not {type(cfg).__name__}")
    info = SelfTrainInfo()
    sources = np.asarray(sources, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    hop_weights = _used_hop_weights(cfg)
    base = sp.csr_matrix(S_base, dtype=np.float32)
    base.sum_duplicates()
    S = base.copy()
    if not hop_weights:
        info.stopped = "disabled"
        return S, info
    pr = np.repeat(np.arange(base.shape[0], dtype=np.int64), np.diff(base.indptr))
    pc = base.indices.astype(np.int64)
    reach1 = _reach(normalized_adjacency(kg1), len(hop_weights))
    reach2 = _reach(normalized_adjacency(kg2), len(hop_weights))

    def rescore(rows, cols):
        data = base.data.copy()
        info.profiles = list(
            _anchor_profiles(reach1, reach2, sources, targets, sources[rows], targets[cols], hop_weights, cfg.idf)
        )
        for w, P1, P2 in info.profiles:
            data += np.float32(w) * pair_dot(P1, P2, pr, pc)
        return sp.csr_matrix((data, base.indices, base.indptr), shape=base.shape)

    return _run_rounds(cfg, info, S, lambda cur: confident_pairs_sparse(cur, cfg.margin), rescore), info


def _used_hop_weights(cfg: SelftrainConfig) -> list[float]:
    """The hop weights up to the last positive one; empty when self-training is off."""
    hop_weights = list(cfg.hop_weights)
    while hop_weights and hop_weights[-1] <= 0:  # no reachability matrix for unused hops
        hop_weights.pop()
    if not cfg.enabled or cfg.rounds <= 0 or not any(w > 0 for w in hop_weights):
        return []
    return hop_weights


def _run_rounds(cfg: SelftrainConfig, info: SelfTrainInfo, S, confident, rescore):
    """The self-training loop of the dense and the sparse path: find confident pairs in the
    current similarity, stop when there are none or the set stops growing, else re-score from
    the base similarity with them as pseudo-anchors; ``info`` records each round."""
    prev = 0
    for rnd in range(cfg.rounds):
        rows, cols = confident(S)
        info.confident.append(int(len(rows)))
        if len(rows) == 0:
            info.stopped = "no confident pairs"
            break
        if prev and len(rows) < prev * (1.0 + cfg.min_growth):
            info.stopped = "confident set stopped growing"
            break
        prev = len(rows)
        S = rescore(rows, cols)
        info.rounds = rnd + 1
        log.info("self-training round %d: %d pseudo-anchors", rnd + 1, len(rows))
    else:
        info.stopped = "round limit"
    return S
