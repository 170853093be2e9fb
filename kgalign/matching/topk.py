"""Exact top-k candidate graphs: from a dense similarity matrix (:func:`topk_rows`) or from two
embedding matrices by blocked matrix products (:func:`topk_candidates`). The per-row
selection runs in C++ (``csrc/topk.cpp``); the numpy :func:`_select_topk` is its test oracle."""

from __future__ import annotations

import numpy as np

from kgalign.config import as_int
from kgalign.errors import InputError
from kgalign.matching._validate import as_dense_matrix

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

    numpy reference (argpartition + tie repair), kept as the oracle of the C++ selection;
    needs ``1 <= k``.

    Returns (cols int32 (b, k) sorted by value desc then column asc, vals float32 (b, k)).
    """
    b, n2 = block.shape
    if k >= n2:
        cols = np.broadcast_to(np.arange(n2, dtype=np.int64), (b, n2))
    else:
        cols = np.argpartition(block, n2 - k, axis=1)[:, n2 - k :]
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


def _select_topk_cpp(
    block: np.ndarray,
    k: int,
    n_threads: int | None = None,
    *,
    what: str = "similarity matrix",
    row_offset: int = 0,
    by_column: bool = False,
):
    """:func:`_select_topk` in C++ (``kgalign._core.topk_rows_*``, GIL released, OpenMP over rows).

    ``block`` is a C-contiguous float32 or float64 (b, n2) array and ``0 <= k <= n2``.
    Returns (cols int32 (b, k), vals (b, k) of the block's dtype), sorted by value desc then
    column asc (``by_column``: the same entries by column asc, i.e. CSR order). Raises
    InputError naming the row (``row_offset`` + local row) and column of the first NaN.
    """
    from kgalign.matching._status import check
    from kgalign.matching._validate import core, name_pair

    if n_threads is not None and (
        isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) or n_threads < 1
    ):
        raise InputError(f"n_threads must be an integer >= 1 (or None for all cores), got {n_threads!r}")
    b, n2 = block.shape
    if n2 >= 2**31 - 1:
        raise InputError(f"{what} has too many columns ({n2}) for int32 column ids")
    cols = np.empty((b, k), dtype=np.int32)
    vals = np.empty((b, k), dtype=block.dtype)
    fn = core().topk_rows_f32 if block.dtype == np.float32 else core().topk_rows_f64

    def invalid_value(bad: int) -> str:
        i, j = divmod(bad, n2)
        return f"{what} has a NaN at {name_pair(row_offset + i, j)}"

    check(
        fn(block, int(k), cols, vals, -1 if n_threads is None else int(n_threads), by_column),
        "topk_rows",
        invalid_value=invalid_value,
    )
    return cols, vals


def _csr_from_topk(cols: np.ndarray, vals: np.ndarray, n2: int):
    """CSR from per-row top-k columns (sorted ascending within each row) and values."""
    import scipy.sparse as sp

    n1, k = cols.shape
    indptr = np.arange(n1 + 1, dtype=np.int64) * k
    S = sp.csr_matrix((vals.ravel(), cols.ravel(), indptr), shape=(n1, n2))
    S.has_sorted_indices = True
    return S


def topk_rows(S, k: int, *, n_threads: int | None = None):
    """Exact top-k candidate graph of a dense similarity matrix, row by row.

    Row i keeps the ``min(k, n2)`` columns with the largest ``S[i, j]``; among equal values
    the smaller column id wins, so the result is unique and equal to a full stable sort. The
    selection runs in C++ (one threshold comparison per entry, OpenMP over rows, GIL
    released) and reads ``S`` once: about memory bandwidth.

    Parameters
    ----------
    S : array_like, shape (n1, n2)
        Dense similarities (float32 and float64 are used as they are; other real dtypes are
        converted to float64). NaN is rejected; infinities are ordinary (extreme) values.
    k : int
        Candidates per row (``>= 0``; ``k >= n2`` keeps every column).
    n_threads : int, optional
        OpenMP threads (default: OpenMP's default, i.e. all cores or ``OMP_NUM_THREADS``).

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n1, n2), dtype of ``S`` (float32 or float64)
        ``min(k, n2)`` entries per row, sorted indices.

    Raises
    ------
    InputError
        Not 2-D, not real, negative ``k``, or a NaN (naming its row and column).
    """
    import scipy.sparse as sp

    arr = as_dense_matrix(S, check_finite=False)  # NaN is found (and named) by the C++ pass
    k = as_int(k, "k")
    if k < 0:
        raise InputError(f"k must be >= 0, got {k}")
    n1, n2 = arr.shape
    kk = min(k, n2)
    cols, vals = _select_topk_cpp(arr, kk, n_threads, by_column=True)
    if kk == 0:
        return sp.csr_matrix((n1, n2), dtype=arr.dtype)
    return _csr_from_topk(cols, vals, n2)


def topk_candidates(A, B, k: int, *, block_size: int = 4096, backend: str = "auto", n_threads: int | None = None):
    """Exact top-k candidate graph of the inner products ``A @ B.T``.

    Every row i keeps the k columns j with the largest ``A[i] @ B[j]`` (ties at the k-th value
    go to the smaller column id), computed block by block so that memory stays bounded
    by ``block_size * n2`` similarities (and at most about 256 MiB per block). Each block is
    one float32 matrix product written into a reused buffer, followed by the C++ selection of
    :func:`topk_rows`.

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
        Matrix product by ``numpy`` (BLAS) or ``torch`` (CPU matmul); both then select in C++.
        ``faiss`` (``IndexFlatIP``, exact; optional dependency ``faiss-cpu``). ``auto`` uses
        numpy. All give the same candidates (ties at the k-th value go to the smaller
        column) up to float32 rounding of the products.
    n_threads : int, optional
        OpenMP threads of the selection (default: all cores or ``OMP_NUM_THREADS``).

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
    k = as_int(k, "k")
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
        order = np.argsort(I, axis=1, kind="stable")  # CSR order
        cols[:] = np.take_along_axis(I, order, axis=1)
        vals[:] = np.take_along_axis(D, order, axis=1)
    else:
        step = max(1, min(int(block_size), BLOCK_BYTES // max(1, 4 * n2), n1))
        buf = np.empty((step, n2), dtype=np.float32)
        if backend == "torch":
            import torch

            At, Bt = torch.from_numpy(A), torch.from_numpy(B)
            tbuf = torch.from_numpy(buf)
        for s in range(0, n1, step):
            e = min(n1, s + step)
            blk = buf[: e - s]
            if backend == "torch":
                torch.matmul(At[s:e], Bt.T, out=tbuf[: e - s])
            else:
                np.matmul(A[s:e], B.T, out=blk)
            cols[s:e], vals[s:e] = _select_topk_cpp(blk, kk, n_threads, what="A @ B.T", row_offset=s, by_column=True)
    return _csr_from_topk(cols, vals, n2)
