"""Exact top-k candidate graphs from two embedding matrices (blocked matrix products)."""

from __future__ import annotations

import numpy as np

from kgalign.errors import InputError

#: default memory budget of one block of similarities (bytes)
BLOCK_BYTES = 256 * 2**20


def _as_embeddings(X, what: str) -> np.ndarray:
    try:
        import torch

        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise InputError(f"{what} must be 2-D (n, dim), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise InputError(f"{what} must contain real numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if arr.size and not np.isfinite(arr).all():
        i = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise InputError(f"{what} row {i} contains NaN or inf")
    return arr


def _select_topk(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns of the k largest values per row; ties at the k-th value go to smaller columns.

    Returns (cols int32 (b, k) sorted by value desc then column asc, vals float32 (b, k)).
    """
    b, n2 = block.shape
    if k >= n2:
        cols = np.broadcast_to(np.arange(n2, dtype=np.int64), (b, n2))
    else:
        cols = np.argpartition(block, n2 - k, axis=1)[:, n2 - k:]
        sel = np.take_along_axis(block, cols, axis=1)
        kth = sel.min(axis=1, keepdims=True)
        # rows where the k-th value is tied with an unselected column: redo them exactly
        n_tied = (block == kth).sum(axis=1)
        n_tied_sel = (sel == kth).sum(axis=1)
        redo = np.flatnonzero(n_tied > n_tied_sel)
        if redo.size:
            sub = block[redo]
            kt = kth[redo]
            above = sub > kt
            need = k - above.sum(axis=1, keepdims=True)
            ties = sub == kt
            take = above | (ties & (np.cumsum(ties, axis=1) <= need))
            cols = cols.copy()
            cols[redo] = np.nonzero(take)[1].reshape(redo.size, k)
        # among selected ties prefer smaller columns too (already all selected; order below)
    vals = np.take_along_axis(block, cols, axis=1)
    order = np.lexsort((cols, -vals), axis=1) if b else np.zeros((0, cols.shape[1]), np.int64)
    cols = np.take_along_axis(cols, order, axis=1).astype(np.int32)
    vals = np.take_along_axis(vals, order, axis=1).astype(np.float32)
    return cols, vals


def _select_topk_torch(block, k: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_select_topk` with torch.topk (multi-threaded); rows whose k-th value is tied
    with an unselected column are redone exactly with numpy."""
    import torch

    vals, cols = torch.topk(block, k, dim=1, largest=True, sorted=True)
    kth = vals[:, -1:]
    redo = torch.nonzero((block == kth).sum(dim=1) > (vals == kth).sum(dim=1)).ravel().numpy()
    cols = cols.numpy()
    vals = vals.numpy()
    if redo.size:
        c2, v2 = _select_topk(block[redo].numpy(), k)
        cols = cols.copy()
        vals = vals.copy()
        cols[redo], vals[redo] = c2, v2
    # equal values: smaller column first
    order = np.lexsort((cols, -vals), axis=1)
    return (np.take_along_axis(cols, order, axis=1).astype(np.int32),
            np.take_along_axis(vals, order, axis=1).astype(np.float32))


def topk_candidates(A, B, k: int, *, block_size: int = 4096, backend: str = "auto"):
    """Exact top-k candidate graph of the inner products ``A @ B.T``.

    Every row i keeps the k columns j with the largest ``A[i] @ B[j]`` (ties at the k-th value
    go to the smaller column id), computed block by block so that memory stays bounded
    by ``block_size * n2`` similarities (and at most about 256 MiB per block).

    Parameters
    ----------
    A : array_like or torch.Tensor, shape (n1, dim)
        Query embeddings (KG1); normalise them first for cosine similarity.
    B : array_like or torch.Tensor, shape (n2, dim)
        Candidate embeddings (KG2).
    k : int
        Candidates per row; ``k >= n2`` keeps every column.
    block_size : int, default 4096
        Rows of ``A`` per matrix product (lowered automatically to the memory budget).
    backend : {"auto", "numpy", "torch", "faiss"}
        ``numpy`` (BLAS), ``torch`` (CPU matmul, same results up to float32 rounding) or
        ``faiss`` (``IndexFlatIP``, exact; optional dependency ``faiss-cpu``). ``auto`` uses
        numpy (on the 2-core reference machine torch was not faster). All give the same
        candidates (ties at the k-th value go to the smaller column; values may differ in
        the last float32 bit).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n1, n2), dtype float32
        Row i stores its ``min(k, n2)`` best columns, sorted indices.

    Raises
    ------
    InputError
        Not 2-D, different dimensions, non-finite values, negative ``k``, unknown backend.
    """
    import scipy.sparse as sp

    A = _as_embeddings(A, "A")
    B = _as_embeddings(B, "B")
    if A.shape[1] != B.shape[1]:
        raise InputError(f"A and B differ in dimension ({A.shape[1]} vs {B.shape[1]})")
    k = int(k)
    if k < 0:
        raise InputError(f"k must be >= 0, got {k}")
    if backend not in ("auto", "numpy", "torch", "faiss"):
        raise InputError(f"unknown backend {backend!r}; use auto, numpy, torch or faiss")
    if backend == "auto":
        backend = "numpy"
    n1, n2 = A.shape[0], B.shape[0]
    kk = min(k, n2)
    if kk == 0 or n1 == 0:
        return sp.csr_matrix((n1, n2), dtype=np.float32)
    cols = np.empty((n1, kk), dtype=np.int32)
    vals = np.empty((n1, kk), dtype=np.float32)
    if backend == "faiss":
        try:
            import faiss
        except ImportError as exc:
            raise InputError("backend='faiss' needs the optional package faiss-cpu") from exc
        index = faiss.IndexFlatIP(B.shape[1])
        index.add(B)
        D, I = index.search(A, kk)
        cols[:], vals[:] = I.astype(np.int32), D
    else:
        step = max(1, min(int(block_size), BLOCK_BYTES // max(1, 4 * n2)))
        if backend == "torch":
            import torch

            Bt = torch.from_numpy(B)
        for s in range(0, n1, step):
            e = min(n1, s + step)
            if backend == "torch":
                cols[s:e], vals[s:e] = _select_topk_torch(torch.from_numpy(A[s:e]) @ Bt.T, kk)
            else:
                cols[s:e], vals[s:e] = _select_topk(A[s:e] @ B.T, kk)
    indptr = np.arange(n1 + 1, dtype=np.int64) * kk
    S = sp.csr_matrix((vals.ravel(), cols.ravel(), indptr), shape=(n1, n2))
    S.sort_indices()
    return S
