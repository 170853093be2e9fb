"""Candidate search at scale: exact blocked top-k where it fits, faiss IVF/HNSW beyond, sharded
over an executor, and the recall of an approximate search measured against the exact one.

Exact search is :func:`kgalign.matching.topk_candidates` (blocked matrix products, C++
selection) on row shards; its cost is ``n1 * n2 * dim`` multiply-adds. Beyond
:data:`EXACT_LIMIT` pairs, :func:`search_candidates` switches to an approximate index of the
candidate side from faiss (Johnson, Douze & Jégou, "Billion-scale similarity search with
GPUs", IEEE TBD 2019; optional extra ``pip install kgalign[faiss]``):

- ``ivf``: ``IndexIVFFlat`` (inverted file over a k-means coarse quantiser, Jégou et al.,
  TPAMI 2011) with ``nlist ~ 4 sqrt(n2)`` lists, ``nprobe`` of them visited per query;
- ``hnsw``: ``IndexHNSWFlat`` (Malkov & Yashunin, TPAMI 2020), ``M=32``, ``efSearch``.

Both use inner products (normalise the embeddings for cosine). The index is built once and
the queries are searched in row shards on the executor; every shard's result depends only on
its rows, so any executor gives the same candidates. :func:`candidate_recall` reports the
fraction of the exact top-k that the approximate search finds, on a seeded sample of rows.
"""

from __future__ import annotations

import logging

import numpy as np

from kgalign.errors import InputError
from kgalign.executor import Executor, LocalExecutor, shard_ranges

log = logging.getLogger(__name__)

__all__ = ["EXACT_LIMIT", "candidate_recall", "search_candidates"]

#: ``method="auto"`` searches exactly up to this many pairs ``n1 * n2`` (about 1-2 minutes
#: of float32 products at dim 64 on 2 cores), approximately (IVF) beyond.
EXACT_LIMIT = 2 * 10**10


def _exact_shard(rng, A, B, k):
    from kgalign.matching import topk_candidates

    s, e = rng
    S = topk_candidates(A[s:e], B, k)
    return S.indptr, S.indices, S.data


def _faiss():
    try:
        import faiss
    except ImportError as exc:
        raise InputError(
            "approximate candidate search needs the optional package faiss-cpu (pip install kgalign[faiss])"
        ) from exc
    return faiss


#: The deserialised index of the current search, per process (token -> index): each worker
#: process deserialises the shipped index once per search, not once per shard (at 1M x 1M the
#: index is 0.5 GB and 62 shards took 75 s of copies).
_INDEX_CACHE: dict = {}


def _index_for(token: str, index_bytes):
    index = _INDEX_CACHE.get(token)
    if index is None:
        _INDEX_CACHE.clear()  # one search at a time per process: drop the previous index
        index = _INDEX_CACHE[token] = _faiss().deserialize_index(index_bytes)
    return index


def _ann_shard(rng, A, shipped, k, params):
    faiss = _faiss()
    index = _index_for(*shipped)
    if "nprobe" in params:
        faiss.extract_index_ivf(index).nprobe = params["nprobe"]
    if "ef_search" in params:
        index.hnsw.efSearch = params["ef_search"]
    s, e = rng
    D, nbr = index.search(np.ascontiguousarray(A[s:e]), k)
    return D.astype(np.float32), nbr.astype(np.int64)


