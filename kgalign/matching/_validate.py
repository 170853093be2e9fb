"""Input validation shared by the matching solvers (dense and sparse), modelled on scipy's."""

from __future__ import annotations

import numpy as np

from kgalign.errors import InputError, SolverError


def core():
    """Return the compiled ``kgalign._core`` module or raise a clear error."""
    try:
        from kgalign import _core
    except ImportError as exc:  # pragma: no cover - depends on the build
        raise SolverError(
            "the C++ extension kgalign._core is not built; run "
            "`pip install --no-build-isolation -e .` in the repository"
        ) from exc
    return _core


def name_pair(i: int, j: int, row_names=None, col_names=None) -> str:
    """Human-readable 'row i (name) / column j (name)'."""
    r = f"row {i}" + (f" ({row_names[i]})" if row_names is not None else "")
    c = f"column {j}" + (f" ({col_names[j]})" if col_names is not None else "")
    return f"{r} / {c}"


def check_names(names, n: int, what: str):
    if names is None:
        return None
    if len(names) != n:
        raise InputError(f"{what} has {len(names)} entries but the matrix has {n}")
    return names


def per_row(value, n: int, what: str, *, negate: bool = False) -> np.ndarray | None:
    """Broadcast a scalar or (n,) array of per-row values to float64 (n,); None stays None."""
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    elif arr.shape != (n,):
        raise InputError(f"{what} must be a scalar or have shape ({n},), got {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise InputError(f"{what} must be finite; row {int(bad[0])} is {arr[bad[0]]}")
    arr = np.ascontiguousarray(-arr if negate else arr)
    return arr


def as_array(a, what: str) -> np.ndarray:
    """``np.asarray`` with clear errors for sparse matrices and ragged nested lists."""
    import scipy.sparse as sp

    if sp.issparse(a):
        raise InputError(f"{what} must be a dense array; for a sparse candidate graph use kgalign.matching.auction")
    if a is None:
        raise InputError(f"{what} is missing (got None)")
    try:
        return np.asarray(a)
    except ValueError as exc:  # ragged nested sequences
        raise InputError(f"{what} is not a rectangular array: {exc}") from None


def as_dense_matrix(a, what: str = "similarity matrix", *, check_finite: bool = True) -> np.ndarray:
    """C-contiguous float32 or float64 2-D array; NaN/inf rejected unless ``check_finite`` is
    False (then the caller checks, e.g. in C++ during its own pass over the values)."""
    arr = as_array(a, what)
    if arr.ndim != 2:
        raise InputError(f"{what} must be 2-D, got {arr.ndim}-D")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        raise InputError(f"{what} must contain real numbers, got dtype {arr.dtype}")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    arr = np.ascontiguousarray(arr)
    if check_finite and arr.size and not np.isfinite(arr).all():
        i, j = np.argwhere(~np.isfinite(arr))[0]
        raise InputError(f"{what} has a non-finite value {arr[i, j]} at {name_pair(int(i), int(j))}")
    return arr


def as_csr(S, what: str = "similarity matrix"):
    """Validate a sparse (or dense) similarity matrix and return its canonical CSR parts.

    Returns
    -------
    (n_rows, n_cols, indptr int64, indices int32, data float64, csr)
    """
    import scipy.sparse as sp

    if not sp.issparse(S):
        dense = as_dense_matrix(S, what)
        n1, n2 = dense.shape
        indptr = np.arange(n1 + 1, dtype=np.int64) * n2
        indices = np.tile(np.arange(n2, dtype=np.int32), n1)
        # explicit zeros are kept: a dense matrix is a complete candidate graph
        S = sp.csr_matrix((dense.ravel(), indices, indptr), shape=dense.shape)
    if S.ndim != 2:
        raise InputError(f"{what} must be 2-D")
    if S.format in ("coo", "dok", "lil") or not getattr(S, "has_canonical_format", True):
        # converting would silently add up entries given twice: refuse them first
        coo = S.tocoo() if S.format != "coo" else S
        key = coo.row.astype(np.int64) * S.shape[1] + coo.col.astype(np.int64)
        uniq, counts = np.unique(key, return_counts=True)
        if uniq.size != key.size:
            i, j = divmod(int(uniq[np.argmax(counts > 1)]), S.shape[1])
            raise InputError(f"{what} stores {name_pair(i, j)} twice")
    S = S.tocsr()
    n1, n2 = S.shape
    if n2 >= 2**31 - 1:
        raise InputError(f"{what} has too many columns ({n2}) for int32 column ids")
    try:
        S.check_format(full_check=True)
    except ValueError as exc:
        raise InputError(f"{what} is not a well-formed CSR matrix: {exc}") from None
    if np.iscomplexobj(S.data) or not (np.issubdtype(S.data.dtype, np.number) or S.data.dtype == bool):
        raise InputError(f"{what} must contain real numbers, got dtype {S.data.dtype}")
    if not S.has_sorted_indices:
        S = S.copy()
        S.sort_indices()
    indptr = np.ascontiguousarray(S.indptr, dtype=np.int64)
    indices = np.ascontiguousarray(S.indices, dtype=np.int32)
    data = np.ascontiguousarray(S.data, dtype=np.float64)
    if data.size:
        bad = np.flatnonzero(~np.isfinite(data))
        if bad.size:
            k = int(bad[0])
            i = int(np.searchsorted(indptr, k, side="right") - 1)
            raise InputError(f"{what} has a non-finite value {data[k]} at {name_pair(i, int(indices[k]))}")
        same = np.flatnonzero(indices[1:] == indices[:-1])
        if same.size:
            row_start = np.zeros(indices.size, dtype=bool)
            row_start[indptr[1:-1][indptr[1:-1] < indices.size]] = True
            dup = same[~row_start[same + 1]]
            if dup.size:
                k = int(dup[0])
                i = int(np.searchsorted(indptr, k, side="right") - 1)
                raise InputError(f"{what} stores {name_pair(i, int(indices[k]))} twice")
    return n1, n2, indptr, indices, data, S


def assignment_arrays(col4row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) int64 of the matched rows, rows ascending."""
    col4row = np.asarray(col4row)
    rows = np.flatnonzero(col4row >= 0).astype(np.int64)
    return rows, col4row[rows].astype(np.int64)


def col4row_from(rows, cols, n1: int, n2: int) -> np.ndarray:
    """Validate an assignment given as (rows, cols) and return int32 col4row (-1 = unmatched)."""
    rows = np.asarray(rows, dtype=np.int64).ravel()
    cols = np.asarray(cols, dtype=np.int64).ravel()
    if rows.shape != cols.shape:
        raise InputError(f"rows and cols differ in length ({rows.size} vs {cols.size})")
    if rows.size and (rows.min() < 0 or rows.max() >= n1 or cols.min() < 0 or cols.max() >= n2):
        raise InputError("an assignment index is out of range")
    if np.unique(rows).size != rows.size or np.unique(cols).size != cols.size:
        raise InputError("the assignment uses a row or a column twice")
    out = np.full(n1, -1, dtype=np.int32)
    out[rows] = cols
    return out