def build_index(B: np.ndarray, method: str, *, nlist: int | None = None, seed: int = 0):
    """A faiss inner-product index of the rows of ``B`` (``ivf`` or ``hnsw``), trained and filled.

    Parameters
    ----------
    B : ndarray of float32, shape (n2, dim)
    method : {"ivf", "hnsw"}
    nlist : int, optional
        IVF lists (default ``4 sqrt(n2)``, at most ``n2 / 39``, at least 1).
    seed : int
        Seed of the k-means training (its sample and initialisation).

    Returns
    -------
    faiss.Index
    """
    faiss = _faiss()
    n2, dim = B.shape
    if method == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.add(B)
        return index
    nlist = int(nlist or max(1, min(int(4 * np.sqrt(n2)), n2 // 39)))
    quantiser = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantiser, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = int(seed)
    rng = np.random.default_rng(seed)
    n_train = min(n2, 64 * nlist)
    train = B if n_train == n2 else B[np.sort(rng.choice(n2, n_train, replace=False))]
    index.train(np.ascontiguousarray(train))
    index.add(B)
    return index


def _to_csr(D: np.ndarray, nbr: np.ndarray, n2: int):
    import scipy.sparse as sp

    n1, k = nbr.shape
    valid = nbr >= 0
    counts = valid.sum(axis=1)
    indptr = np.zeros(n1 + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    # CSR order: within each row by column
    order = np.argsort(np.where(valid, nbr, np.iinfo(np.int64).max), axis=1, kind="stable")
    nbr, D, valid = (np.take_along_axis(x, order, axis=1) for x in (nbr, D, valid))
    return sp.csr_matrix((D[valid], nbr[valid].astype(np.int32), indptr), shape=(n1, n2))


def search_candidates(
    A,
    B,
    k: int,
    *,
    method: str = "auto",
    executor: Executor | None = None,
    shard_rows: int = 16384,
    nlist: int | None = None,
    nprobe: int = 16,
    ef_search: int = 128,
    seed: int = 0,
    index=None,
):
    """Top-k candidate graph of ``A @ B.T``, exact or approximate, sharded over an executor.

    Parameters
    ----------
    A : array_like, shape (n1, dim)
        Query embeddings (KG1), float32 (normalised for cosine).
    B : array_like, shape (n2, dim)
        Candidate embeddings (KG2).
    k : int
        Candidates per row (>= 1).
    method : {"auto", "exact", "ivf", "hnsw"}
        ``auto``: exact when ``n1 * n2 <= EXACT_LIMIT`` or faiss is missing, else ``ivf``.
    executor : Executor, optional
        Where row shards run (default: this process).
    shard_rows : int
        Rows of ``A`` per shard.
    nlist, nprobe : int
        IVF lists and lists visited per query.
    ef_search : int
        HNSW search breadth.
    seed : int
        Seed of the IVF training.
    index : faiss.Index, optional
        A prebuilt index of ``B`` (from :func:`build_index`) to reuse.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n1, n2), float32
        Row i holds its (at most) k candidates with their inner products, sorted indices.
        Approximate methods may miss true neighbours (see :func:`candidate_recall`) and, for
        IVF, give fewer than k when the visited lists hold fewer vectors.

    Raises
    ------
    InputError
        Bad shapes, ``k < 1``, unknown method, or faiss missing for ``ivf``/``hnsw``.
    """
    import scipy.sparse as sp

    A = np.ascontiguousarray(np.asarray(A, dtype=np.float32))
    B = np.ascontiguousarray(np.asarray(B, dtype=np.float32))
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[1]:
        raise InputError(f"A and B must be 2-D with the same dimension, got {A.shape} and {B.shape}")
    if int(k) < 1:
        raise InputError(f"k must be >= 1, got {k}")
    if method not in ("auto", "exact", "ivf", "hnsw"):
        raise InputError(f"unknown candidate search {method!r}; use auto, exact, ivf or hnsw")
    executor = executor or LocalExecutor()
    n1, n2 = A.shape[0], B.shape[0]
    k = min(int(k), n2)
    if method == "auto":
        from importlib.util import find_spec

        method = "exact" if n1 * n2 <= EXACT_LIMIT or find_spec("faiss") is None else "ivf"
    ranges = shard_ranges(n1, shard_rows)
    log.info("candidate search: %s top-%d, %d x %d, %d shards on %r", method, k, n1, n2, len(ranges), executor)
    if method == "exact":
        parts = executor.map(_exact_shard, ranges, A, B, k)
        indptr = [np.zeros(1, dtype=np.int64)]
        off = 0
        for ip, _, _ in parts:
            indptr.append(ip[1:].astype(np.int64) + off)
            off += int(ip[-1])
        return sp.csr_matrix(
            (np.concatenate([p[2] for p in parts]), np.concatenate([p[1] for p in parts]), np.concatenate(indptr)),
            shape=(n1, n2),
        )
    faiss = _faiss()
    if index is None:
        index = build_index(B, method, nlist=nlist, seed=seed)
    params = {"nprobe": int(nprobe)} if method == "ivf" else {"ef_search": int(ef_search)}
    import uuid

    token = uuid.uuid4().hex
    if isinstance(executor, LocalExecutor):  # same process: no copy of the index at all
        _INDEX_CACHE.clear()
        _INDEX_CACHE[token] = index
        shipped = (token, None)
    else:
        shipped = (token, faiss.serialize_index(index))
    try:
        parts = executor.map(_ann_shard, ranges, A, shipped, k, params)
    finally:
        _INDEX_CACHE.pop(token, None)
    D = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, k), np.float32)
    nbr = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, k), np.int64)
    return _to_csr(D, nbr, n2)


def candidate_recall(A, B, approx, k: int, *, sample: int = 2000, seed: int = 0) -> dict:
    """Recall of an approximate top-k candidate graph against the exact search, on a sample.

    For ``sample`` rows drawn with ``seed``, the exact top-k of ``A[i] @ B.T`` is computed by
    :func:`kgalign.matching.topk_candidates`; recall@k is the fraction of those pairs present
    in ``approx``, and top-1 recall the fraction of rows whose exact best candidate is present.

    Parameters
    ----------
    A, B : array_like, shapes (n1, dim), (n2, dim)
    approx : scipy.sparse matrix, shape (n1, n2)
        The candidate graph to assess (e.g. from :func:`search_candidates`).
    k : int
    sample : int
        Rows assessed (all when ``n1`` is smaller).
    seed : int

    Returns
    -------
    dict
        ``{"recall_at_k", "recall_top1", "rows", "k"}``.
    """
    import scipy.sparse as sp

    from kgalign.matching import topk_candidates

    A = np.asarray(A, dtype=np.float32)
    n1 = A.shape[0]
    rows = np.arange(n1) if n1 <= sample else np.sort(np.random.default_rng(seed).choice(n1, sample, replace=False))
    exact = topk_candidates(A[rows], B, k)
    got = sp.csr_matrix(approx)[rows]
    hit = top1 = 0
    for r in range(len(rows)):
        ex = exact.indices[exact.indptr[r] : exact.indptr[r + 1]]
        ap = set(got.indices[got.indptr[r] : got.indptr[r + 1]].tolist())
        hit += sum(int(c) in ap for c in ex)
        best = exact.data[exact.indptr[r] : exact.indptr[r + 1]]
        if len(best):
            top1 += int(ex[int(np.argmax(best))]) in ap
    total = exact.nnz
    return {
        "recall_at_k": hit / total if total else 1.0,
        "recall_top1": top1 / len(rows) if len(rows) else 1.0,
        "rows": int(len(rows)),
        "k": int(k),
    }
